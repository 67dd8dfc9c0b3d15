"""What every block of workspace pages is handed by ``workspace.app``: the session, the person, the checked form.

A block (``review``, ``history_pages``) is a module with ``router(door, ...) -> APIRouter``, mounted by
``create_workspace_app``; it never reads cookies or CSRF tokens itself, so sign-in, sessions and the
roles stay in one place.

Private to ``service.workspace``: only its own modules import this one.
"""

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Generic, Protocol, TypeVar

from fastapi import Request
from fastapi.responses import HTMLResponse
from starlette.datastructures import FormData

from ..fhirformat import JsonDict
from ..store.audit import Agent
from .sessions import Session


class Actor(Protocol):
    """The signed-in person, as these pages need them (``workspace.app.Person``)."""

    @property
    def network_lead(self) -> bool: ...

    @property
    def agent(self) -> Agent: ...

    def permit(self, resource_type: str, current: JsonDict | None, proposed: JsonDict | None) -> None: ...


P = TypeVar("P", bound=Actor)


@dataclass(frozen=True)
class Door(Generic[P]):
    """What every workspace page shares, from ``create_workspace_app``: the session, the person, the checked form."""

    session: Callable[[Request], Session]
    person: Callable[[Request, Session], P]
    #: The form once its CSRF token is the session's (refused before anything is read otherwise).
    posted: Callable[[Request, Session], Awaitable[FormData]]
    render: Callable[..., HTMLResponse]
    #: Refuses (403) unless the person is a network lead; the words say what they tried to do.
    lead_only: Callable[[P, str], None]
    #: The exception for a refusal in words, with its status.
    refused: Callable[[str, int], Exception]
