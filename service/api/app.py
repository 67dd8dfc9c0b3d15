"""The FastAPI applications: the FHIR API (mounted at ``/fhir``) and the root that hosts it.

Every error leaves as an OperationOutcome in the client's format: FHIR errors raised by the
handlers, store errors, bodies that are not readable FHIR, FastAPI's own 404/405 and request
errors, and anything unexpected (500, logged, with no stack trace sent).

The API's store has no operator: every write through it must name its agent (``auth.Caller``),
so no change can reach the audit trail unattributed.
"""

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Receive, Scope, Send

from ..application.guidelines import LifecycleError
from ..fhirformat import FormatError
from ..security.environment import ConfigError, read_environment
from ..security.settings import STATEMENT_TIMEOUT, SecuritySettings
from ..security.variables import DATABASE_URL, SITE
from ..store import Store, StoreError
from ..store.engine import time_statements
from ..workspace import create_workspace_app
from . import (
    capability,
    conformance,
    lifecycle,
    monitoring,
    openapi,
    operations,
    resources,
    search,
    transaction,
    variation,
)
from .formats import JSON, fhir_response, response_format
from .outcomes import FhirError, busy, error, outcome, store_error

log = logging.getLogger(__name__)

FHIR_PATH = "/fhir"
WORKSPACE_PATH = "/workspace"
#: The checkout the site is built in (its mkdocs.yml and docs/).
REPOSITORY = Path(__file__).resolve().parents[2]
#: A published site folder for ``app_from_environment`` to serve; unset: the live site from the store.
SITE_VARIABLE = SITE
_HTTP_CODES = {404: "not-found", 405: "not-supported", 406: "not-supported", 415: "not-supported"}


def _outcome_response(request: Request, failure: FhirError) -> Response:
    try:
        media_type = response_format(request)
    except FhirError:
        media_type = JSON  # the client accepts nothing we write: tell it so in JSON
    return fhir_response(request, outcome(failure.issues), failure.status, failure.headers or None, media_type)


def _install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(FhirError)
    async def _fhir(request: Request, exc: FhirError) -> Response:
        return _outcome_response(request, exc)

    @app.exception_handler(StoreError)
    async def _store(request: Request, exc: StoreError) -> Response:
        return _outcome_response(request, store_error(exc))

    @app.exception_handler(LifecycleError)
    async def _lifecycle(request: Request, exc: LifecycleError) -> Response:
        code = {404: "not-found", 409: "conflict"}.get(exc.status, "business-rule")
        return _outcome_response(request, error(exc.status, code, exc.message))

    @app.exception_handler(PoolTimeout)
    async def _busy(request: Request, exc: PoolTimeout) -> Response:
        log.warning("no database connection came free for %s %s", request.method, request.url.path)
        return _outcome_response(request, busy())

    @app.exception_handler(FormatError)
    async def _unreadable(request: Request, exc: FormatError) -> Response:
        return _outcome_response(request, error(400, "structure", f"the body is not readable FHIR: {exc.message}",
                                                exc.path))

    @app.exception_handler(HTTPException)
    async def _http(request: Request, exc: HTTPException) -> Response:
        message = (f"no FHIR interaction at {request.method} {request.url.path}" if exc.status_code in (404, 405)
                   else str(exc.detail))
        failure = error(exc.status_code, _HTTP_CODES.get(exc.status_code, "processing"), message)
        failure.headers.update(exc.headers or {})
        return _outcome_response(request, failure)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> Response:
        return _outcome_response(request, error(400, "invalid", f"the request is not valid: {exc.errors()}"))

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> Response:
        log.exception("unexpected error on %s %s", request.method, request.url.path)
        return _outcome_response(request, error(500, "exception", "the server failed to process the request; "
                                                "the error has been logged"))


def create_fhir_app(store: Store, security: SecuritySettings) -> FastAPI:
    """The FHIR R4 API on ``store``, to be mounted at ``/fhir``, guarded by ``security``.

    Everything it answers comes from the store, the register included: no file is read.
    """
    # The OpenAPI description is served (``openapi.describe``); no docs pages, which would load scripts from a CDN.
    # No slash redirects: Starlette's name the Host header, which the client chooses.
    app = FastAPI(title="Harmonise FHIR R4 API", docs_url=None, redoc_url=None, openapi_url="/openapi.json",
                  redirect_slashes=False)
    app.state.store = store
    app.state.security = security
    app.state.started = datetime.now(UTC).isoformat(timespec="seconds")
    _install_error_handlers(app)
    # Fixed paths (/metadata, /_history, /_search, /$validate) before /{type}/{id} would take them.
    # The modules' routes join the app's own list, as routes declared on it would, rather than
    # through include_router: FastAPI matches an included router through a wrapper that re-derives
    # its routes' effective context on every request, a cost per router before the one that
    # matches (the read route is in the sixth). There is nothing for it to add here: no prefix, and
    # a router's dependencies (reads()) are already part of each of its routes.
    for module in (capability, monitoring, conformance, variation, lifecycle, search, operations, resources,
                   transaction):
        app.router.routes.extend(module.router.routes)
    openapi.install(app)
    return app


def _route_path(scope: Scope) -> str:
    """The request's path below the server's ``root_path``, as Starlette's routers see it."""
    path: str = scope["path"]
    root_path = scope.get("root_path", "")
    if root_path and path.startswith(root_path) and path != root_path and path[len(root_path)] == "/":
        return path[len(root_path):]
    return path


class _FhirBase:
    """Gives FHIR's base without its slash (``POST /fhir``: a transaction, as FHIR clients write it)
    the slash Starlette's ``Mount`` matches, so the mounted API answers it instead of a redirect."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and _route_path(scope) == FHIR_PATH:
            base = scope["path"] + "/"
            scope = {**scope, "path": base, "raw_path": base.encode()}
        await self.app(scope, receive, send)


class _SiteFiles(StaticFiles):
    """The published site's files. A folder's address without its slash is redirected to
    ``./name/``, relative: Starlette's own redirect is absolute, built from the Host header,
    which the client chooses, and a relative one stays right behind any proxy."""

    async def get_response(self, path: str, scope: Scope) -> Response:
        response = await super().get_response(path, scope)
        if not isinstance(response, RedirectResponse):
            return response
        query = scope.get("query_string", b"").decode("latin-1")
        return RedirectResponse(f"./{quote(scope['path'].rsplit('/', 1)[-1])}/" + (f"?{query}" if query else ""))


def _site(folder: Path | None) -> ASGIApp:
    """The published site (``harmonise publish``) at ``/``, or a page saying how to build it."""
    if folder is not None and (folder / "index.html").is_file():
        return _SiteFiles(directory=folder, html=True)
    message = ("<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Harmonise</title></head>"
               "<body><h1>Harmonise</h1><p>The site has not been built yet: run <code>harmonise publish</code>, "
               "then restart <code>harmonise serve</code>.</p><p>The FHIR API is at <a href=\"fhir/metadata\">"
               "/fhir</a>.</p></body></html>")

    async def not_built(scope: Scope, receive: Receive, send: Send) -> None:
        await HTMLResponse(message, status_code=404)(scope, receive, send)

    return not_built


def create_app(database_url: str, security: SecuritySettings | None = None, site: Path | None = None,
               live_site: bool = False) -> FastAPI:
    """The whole service: the FHIR API at ``/fhir`` on the store at ``database_url``, the workspace at
    ``/workspace``, the site at ``/``.

    The site is ``site`` (a folder ``harmonise publish`` wrote), or with ``live_site`` built from the
    store and rebuilt whenever it changes (``site.live``). ``security`` defaults to the settings in
    the environment (``SecuritySettings.from_environment``).
    """
    security = security or SecuritySettings.from_environment(database_url)
    store = Store.open(database_url, operator=None, pool=security.limits.database_connections)
    # No read outlives the request's budget; writes are exempt (see store.engine).
    time_statements(store.engine, security.limits.statement_timeout_ms, STATEMENT_TIMEOUT)
    live = None
    if live_site:
        from ..site.live import LiveSite  # MkDocs, only for the process that builds the site

        live = LiveSite(store, database_url, REPOSITORY, serve=_SiteFiles)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        if live is not None:
            live.start()
        yield
        if live is not None:
            await asyncio.to_thread(live.stop)
        store.close()

    fhir = create_fhir_app(store, security)
    app = FastAPI(title="Harmonise", lifespan=lifespan, docs_url=None, redoc_url=None, openapi_url=None)
    app.add_middleware(_FhirBase)
    app.state.fhir = fhir
    app.state.store = store
    app.state.live_site = live

    @app.get("/healthz", include_in_schema=False)
    def health() -> JSONResponse:
        """For load balancers: 200 when this process can read its store, 503 when it cannot."""
        try:
            change = store.last_change()
        except Exception as exc:  # the database is unreachable: say so, do not crash the probe
            log.warning("health check: the store cannot be read: %s", exc)
            return JSONResponse({"status": "unavailable"}, status_code=503)
        return JSONResponse({"status": "ok", "store_change": change,
                             "site_change": live.built_change if live is not None else None})

    app.mount(FHIR_PATH, fhir, name="fhir")
    # The workspace, its own app (HTML, sessions, forms), before the site would take its paths.
    app.mount(WORKSPACE_PATH, create_workspace_app(store, security), name="workspace")

    @app.get(WORKSPACE_PATH, include_in_schema=False)
    def workspace_root() -> RedirectResponse:
        return RedirectResponse("workspace/", status_code=307)

    app.mount("/", live if live is not None else _site(site), name="site")
    return app


def app_from_environment() -> FastAPI:
    """The app ``harmonise serve --workers N`` starts in each worker process, configured by the variables
    ``serve`` sets (``HARMONISE_DATABASE_URL``, ``HARMONISE_SITE``) and the security settings', all
    read through ``security.environment``. A value that cannot be used stops the worker with the reason."""
    try:
        environment = read_environment()
        if environment.database_url is None:
            raise ConfigError(f"{DATABASE_URL} is not set: it names the store to serve (harmonise serve sets it)")
        security = SecuritySettings.of(environment.database_url, environment)
    except ConfigError as exc:
        raise SystemExit(f"harmonise: cannot start: {exc}") from None
    return create_app(environment.database_url, security, site=environment.site, live_site=environment.site is None)
