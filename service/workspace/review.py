"""Reviewing variation: a topic's matrix with each unwarranted cell actionable, and the register to renew or retire.

The matrix is the site's (``site.matrix.shown_rows``), drawn from the same report ``harmonise compare``
prints (``application.comparing``); a decision is the register use case the command line calls
(``application.decisions``: ``add`` after ``check_coverage``, ``renew``, ``retire``), written as the
signed-in person. Only network leads decide; a trust's pathway lead sees the matrix and the register
read-only, and a forged POST is refused by the role check and again by the store's permit.

These routes are a block of their own (``router``), handed what every workspace page shares
(``door.Door``) so that sign-in and the sessions stay in ``workspace.app``.
"""

import asyncio
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any, Final

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from starlette.datastructures import FormData
from starlette.exceptions import HTTPException

from .. import conventions as c
from .. import terminology
from ..application import StoreSource, decisions
from ..application.comparing import compare
from ..register import Dimension, RegisterEntry
from ..security import policy
from ..site import matrix, words
from ..store import Store
from ..variation.report import Classification, Difference, TopicReport
from .door import Door

#: An entry whose review date falls within this many days is listed first on the register page, with the expired.
SOON_DAYS: Final = 30
#: The review date a new decision is offered (a year on), which the lead may change.
DEFAULT_REVIEW: Final = timedelta(days=365)
#: htmx, an npm dependency (package.json, installed by ``make install`` into the checkout's node_modules), served
#: by the workspace itself: with it a recorded cell replaces only that cell; without it (or without JavaScript)
#: the forms post and the whole page comes back.
HTMX: Final = Path(__file__).resolve().parents[2] / "node_modules" / "htmx.org" / "dist" / "htmx.min.js"


@dataclass(frozen=True)
class Recording:
    """A "record as warranted" form: one cell's unwarranted differences (one entry per dimension chosen)."""

    trust: str
    step: str
    dimensions: tuple[str, ...]
    rationale: str
    agreed_by: str
    review_by: str

    @property
    def cell(self) -> str:
        return cell_id(self.trust, self.step)

    def problems(self, today: date) -> list[tuple[str, str]]:
        """(field id, message) for each thing to put right; none when it may be recorded."""
        errors = []
        if not self.dimensions:
            errors.append((f"{self.cell}-dimension", "Choose at least one difference to record as warranted"))
        if not self.rationale:
            errors.append((f"{self.cell}-rationale", "Enter why the network agreed this variation"))
        if not self.agreed_by:
            errors.append((f"{self.cell}-agreed_by", "Enter who agreed it, for example the network clinical board"))
        problem = review_date_problem(self.review_by, today)
        if problem:
            errors.append((f"{self.cell}-review_by", problem))
        return errors

    def entries(self, topic: str, today: date) -> list[RegisterEntry]:
        return [RegisterEntry.model_validate({
            "trust": self.trust, "topic": topic, "step": self.step, "dimension": dimension,
            "rationale": self.rationale, "agreed_by": self.agreed_by, "agreed_on": today,
            "review_by": date.fromisoformat(self.review_by)}) for dimension in self.dimensions]


@dataclass(frozen=True)
class RegisterRow:
    id: str
    entry: RegisterEntry
    #: "expired", "due soon", "in force" or "retired", the order the page lists them in.
    state: str

    @property
    def topic_title(self) -> str:
        return terminology.topics().display(self.entry.topic) if self.entry.topic in terminology.topics() \
            else self.entry.topic


_STATES: Final = ("expired", "due soon", "in force", "retired")


def cell_id(trust: str, step: str) -> str:
    """The id the page gives a cell's form fields (a trust's ODS code and a FHIR id: both safe in an id)."""
    return f"{trust}-{step}"


def review_date_problem(text: str, today: date) -> str | None:
    """Why ``text`` is not a review date the register takes (a day after today); None when it is."""
    if not text:
        return "Enter the review date, for example 2027-11-30"
    try:
        day = date.fromisoformat(text)
    except ValueError:
        return f"Enter the review date as a real date, year-month-day, for example 2027-11-30 (not “{text}”)"
    if day <= today:
        return f"The review date must be after today ({today.isoformat()})"
    return None


def recordable(report: TopicReport) -> dict[tuple[str, str], list[Difference]]:
    """The unwarranted differences of each (step, trust) cell of a guideline step: what a lead may record.

    An extra step (one only some trusts have) is left out: the register names a step by the guideline's
    id, so an entry for it would cover every presence difference of the trust's pathway.
    """
    found: dict[tuple[str, str], list[Difference]] = {}
    for step in report.steps:
        if not step.in_reference:
            continue
        for trust in report.trusts:
            open_ = [d for d in matrix.cell_differences(report, trust.ods, step)
                     if d.classification is Classification.UNWARRANTED]
            if open_:
                found[(step.key, trust.ods)] = open_
    return found


def register_rows(found: Iterable[tuple[str, RegisterEntry]], today: date) -> list[RegisterRow]:
    """The register's entries, the expired and those due within ``SOON_DAYS`` first, each by review date."""
    def state(entry: RegisterEntry) -> str:
        if entry.retired_on is not None:
            return "retired"
        if entry.expired(today):
            return "expired"
        return "due soon" if entry.review_by <= today + timedelta(days=SOON_DAYS) else "in force"

    rows = [RegisterRow(entry_id, entry, state(entry)) for entry_id, entry in found]
    return sorted(rows, key=lambda r: (_STATES.index(r.state), r.entry.review_by, r.entry.topic, r.entry.trust))


def _text(form: FormData, name: str) -> str:
    value = form.get(name)
    return value.strip() if isinstance(value, str) else ""


def router(door: Door[Any], store: Store, today: Callable[[], date]) -> APIRouter:
    """The topic pages (the matrix, record as warranted) and the register page (renew, retire)."""
    routes = APIRouter()
    htmx = HTMX.read_bytes() if HTMX.is_file() else None

    @routes.get("/htmx.min.js", include_in_schema=False)
    def htmx_script() -> Response:
        if htmx is None:
            raise HTTPException(404)
        return Response(htmx, media_type="text/javascript",
                        headers={"Cache-Control": "max-age=3600", "X-Content-Type-Options": "nosniff"})

    def topic_context(topic: str) -> dict[str, Any]:
        if topic not in terminology.topics():
            raise HTTPException(404)
        report = next(iter(compare(StoreSource(store), [topic], today()).report.topics), None)
        return {"topic": topic, "title": terminology.topics().display(topic), "report": report,
                "matrix": matrix.shown_rows(report) if report else [],
                "recordable": recordable(report) if report else {},
                "styles": words.CLASSIFICATION_STYLES, "dimension_words": words.DIMENSION_WORDS,
                "reference": words.reference(report) if report else "", "htmx": htmx is not None,
                "default_review": (today() + DEFAULT_REVIEW).isoformat()}

    @routes.get("/topics/{topic}", response_class=HTMLResponse)
    async def topic_page(request: Request, topic: str) -> Response:
        session = door.session(request)
        person = door.person(request, session)
        context = await asyncio.to_thread(topic_context, topic)
        return door.render(request, session, "topic.html", person=person, errors=[], asked=None, **context)

    @routes.post("/topics/{topic}/warranted", response_class=HTMLResponse)
    async def record_warranted(request: Request, topic: str) -> Response:
        """Record one cell's chosen differences as warranted: an entry each, in one audited write."""
        session = door.session(request)
        person = door.person(request, session)
        form = await door.posted(request, session)
        door.lead_only(person, "record a variation as warranted")
        asked = Recording(_text(form, "trust"), _text(form, "step"),
                          tuple(str(d) for d in form.getlist("dimension")), _text(form, "rationale"),
                          _text(form, "agreed_by"), _text(form, "review_by"))
        if asked.trust not in c.TRUSTS or not asked.step \
                or not set(asked.dimensions) <= {d.value for d in Dimension}:
            raise door.refused("the form does not name one of the network's trusts, a step of the guideline and "
                               "the kinds of difference this network compares: reload the topic's page", 400)
        errors = asked.problems(today())
        recorded: list[str] = []
        if not errors:
            entries = asked.entries(topic, today())

            def write() -> list[str]:
                for entry in entries:
                    decisions.check_coverage(StoreSource(store), entry, today())
                with store.write(person.agent, person.permit) as writer:
                    return [decisions.add(writer, entry).reference for entry in entries]

            try:
                recorded = await asyncio.to_thread(write)
            except decisions.DecisionError as exc:
                errors.append((f"{asked.cell}-dimension", str(exc).replace(" (--anyway)", "")))
            except policy.Denied as denied:
                raise door.refused(denied.message, 403) from None
        context = await asyncio.to_thread(topic_context, topic)
        return door.render(request, session, "topic.html", 400 if errors else 200, person=person, errors=errors,
                           asked=asked if errors else None, recorded=recorded, recorded_for=asked, **context)

    def is_entry(entry_id: str) -> bool:
        return any(found == entry_id for found, _ in decisions.entries(store.current("Basic")))

    def register_context() -> dict[str, Any]:
        rows = register_rows(decisions.entries(store.current("Basic")), today())
        return {"rows": rows, "soon_days": SOON_DAYS, "default_review": (today() + DEFAULT_REVIEW).isoformat(),
                "dimension_words": words.DIMENSION_WORDS}

    @routes.get("/register", response_class=HTMLResponse)
    async def register_page(request: Request) -> Response:
        session = door.session(request)
        person = door.person(request, session)
        context = await asyncio.to_thread(register_context)
        return door.render(request, session, "register.html", person=person, errors=[], done=None, asked=None,
                           values={}, **context)

    @routes.post("/register/{entry_id}/{action}", response_class=HTMLResponse)
    async def register_action(request: Request, entry_id: str, action: str) -> Response:
        """Renew (a new review date, with why it is kept) or retire (with why) one entry, audited as the person."""
        session = door.session(request)
        person = door.person(request, session)
        form = await door.posted(request, session)
        if action not in ("renew", "retire"):
            raise HTTPException(404)
        door.lead_only(person, f"{action} a register entry")
        if not await asyncio.to_thread(is_entry, entry_id):
            raise HTTPException(404)
        values = {name: _text(form, name) for name in ("review_by", "rationale", "reason")}
        errors = []
        if action == "renew":
            problem = review_date_problem(values["review_by"], today())
            if problem:
                errors.append((f"{entry_id}-review_by", problem))
            if not values["rationale"]:
                errors.append((f"{entry_id}-rationale", "Enter why the network keeps this variation"))
        elif not values["reason"]:
            errors.append((f"{entry_id}-reason", "Enter why the network ends this entry"))
        done = None
        if not errors:
            def write() -> str:
                with store.write(person.agent, person.permit) as writer:
                    if action == "renew":
                        day = date.fromisoformat(values["review_by"])
                        renewed = decisions.renew(writer, entry_id, day, values["rationale"], today())
                        return f"Renewed {renewed.reference} until {day.isoformat()}"
                    return f"Retired {decisions.retire(writer, entry_id, values['reason'], today()).reference}"

            try:
                done = await asyncio.to_thread(write)
            except decisions.DecisionError as exc:
                errors.append((entry_id, str(exc)))  # linked to the entry's row: its forms may be gone
            except policy.Denied as denied:
                raise door.refused(denied.message, 403) from None
        context = await asyncio.to_thread(register_context)
        return door.render(request, session, "register.html", 400 if errors else 200, person=person, errors=errors,
                           done=done, asked=entry_id if errors else None, values=values if errors else {},
                           **context)

    return routes
