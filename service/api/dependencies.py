"""What handlers are given: the app's store, and the raw request body (size-limited)."""

from typing import Annotated

from fastapi import Depends, Request

from ..store import Store
from .outcomes import FhirError, error


async def get_store(request: Request) -> Store:
    """The app's store. A coroutine, though it does no I/O: FastAPI runs a plain ``def`` dependency in
    the thread pool, a hand-off (and GIL hand-back) per request that costs more than the lookup."""
    return request.app.state.store


def _too_large(limit: int) -> FhirError:
    return error(413, "too-costly", f"the request body is larger than this server accepts ({limit:,} bytes)")


async def raw_body(request: Request) -> bytes:
    """The body, read in the event loop so that handlers can stay plain functions in the thread pool.

    A body over the configured limit is refused with 413 as soon as that is known: from its
    Content-Length before reading anything, or while streaming one sent without it; it is never
    held whole.
    """
    limit = request.app.state.security.max_body_bytes
    declared = request.headers.get("content-length", "")
    if declared.isascii() and declared.isdigit() and int(declared) > limit:
        raise _too_large(limit)
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise _too_large(limit)
        chunks.append(chunk)
    return b"".join(chunks)


StoreDep = Annotated[Store, Depends(get_store)]
BodyDep = Annotated[bytes, Depends(raw_body)]
