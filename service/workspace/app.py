"""The workspace's pages: sign-in, topics and their variation, guidelines, pathways from spreadsheets.

Every page needs a signed-in person, except sign-in. Every form carries the session's CSRF token
and every POST without it is refused (403) before anything is read or written. A person acts with
the scopes of their role (``security.passwords.principal``) under the API's ownership rules
(``security.policy``): a trust's pathway lead changes only that trust's pathways, network leads
decide. Pages check the role first; the store's permit checks every change again, so a forged POST
meets the same refusal. Each write is audited as the person (``store.audit.Agent``).
"""

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any, Final

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.datastructures import FormData, UploadFile
from starlette.exceptions import HTTPException

from .. import conventions as c
from .. import terminology
from ..application import StoreSource, guidelines
from ..application.comparing import compare
from ..application.spreadsheets import import_pathway, preview, template
from ..fhirformat import JsonDict
from ..security import passwords, policy
from ..security.settings import SecuritySettings
from ..security.tokens import Principal
from ..spreadsheet import Rows, read_workbook
from ..store import Store, StoreError
from ..store import accounts as account_store
from ..store.accounts import Account
from ..store.audit import Agent
from ..variation.report import Classification
from . import history_pages, review
from .door import Door
from .guideline_pages import guideline_view
from .sessions import Session, Sessions, csrf_matches, new_session
from .sign_in_limits import MAX_ATTEMPTS_PER_ADDRESS, client_address, refused_until
from .uploads import PendingUploads

TEMPLATES: Final = Path(__file__).parent / "templates"
#: Failed sign-ins before an account is locked, and for how long.
MAX_FAILURES: Final = 5
LOCK_FOR: Final = timedelta(minutes=15)
#: The largest upload read (a workbook); larger is refused before it is parsed.
MAX_UPLOAD_BYTES: Final = 5_000_000
_HEADERS: Final = {"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff", "Referrer-Policy": "same-origin",
                   "Content-Security-Policy": "default-src 'self'; script-src 'self'; form-action 'self'; "
                                              "frame-ancestors 'none'"}


@dataclass(frozen=True)
class Person:
    account: Account
    principal: Principal
    address: str | None

    @property
    def network_lead(self) -> bool:
        return self.account.network_lead

    @property
    def role(self) -> str:
        return "network lead" if self.network_lead else f"pathway lead, {c.TRUSTS.get(self.account.trust or '', '')}"

    @property
    def agent(self) -> Agent:
        role = "network lead" if self.network_lead else f"trust {self.account.trust}"
        return Agent(self.account.name, passwords.WORKSPACE_ACCOUNTS, self.principal.trust, self.address,
                     f"{self.account.name} ({role}, workspace)")

    def permit(self, resource_type: str, current: JsonDict | None, proposed: JsonDict | None) -> None:
        policy.check_change(self.principal, resource_type, current, proposed)

    def permit_edit(self, resource_type: str, current: JsonDict | None, proposed: JsonDict | None) -> None:
        self.permit(resource_type, current, proposed)
        guidelines.check_edit(current, proposed)


class Refused(Exception):
    """A page or action the person may not have (403), in words."""

    def __init__(self, message: str, status: int = 403) -> None:
        super().__init__(message)
        self.message, self.status = message, status


class SignInNeeded(Exception):
    pass


def create_workspace_app(store: Store, security: SecuritySettings,
                         today: Callable[[], date] = date.today) -> FastAPI:
    """The workspace on ``store``, to be mounted at ``/workspace``; sessions signed with the install's key."""
    app = FastAPI(title="Harmonise workspace", docs_url=None, redoc_url=None, openapi_url=None)
    sessions = Sessions(security.secret)
    uploads = PendingUploads()
    env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["html"]),
                      trim_blocks=True, lstrip_blocks=True)

    def render(request: Request, session: Session, page_name: str, status: int = 200, **context: Any) -> HTMLResponse:
        person = context.pop("person", None)
        html = env.get_template(page_name).render(base=request.scope.get("root_path", ""), csrf=session.csrf,
                                             person=person, trusts=c.TRUSTS, **context)
        response = HTMLResponse(html, status_code=status, headers=_HEADERS)
        if session.fresh:
            sessions.save(request, response, session)
        return response

    def person_of(request: Request, session: Session) -> Person:
        if session.user is None:
            raise SignInNeeded()
        account = account_store.find(store, session.user)
        if account is None or account.session_epoch != session.epoch:
            raise SignInNeeded()
        principal = passwords.principal(account.name, account.trust, account.network_lead)
        return Person(account, principal, client_address(request))

    async def posted(request: Request, session: Session) -> FormData:
        """The form, once its CSRF token is the session's (403 otherwise, before anything else)."""
        length = request.headers.get("content-length")
        if length is not None and length.isdigit() and int(length) > MAX_UPLOAD_BYTES + 100_000:
            raise Refused("the upload is too large", 413)
        form = await request.form(max_files=1, max_fields=30)
        if not csrf_matches(session, form.get("csrf")):
            raise Refused("the form was sent without this session's security token (CSRF): reload the page and "
                          "send it again")
        return form

    def network_lead_only(person: Person, what: str) -> None:
        if not person.network_lead:
            raise Refused(f"only a network lead may {what}; you are signed in as {person.role}")

    @app.exception_handler(Refused)
    async def _refused(request: Request, exc: Refused) -> Response:
        session = sessions.read(request)
        try:
            person: Person | None = person_of(request, session)
        except SignInNeeded:
            person = None
        return render(request, session, "refused.html", exc.status, person=person, message=exc.message)

    @app.exception_handler(SignInNeeded)
    async def _sign_in(request: Request, _exc: SignInNeeded) -> Response:
        if request.method == "POST":
            return await _refused(request, Refused("you are not signed in (or your session ended): sign in, then "
                                                   "send the form again"))
        return RedirectResponse(f"{request.scope.get('root_path', '')}/sign-in", status_code=303, headers=_HEADERS)

    @app.exception_handler(HTTPException)
    async def _http(request: Request, exc: HTTPException) -> Response:
        session = sessions.read(request)
        message = "there is no such page in the workspace" if exc.status_code == 404 else str(exc.detail)
        return render(request, session, "refused.html", exc.status_code, message=message, person=None)

    @app.get("/style.css", include_in_schema=False)
    def style() -> Response:
        return Response((TEMPLATES / "style.css").read_text("utf-8"), media_type="text/css",
                        headers={"Cache-Control": "max-age=300", "X-Content-Type-Options": "nosniff"})

    # --- sign-in -------------------------------------------------------------------------------

    @app.get("/sign-in", response_class=HTMLResponse)
    def sign_in_page(request: Request) -> Response:
        session = sessions.read(request)
        return render(request, session, "sign_in.html", errors=[], name="")

    @app.post("/sign-in", response_class=HTMLResponse)
    async def sign_in(request: Request) -> Response:
        session = sessions.read(request)
        form = await posted(request, session)
        name, password = str(form.get("name") or "").strip(), str(form.get("password") or "")
        now = datetime.now(UTC)
        errors = []
        if not name:
            errors.append(("name", "Enter your sign-in name"))
        if not password:
            errors.append(("password", "Enter your password"))
        if errors:
            return render(request, session, "sign_in.html", 400, errors=errors, name=name)
        retry_at = await asyncio.to_thread(refused_until, store, request, now)
        if retry_at is not None:
            refused = render(request, session, "sign_in.html", 429, name=name, errors=[(
                "password", f"There have been more than {MAX_ATTEMPTS_PER_ADDRESS} sign-in attempts from your network "
                            f"address in a short time: try again after {retry_at.strftime('%H:%M UTC')}")])
            refused.headers["Retry-After"] = str(max(1, int((retry_at - now).total_seconds())))
            return refused
        account = await asyncio.to_thread(account_store.find, store, name)
        wrong = [("password", "The name or the password is not right")]
        if account is None:
            await asyncio.to_thread(passwords.burn_time, password)
            return render(request, session, "sign_in.html", 400, errors=wrong, name=name)
        if account.locked(now):
            assert account.locked_until is not None
            until = account.locked_until.strftime("%H:%M UTC")
            return render(request, session, "sign_in.html", 429, name=name, errors=[(
                "password", f"This account is locked after {MAX_FAILURES} failed sign-ins: try again after {until}")])
        if not await asyncio.to_thread(passwords.verify_password, account.password_hash, password):
            locked = await asyncio.to_thread(account_store.record_failure, store, name, now, MAX_FAILURES, LOCK_FOR)
            if locked:
                wrong = [("password", f"The name or the password is not right. After {MAX_FAILURES} failed sign-ins "
                                      f"the account is locked for {LOCK_FOR.seconds // 60} minutes")]
            return render(request, session, "sign_in.html", 400, errors=wrong, name=name)
        await asyncio.to_thread(account_store.record_success, store, name)
        response = RedirectResponse(f"{request.scope.get('root_path', '')}/", status_code=303, headers=_HEADERS)
        # A new session (and CSRF token) at sign-in: nothing set before it carries over.
        sessions.save(request, response, new_session(account.name, account.session_epoch))
        return response

    @app.post("/sign-out")
    async def sign_out(request: Request) -> Response:
        session = sessions.read(request)
        await posted(request, session)
        if session.user is not None:
            await asyncio.to_thread(account_store.end_sessions, store, session.user)
        response = RedirectResponse(f"{request.scope.get('root_path', '')}/sign-in", status_code=303,
                                    headers=_HEADERS)
        sessions.save(request, response, new_session())
        return response

    # --- blocks of pages of their own: reviewing variation (review), a topic's history (history_pages)

    door = Door(sessions.read, person_of, posted, render, network_lead_only, Refused)
    app.include_router(review.router(door, store, today))
    app.include_router(history_pages.router(door, store))

    # --- pages ---------------------------------------------------------------------------------

    @app.get("/", response_class=HTMLResponse)
    async def home(request: Request) -> Response:
        session = sessions.read(request)
        person = person_of(request, session)
        report = (await asyncio.to_thread(compare, StoreSource(store), None, today())).report
        topics = [(t.topic, t.title, sum(d.classification is Classification.UNWARRANTED for d in t.differences),
                   len(t.trusts)) for t in report.topics]
        return render(request, session, "home.html", person=person, topics=topics)

    def _guideline_rows() -> list[guidelines.GuidelineRow]:
        return guidelines.rows((v.reference, v.resource) for v in store.current("PlanDefinition") if v.resource)

    @app.get("/guidelines", response_class=HTMLResponse)
    async def guidelines_page(request: Request) -> Response:
        session = sessions.read(request)
        person = person_of(request, session)
        rows = await asyncio.to_thread(_guideline_rows)
        return render(request, session, "guidelines.html", person=person, rows=rows, done=None, errors=[])

    def _guideline_context(guideline_id: str) -> dict[str, Any]:
        try:
            pair = guidelines.side_by_side(StoreSource(store), guideline_id)
        except guidelines.LifecycleError as exc:
            raise HTTPException(exc.status, exc.message) from None
        return {"view": guideline_view(pair, security.limits.diff_actions)}

    @app.get("/guidelines/{guideline_id}", response_class=HTMLResponse)
    async def guideline_page(request: Request, guideline_id: str) -> Response:
        session = sessions.read(request)
        person = person_of(request, session)
        context = await asyncio.to_thread(_guideline_context, guideline_id)
        return render(request, session, "guideline.html", person=person, done=None, errors=[], **context)

    @app.post("/guidelines/{guideline_id}/{action}", response_class=HTMLResponse)
    async def guideline_action(request: Request, guideline_id: str, action: str) -> Response:
        session = sessions.read(request)
        person = person_of(request, session)
        form = await posted(request, session)
        if action not in ("approve", "release", "retire"):
            raise HTTPException(404)
        network_lead_only(person, f"{action} a guideline")
        comment = str(form.get("comment") or "").strip() or None

        def act() -> str:
            with store.write(person.agent, person.permit) as writer:
                if action == "approve":
                    return guidelines.approve(writer, guideline_id, today(), person.account.name, comment).reference
                if action == "release":
                    return guidelines.release(writer, guideline_id, today()).released.reference
                return guidelines.retire(writer, guideline_id, today()).reference

        errors, done = [], None
        try:
            done = f"{action.capitalize()}d {await asyncio.to_thread(act)}"
        except guidelines.LifecycleError as exc:
            errors.append(("guidelines", exc.message))
        except policy.Denied as denied:
            raise Refused(denied.message) from None
        if form.get("from") == "guideline":
            context = await asyncio.to_thread(_guideline_context, guideline_id)
            return render(request, session, "guideline.html", 409 if errors else 200, person=person, done=done,
                          errors=errors, **context)
        rows = await asyncio.to_thread(_guideline_rows)
        return render(request, session, "guidelines.html", 409 if errors else 200, person=person, rows=rows,
                      done=done, errors=errors)

    def _topics() -> list[tuple[str, str]]:
        return [(code, concept.display) for code, concept in terminology.topics().concepts.items()]

    @app.get("/pathways", response_class=HTMLResponse)
    async def pathways_page(request: Request) -> Response:
        session = sessions.read(request)
        person = person_of(request, session)
        return render(request, session, "pathways.html", person=person, topics=_topics(), errors=[], result=None)

    @app.get("/pathways/template")
    async def pathway_template(request: Request, topic: str = "", trust: str = "") -> Response:
        session = sessions.read(request)
        person = person_of(request, session)
        trust = (trust or person.account.trust or "").upper()
        if not person.network_lead and trust != person.account.trust:
            raise Refused(f"you are {person.account.trust}'s pathway lead: you may download only "
                          f"{person.account.trust}'s workbooks")
        try:
            made = await asyncio.to_thread(template, store, topic, trust, today())
        except ValueError as exc:
            return render(request, session, "pathways.html", 400, person=person, topics=_topics(), result=None,
                          errors=[("topic", str(exc))])
        filename = f"{trust}-{topic}.xlsx"
        disposition = f'attachment; filename="{filename}"'
        return Response(made.workbook, headers={**_HEADERS, "Content-Disposition": disposition},
                        media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")

    async def _uploaded(form: FormData, person: Person) -> Rows | None:
        """The uploaded workbook's rows (None when no file was chosen), refused when it is another trust's."""
        upload = form.get("workbook")
        if not isinstance(upload, UploadFile) or not upload.filename:
            return None
        data = await upload.read(MAX_UPLOAD_BYTES + 1)
        if len(data) > MAX_UPLOAD_BYTES:
            raise Refused(f"the workbook is larger than {MAX_UPLOAD_BYTES:,} bytes", 413)
        rows = read_workbook(data)
        claimed = str(rows.pathway.get("trust") or "").strip().upper()
        if not person.network_lead and claimed and claimed != person.account.trust:
            raise Refused(f"the workbook is {claimed}'s pathway; as {person.account.trust}'s pathway lead you may "
                          f"import only {person.account.trust}'s")
        return rows

    def _no_workbook(request: Request, session: Session, person: Person) -> Response:
        return render(request, session, "pathways.html", 400, person=person, topics=_topics(), result=None,
                      errors=[("workbook", "Choose the filled-in workbook (.xlsx) to upload")])

    async def _store_workbook(request: Request, session: Session, person: Person, rows: Rows) -> Response:
        """Convert, check and store the rows as the person's change (audited), and say what happened."""
        def run() -> Any:
            return import_pathway(store, rows, agent=person.agent, permit=person.permit_edit)

        try:
            result = await asyncio.to_thread(run)
        except policy.Denied as denied:
            raise Refused(denied.message) from None
        except StoreError as exc:
            raise Refused(exc.message, 409) from None
        return render(request, session, "pathways.html", 200 if result.ok else 400, person=person, topics=_topics(),
                      errors=[], result=result)

    @app.post("/pathways/import", response_class=HTMLResponse)
    async def pathway_import(request: Request) -> Response:
        """Upload and store at once (without the preview)."""
        session = sessions.read(request)
        person = person_of(request, session)
        rows = await _uploaded(await posted(request, session), person)
        if rows is None:
            return _no_workbook(request, session, person)
        return await _store_workbook(request, session, person, rows)

    def _held_for(person: Person, session: Session, key: str) -> Any:
        pending = uploads.find(key, person.account.name, session.csrf)
        if pending is None:
            raise Refused("there is no upload of yours waiting to be submitted under that name (it was submitted, "
                          "discarded, replaced by a later upload, or it expired): upload the workbook again", 404)
        return pending

    @app.post("/pathways/preview", response_class=HTMLResponse)
    async def pathway_preview(request: Request) -> Response:
        """Upload: every problem by row and column, or how the new version would compare; nothing is stored."""
        session = sessions.read(request)
        person = person_of(request, session)
        rows = await _uploaded(await posted(request, session), person)
        if rows is None:
            return _no_workbook(request, session, person)
        seen = await asyncio.to_thread(preview, store, rows, today())
        if not seen.result.ok or seen.result.change == "unchanged":
            return render(request, session, "pathways.html", 200 if seen.result.ok else 400, person=person,
                          topics=_topics(), errors=[], result=seen.result)
        resource = seen.result.resource or {}
        trust = str(rows.pathway.get("trust") or "").strip().upper()
        pending = uploads.hold(person.account.name, session.csrf, rows, str(rows.pathway.get("topic") or ""), trust)
        return render(request, session, "pathway_preview.html", person=person, pending=pending, seen=seen,
                      resource=resource, trust=trust, unwarranted=Classification.UNWARRANTED)

    @app.post("/pathways/pending/{key}/{action}", response_class=HTMLResponse)
    async def pathway_pending(request: Request, key: str, action: str) -> Response:
        """Submit (convert, check and store the held workbook again, audited as the person) or discard it."""
        session = sessions.read(request)
        person = person_of(request, session)
        await posted(request, session)
        if action not in ("submit", "discard"):
            raise HTTPException(404)
        pending = _held_for(person, session, key)
        uploads.drop(key)
        if action == "discard":
            return render(request, session, "pathways.html", person=person, topics=_topics(), errors=[],
                          result=None, discarded=True)
        return await _store_workbook(request, session, person, pending.rows)

    return app
