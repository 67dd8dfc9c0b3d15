"""``harmonise load``, ``export`` and ``serve``: the content folders, the store, and the FHIR API.

Commands that write to the store directly (``load``, ``import-activity``, the load before
``serve``) act as the local administrator: whoever can run them holds the database already, so
API tokens do not apply; their changes are audited as ``local-admin`` with the user, host and
command.
"""

import os
from collections.abc import Sequence
from dataclasses import replace
from ipaddress import ip_network
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any
from urllib.parse import urlsplit

import typer

from ..application.conflicts import OnConflict
from ..security.variables import ALLOW_ANONYMOUS_WRITES, PUBLIC_BASE_URL, SECRET, SECRET_FILE, TRUSTED_PROXIES
from .app import (
    DEFAULT_DATABASE,
    DatabaseOption,
    FormatOption,
    GuidelinesOption,
    OutputFormat,
    PathwaysOption,
    app,
    default_folder,
    err,
    file_progress,
    out,
    print_json,
)

if TYPE_CHECKING:
    from ..application.loading import LoadReport
    from ..security.settings import SecuritySettings
    from ..store import Store


def _shown(url: str) -> str:
    """The URL without its password, for messages."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return url


def open_store(url: str, command: str | None = None) -> "Store":
    """Open (and migrate) the store, or stop with a plain message: exit 2 for a bad URL, 1 if unreachable.

    Its writes are audited as the local administrator running ``harmonise <command>``.
    """
    from sqlalchemy.exc import ArgumentError, SQLAlchemyError

    from ..store import Store
    from ..store.audit import local_admin

    try:
        return Store.open(url, operator=local_admin(f"harmonise {command}" if command else None))
    except ArgumentError:
        err.print(f"'{url}' is not a database URL (try sqlite:///harmonise.db or postgresql+psycopg://USER@HOST/DB)")
        raise typer.Exit(2) from None
    except SQLAlchemyError as exc:
        reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
        err.print(f"cannot open the database {_shown(url)}: {reason}")
        raise typer.Exit(1) from None


def _load(store: "Store", pathways: Path, guidelines: Path, quiet: bool,
          on_conflict: OnConflict = OnConflict.REPORT) -> "LoadReport":
    from ..application.loading import store_files

    with file_progress(quiet) as progress:
        return store_files(store, [pathways, guidelines], on_file=progress.read, on_found=progress.found,
                           on_conflict=on_conflict)


def _report_json(report: "LoadReport", database: str) -> dict[str, Any]:
    from ..application.loading import Change
    from ..problems import Severity

    errors = [p for p in report.problems if p.severity is Severity.ERROR]
    return {
        "ok": not errors,
        "database": _shown(database),
        "files": report.files,
        "resources": [{"reference": item.reference, "version": item.version_id, "change": item.change.value,
                       "source": item.source} for item in report.items],
        "created": report.count(Change.CREATED),
        "updated": report.count(Change.UPDATED),
        "unchanged": report.count(Change.UNCHANGED),
        "register_entries": sum(1 for item in report.items if item.reference.startswith("Basic/")
                                and item.change in (Change.CREATED, Change.UPDATED)),
        "conflicts": [{"reference": c.reference, "file": c.file, "file_version": c.file_version,
                       "store_version": c.store_version, "store_version_id": c.store_version_id,
                       "written_by": c.written_by} for c in report.conflicts],
        "errors": len(errors),
        "warnings": len(report.problems) - len(errors),
        "problems": [p.model_dump(mode="json") for p in errors],
    }


def _print_report(report: "LoadReport", database: str) -> None:
    from ..application.loading import Change
    from ..problems import Severity

    errors = [p for p in report.problems if p.severity is Severity.ERROR]
    failed_files = {p.file for p in errors}
    organizations = sum(1 for item in report.items if item.change is not Change.UNCHANGED
                        and item.reference.startswith("Organization/"))
    out.print(
        f"Loaded {report.files} file(s) into {_shown(database)}: "
        f"{report.count(Change.CREATED)} PlanDefinition(s) created, {report.count(Change.UPDATED)} updated, "
        f"{report.count(Change.UNCHANGED)} unchanged; {organizations} trust Organization(s) created or updated."
    )
    entries = [item for item in report.items if item.reference.startswith("Basic/")]
    if entries:
        changed = sum(1 for item in entries if item.change in (Change.CREATED, Change.UPDATED))
        out.print(f"Variation register: {len(entries)} entr{'y' if len(entries) == 1 else 'ies'}, {changed} new or "
                  "changed.")
    kept = [item for item in report.items if item.change is Change.KEPT]
    if kept:
        out.print(f"{len(kept)} file(s) that changed while the store did too were left as the store has them "
                  "(--on-conflict keep-store).")
    if report.conflicts:
        out.print(f"[red]{len(report.conflicts)} conflict(s): the file and the store both changed since the last "
                  "load; nothing was written for these:[/red]")
        for c in report.conflicts:
            out.print(f"  {c.file}: {c.reference}: the file has version {c.file_version or '(none)'}; the store has "
                      f"{c.store_version or '(none)'} (versionId {c.store_version_id}), written by "
                      f"{c.written_by or 'someone unknown'}")
        out.print("Keep the store's with --on-conflict keep-store, or take the files' with --on-conflict take-file "
                  "(one new version each); nothing is lost either way (the history keeps every version).")
    warnings = len(report.problems) - len(errors)
    if warnings:
        out.print(f"{warnings} convention warning(s): run `harmonise validate` to see them.")
    if errors:
        out.print(f"[red]{len(failed_files)} file(s) with errors were not loaded:[/red]")
        for problem in errors:
            out.print(f"  {problem.file}: {problem.path or '(whole file)'}: {problem.message} "
                      f"[dim]\\[{problem.rule}][/dim]")


OnConflictOption = Annotated[OnConflict, typer.Option(
    "--on-conflict", case_sensitive=False,
    help="A file that changed while the store changed too: report it and write nothing for it (the default, "
         "exit 1), keep-store (keep the store's version), or take-file (write the file's as one new version).")]


@app.command()
def load(
    pathways: PathwaysOption = default_folder("pathways"),
    guidelines: GuidelinesOption = default_folder("guidelines"),
    database: DatabaseOption = DEFAULT_DATABASE,
    on_conflict: OnConflictOption = OnConflict.REPORT,
    output: FormatOption = OutputFormat.text,
) -> None:
    """Import the pathways, guidelines (with their narratives) and the variation register into the store.

    The store is the record: a load never undoes a newer write. A file unchanged since its last
    import changes nothing, even if the store has moved on; a changed file makes exactly one new
    version; a file that changed while the store changed too (through the API or a command) is a
    conflict, reported and not written (see --on-conflict). Files with errors are reported and
    skipped; the valid ones still load. Exit 1 on errors or conflicts. The store stays open to the
    API meanwhile: resources are written in batches, each atomic, so a reader may see part of a
    load, and a load stopped midway is finished by running it again.
    """
    from ..problems import Severity

    store = open_store(database, "load")
    try:
        report = _load(store, pathways, guidelines, quiet=output is OutputFormat.json, on_conflict=on_conflict)
    finally:
        store.close()
    if output is OutputFormat.json:
        print_json(_report_json(report, database))
    else:
        _print_report(report, database)
    failed = report.conflicts or any(p.severity is Severity.ERROR for p in report.problems)
    raise typer.Exit(1 if failed else 0)


@app.command()
def export(
    folder: Annotated[Path, typer.Argument(help="Folder to write into (created if missing).", file_okay=False)],
    database: DatabaseOption = DEFAULT_DATABASE,
    output: FormatOption = OutputFormat.text,
) -> None:
    """Write the store's current content back as files: pathways, guidelines, narratives, the register.

    Each PlanDefinition goes back to the file it was last loaded from (JSON or XML as that file
    was), else to the repository's layout (pathways/<network>/<topic>/<id>.json,
    guidelines/<network>/<id>.json); a guideline's narrative beside it as .md; the register to
    guidelines/variation-register.yaml. Exporting into a checkout of the network's content brings
    it up to date from the store, and loading what was written changes nothing.
    """
    from ..application.loading import export_current

    store = open_store(database)
    try:
        written = export_current(store, folder)
    finally:
        store.close()
    if output is OutputFormat.json:
        print_json({"folder": str(folder), "files": [
            {"reference": reference, "file": str(path)} for reference, path in written]})
    else:
        out.print(f"Exported {len(written)} file(s) from {_shown(database)} to {folder}")


def security_settings(database: str) -> "SecuritySettings":
    """The security settings from the environment, or stop with the reason (exit 2)."""
    from ..security.settings import ConfigError, SecuritySettings

    try:
        return SecuritySettings.from_environment(database)
    except ConfigError as exc:
        err.print(f"cannot set up token signing: {exc}")
        raise typer.Exit(2) from None


#: Hosts that mean "every interface": no address a client could be sent back to.
_WILDCARD_HOSTS = ("", "0.0.0.0", "::")
#: Seconds a stopping server gives requests in flight (writes among them) to finish.
GRACEFUL_SECONDS = 30


def _public_base(url: str, source: str) -> str:
    """The FHIR base ``url`` without its trailing slash, or stop (exit 2) if it cannot be one."""
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.username or parts.query or parts.fragment:
        err.print(f"{source} must be the FHIR base as clients reach it, e.g. https://pathways.example.nhs.uk/fhir "
                  f"(http or https, no query), not {url!r}")
        raise typer.Exit(2)
    return url.strip().rstrip("/")


def _proxies(values: Sequence[str], source: str) -> tuple[str, ...]:
    """The trusted proxies as uvicorn's forwarded_allow_ips reads them, or stop (exit 2): uvicorn
    would take an entry it cannot parse as a name to match, one that never matches, silently."""
    for value in values:
        try:
            ip_network(value)
        except ValueError:
            err.print(f"{source}: {value!r} is not an IP address or network (e.g. 10.0.0.5 or 10.0.0.0/8)")
            raise typer.Exit(2) from None
    return tuple(values)


@app.command()
def serve(
    host: Annotated[str, typer.Option("--host", help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", help="Port to listen on.", min=1, max=65535)] = 8000,
    pathways: PathwaysOption = default_folder("pathways"),
    guidelines: GuidelinesOption = default_folder("guidelines"),
    database: DatabaseOption = DEFAULT_DATABASE,
    load: Annotated[bool, typer.Option(
        "--load", help="Import the folders (--pathways, --guidelines) into the store before serving, as "
                       "'harmonise load' does. Without it the folders are imported only into an empty store.")] = False,
    workers: Annotated[int, typer.Option(
        "--workers", min=1, max=64,
        help="Server processes sharing the port and the store (use PostgreSQL for more than one).")] = 1,
    site: Annotated[Path | None, typer.Option(
        "--site", file_okay=False, show_default=False,
        help="Serve this published site folder (harmonise publish) at / instead of the site built from the store "
             "and rebuilt whenever it changes.")] = None,
    public_url: Annotated[str | None, typer.Option(
        "--public-url", metavar="URL",
        help="The FHIR base as clients reach it (e.g. https://pathways.example.nhs.uk/fhir), used in every "
             "Bundle link and Location header; the Host header a client sends never is. Overrides "
             f"{PUBLIC_BASE_URL}. Default: http://HOST:PORT/fhir (listening on every interface, 0.0.0.0 or ::, the "
             "address each connection reached).")] = None,
    trusted_proxies: Annotated[list[str] | None, typer.Option(
        "--trusted-proxy", metavar="ADDRESS",
        help="A reverse proxy (IP address or network, e.g. 10.0.0.0/8) whose X-Forwarded-For and "
             f"X-Forwarded-Proto are believed; repeat for several. Overrides {TRUSTED_PROXIES} (comma-separated). "
             "Default: none, so those headers are ignored and the audit records the address each "
             "connection comes from.")] = None,
) -> None:
    """Serve the FHIR R4 API at /fhir and the site at /, both from the store (the network's record).

    The site is built from the store and rebuilt within seconds of every change, whichever door
    it came through. The folders are imported only into an empty store, or with --load (as
    'harmonise load' does: a file never undoes a newer write). /healthz answers load balancers.

    Reads are open; writes need a bearer token from `harmonise token` (see docs/security.md).
    Without HARMONISE_JWT_SECRET or HARMONISE_JWT_SECRET_FILE, tokens are signed with a random
    key made once and kept in .harmonise-secret beside the SQLite database.
    On PostgreSQL each process keeps HARMONISE_DB_POOL_SIZE connections (default 10); a request
    waits up to 30 s for a free one.
    Behind a reverse proxy, set --public-url and --trusted-proxy (or their environment variables).
    """
    import uvicorn  # noqa: PLC0415  (only this command needs the server)

    from ..api.app import SITE_VARIABLE, create_app  # noqa: PLC0415

    security = security_settings(database)
    listening = f"http://{f'[{host}]' if ':' in host else host}:{port}"
    configured = public_url if public_url is not None else security.public_base_url
    public: str | None
    if configured is not None:
        public = _public_base(configured, "--public-url" if public_url is not None else PUBLIC_BASE_URL)
    elif host in _WILDCARD_HOSTS:
        public = None  # the app names the address each connection reached (bundles.base_url)
    else:
        public = f"{listening}/fhir"
    proxies = (_proxies(trusted_proxies, "--trusted-proxy") if trusted_proxies else
               _proxies(security.trusted_proxies, TRUSTED_PROXIES))
    security = replace(security, public_base_url=public, trusted_proxies=proxies)
    store = open_store(database, "serve")
    try:
        if load or _is_empty(store):
            if not load:
                out.print(f"The store at {_shown(database)} is empty: importing {pathways} and {guidelines} first.")
            _print_report(_load(store, pathways, guidelines, quiet=False), database)
    finally:
        store.close()
    if workers > 1 and database.startswith("sqlite"):
        err.print("[yellow]Several processes share one SQLite file safely but write one at a time; use PostgreSQL "
                  "for a deployment with several workers.[/yellow]")
    out.print(f"Listening on {listening}; FHIR API at {public or f'{listening}/fhir'} "
              "(CapabilityStatement: /fhir/metadata)")
    if configured is None and (proxies or public is None):
        out.print(f"Links name {'the address each connection reached' if public is None else public}: set "
                  f"--public-url ({PUBLIC_BASE_URL}) to the address clients use.")
    out.print(f"X-Forwarded-For is believed from: {', '.join(proxies) if proxies else 'no one'} "
              f"(--trusted-proxy, {TRUSTED_PROXIES})")
    out.print(f"Writes need a bearer token signed with the key from {security.key_source}: "
              "`harmonise token --network-lead` or `--trust ODS` issues one.")
    if security.allow_anonymous_writes:
        err.print(f"[bold red]{ALLOW_ANONYMOUS_WRITES}=1: anyone who can reach this port can change the store. "
                  "For local development only.[/bold red]")
    if site is not None and not (site / "index.html").is_file():
        out.print(f"No published site in {site}: run 'harmonise publish --out {site}' to build it (the API works "
                  "without it).")
    out.print(f"Site at {listening}/ ({f'from {site}' if site else 'built from the store, rebuilt after every change'})"
              f"; health at {listening}/healthz")
    # Forwarded headers only from the configured proxies: uvicorn's default believes any local client.
    if workers == 1:
        uvicorn.run(create_app(database, security, site, live_site=site is None), host=host, port=port,
                    log_level="info", timeout_graceful_shutdown=GRACEFUL_SECONDS, proxy_headers=bool(proxies),
                    forwarded_allow_ips=list(proxies))
        return
    # Each worker process builds the same app from the environment: one store, one key, one public base.
    os.environ.update({"HARMONISE_DATABASE_URL": database, SITE_VARIABLE: str(site or ""),
                       PUBLIC_BASE_URL: public or "", TRUSTED_PROXIES: ",".join(proxies)})
    if security.key_source not in (SECRET, SECRET_FILE):
        os.environ[SECRET_FILE] = security.key_source  # the generated key's file: every worker reads the same one
    uvicorn.run("service.api.app:app_from_environment", factory=True, workers=workers, host=host, port=port,
                log_level="info", timeout_graceful_shutdown=GRACEFUL_SECONDS, proxy_headers=bool(proxies),
                forwarded_allow_ips=list(proxies))


def _is_empty(store: "Store") -> bool:
    from ..store import parse_search

    return not store.search(parse_search("PlanDefinition", [("_count", "1")])).versions
