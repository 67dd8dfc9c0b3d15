"""The history page of a topic: who changed its guideline, pathways and register entries, and when (issue #18, part 5).

The rows are ``application.history.topic_history``, read from the audit trail; this module only words
them and links each to the workspace page that shows the resource now (a guideline's page, or the
topic's page for a pathway or a register entry), where there is one. Its route is a block of its
own (``router``), handed what every workspace page shares (``door.Door``).

Private to ``service.workspace``: only its own modules import this one.
"""

import asyncio
from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from starlette.exceptions import HTTPException

from .. import conventions as c
from .. import terminology
from ..application.history import Change, Kind, topic_history
from ..store import Store
from .door import Door


@dataclass(frozen=True)
class HistoryRow:
    """One change as the page shows it."""

    when: str
    who: str
    #: The trust the person acted for, or the network.
    acting_for: str
    activity: str
    kind: str
    what: str
    #: ``Type/id``, version n.
    version: str
    #: The workspace path (under the workspace's root) of the page for the resource now, if it has one.
    link: str | None


def _link(change: Change, topic: str) -> str | None:
    if not change.exists:
        return None
    if change.kind is Kind.GUIDELINE:
        return f"/guidelines/{change.resource_id}"
    if change.kind in (Kind.PATHWAY, Kind.REGISTER_ENTRY):
        return f"/topics/{topic}"
    return None


def history_row(change: Change, topic: str) -> HistoryRow:
    trust = change.on_behalf_of
    acting_for = f"{c.TRUSTS.get(trust, trust)} ({trust})" if trust else "the network"
    return HistoryRow(change.recorded.strftime("%Y-%m-%d %H:%M:%S UTC"), change.who, acting_for,
                      change.activity.display, change.kind.value, change.label,
                      f"{change.reference}, version {change.version_id}", _link(change, topic))


def history_rows(store: Store, topic: str) -> list[HistoryRow]:
    """The topic's changes, newest first (404 for a topic the network does not have)."""
    if topic not in terminology.topics():
        raise HTTPException(404)
    return [history_row(change, topic) for change in topic_history(store, topic)]


def router(door: Door[Any], store: Store) -> APIRouter:
    """``GET /topics/{topic}/history``, for every signed-in person (the audit trail is network-wide reading)."""
    routes = APIRouter()

    @routes.get("/topics/{topic}/history", response_class=HTMLResponse)
    async def topic_history_page(request: Request, topic: str) -> Response:
        session = door.session(request)
        person = door.person(request, session)
        rows = await asyncio.to_thread(history_rows, store, topic)
        return door.render(request, session, "history.html", person=person, topic=topic,
                           title=terminology.topics().display(topic), rows=rows)

    return routes
