"""What handlers are given: the app's store, and the raw request body."""

from typing import Annotated

from fastapi import Depends, Request

from ..store import Store


def get_store(request: Request) -> Store:
    return request.app.state.store


async def raw_body(request: Request) -> bytes:
    """Read in the event loop, so that handlers can stay plain functions run in the thread pool."""
    return await request.body()


StoreDep = Annotated[Store, Depends(get_store)]
BodyDep = Annotated[bytes, Depends(raw_body)]
