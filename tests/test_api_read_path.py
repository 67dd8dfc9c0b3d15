"""The read path's shortcuts keep the behaviour of the long way round.

- Pooled PostgreSQL connections are checked on checkout without a round trip: a healthy one is not
  pinged, and one whose server has gone (what a restart does to it) is replaced before use, so the
  request that takes it still succeeds.
- Requests under ``/fhir`` reach the FHIR app directly, with the scope a Starlette ``Mount`` would
  give it: every answer is the one the mounted app gives, ``root_path`` included.
- ``Last-Modified`` is written as ``email.utils.format_datetime`` writes it.
"""

import asyncio
import time
import uuid
from collections.abc import Iterator
from email.utils import format_datetime

import httpx
import psycopg
import pytest
from sqlalchemy import text
from starlette.applications import Starlette
from starlette.routing import Mount

from service.api import create_app
from service.api.headers import http_date
from service.store.dates import parse_timestamp
from service.store.engine import make_engine, reading

from .conftest import minimal_pathway
from .stores import TEST_SECURITY, ServerThread, bearer, postgres_schema


def _ask(app: object, method: str, path: str, root_path: str = "", **options: object) -> httpx.Response:
    """One request to an ASGI app, as a server with this ``root_path`` would pass it on."""
    async def send() -> httpx.Response:
        transport = httpx.ASGITransport(app=app, root_path=root_path)  # type: ignore[arg-type]
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            return await client.request(method, f"{root_path}{path}", **options)  # type: ignore[arg-type]

    return asyncio.run(send())


def _terminate(application_name: str) -> int:
    """End every server process of connections named ``application_name``, as a server restart
    ends them (an error message, then the socket closes), and wait until they have gone; returns
    how many there were. (A connection taken in the moment between the signal and its server
    process's exit would still look healthy, as it could in a restart: that statement would fail.)"""
    with psycopg.connect("host=127.0.0.1 port=5432 dbname=test user=postgres", autocommit=True) as admin:
        pids = [row[0] for row in admin.execute("SELECT pid FROM pg_stat_activity WHERE application_name = %s",
                                                (application_name,))]
        admin.execute("SELECT pg_terminate_backend(pid) FROM unnest(%s::int[]) AS pid", (pids,))
        for _attempt in range(200):
            alive = admin.execute("SELECT count(*) FROM pg_stat_activity WHERE pid = ANY(%s)", (pids,)).fetchone()
            if alive is None or alive[0] == 0:
                break
            time.sleep(0.05)
    return len(pids)


@pytest.fixture
def named_postgres() -> Iterator[tuple[str, str]]:
    """A PostgreSQL URL whose connections carry a name of their own, and that name."""
    name = f"harmonise-read-path-{uuid.uuid4().hex[:8]}"
    with postgres_schema() as url:
        yield f"{url}&application_name={name}", name


def test_a_healthy_pooled_connection_is_not_pinged(named_postgres: tuple[str, str],
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    url, _name = named_postgres
    engine = reading(make_engine(url, pool=2))
    pings = []
    monkeypatch.setattr(engine.dialect, "do_ping", lambda connection: pings.append(connection) or True)
    try:
        for _ in range(5):
            with engine.connect() as connection:
                assert connection.execute(text("SELECT 1")).scalar_one() == 1
        assert pings == []
    finally:
        engine.dispose()


def test_a_connection_whose_server_went_away_is_replaced_on_checkout(named_postgres: tuple[str, str]) -> None:
    url, name = named_postgres
    engine = reading(make_engine(url, pool=1))
    try:
        with engine.connect() as connection:
            before = connection.execute(text("SELECT pg_backend_pid()")).scalar_one()
        assert _terminate(name) == 1
        with engine.connect() as connection:  # no error: the dead connection was noticed and replaced
            after = connection.execute(text("SELECT pg_backend_pid()")).scalar_one()
        assert after != before
    finally:
        engine.dispose()


def test_reads_survive_the_database_dropping_every_connection(named_postgres: tuple[str, str]) -> None:
    url, name = named_postgres
    with ServerThread(url) as server, httpx.Client(base_url=server.base, timeout=60) as http:
        created = http.post("/PlanDefinition", json=minimal_pathway(), headers=bearer())
        assert created.status_code == 201
        path = f"/PlanDefinition/{created.json()['id']}"
        with httpx.Client(base_url=server.base, timeout=60) as other:  # two connections in use at once
            assert http.get(path).status_code == 200 and other.get(path).status_code == 200
        assert _terminate(name) >= 1
        answers = [http.get(path) for _ in range(4)]
        assert [answer.status_code for answer in answers] == [200] * 4
        assert answers[0].json()["id"] == created.json()["id"]


def test_http_date_is_the_imf_fixdate_of_the_stored_timestamp() -> None:
    """Worked by hand from the calendar: the second truncated, never rounded; always GMT."""
    assert http_date("2025-03-04T05:06:07.123456Z") == "Tue, 04 Mar 2025 05:06:07 GMT"
    assert http_date("2024-02-29T23:59:59.999999Z") == "Thu, 29 Feb 2024 23:59:59 GMT"
    assert http_date("1999-12-31T00:00:00.000000Z") == "Fri, 31 Dec 1999 00:00:00 GMT"
    assert http_date("2000-01-01T12:00:00.500000Z") == "Sat, 01 Jan 2000 12:00:00 GMT"
    for stamp in ("2026-11-22T11:59:04.000001Z", "2025-03-04T05:06:07.123456Z"):
        assert http_date(stamp) == format_datetime(parse_timestamp(stamp), usegmt=True)


@pytest.fixture
def apps(tmp_path) -> Iterator[tuple[object, object]]:
    """The service as built, and the same FHIR app mounted at /fhir by a plain Starlette ``Mount``."""
    app = create_app(f"sqlite:///{tmp_path / 'store.db'}", security=TEST_SECURITY)
    mounted = Starlette(routes=[Mount("/fhir", app=app.state.fhir)])
    try:
        yield app, mounted
    finally:
        app.state.store.close()


@pytest.mark.parametrize("root_path", ["", "/behind/a/proxy"])
def test_fhir_requests_are_answered_as_the_mounted_app_answers_them(apps, root_path: str) -> None:
    app, mounted = apps
    pathway = minimal_pathway()
    created = _ask(app, "POST", "/fhir/PlanDefinition", root_path, json=pathway, headers=bearer())
    assert created.status_code == 201
    # Links name the server's own address (none in this transport: localhost), never the Host header (testserver).
    assert created.headers["location"].startswith(f"http://localhost{root_path}/fhir/PlanDefinition/")
    identifier = created.json()["id"]
    requests = [("GET", f"/fhir/PlanDefinition/{identifier}", {}),
                ("GET", f"/fhir/PlanDefinition/{identifier}?_format=xml&_pretty=true", {}),
                ("GET", f"/fhir/PlanDefinition/{identifier}?_elements=title", {}),
                ("GET", f"/fhir/PlanDefinition/{identifier}", {"Accept": "text/plain"}),
                ("GET", "/fhir/PlanDefinition/no-such-pathway", {}),
                ("GET", "/fhir/Patient/1", {}),
                ("GET", "/fhir/Provenance", {}),
                ("GET", "/fhir/PlanDefinition/_history?_count=1", {}),
                ("PATCH", f"/fhir/PlanDefinition/{identifier}", {}),
                ("GET", "/fhir/no/such/interaction/here", {})]
    for method, path, headers in requests:
        ours, theirs = (_ask(target, method, path, root_path, headers=headers) for target in (app, mounted))
        assert (ours.status_code, ours.content) == (theirs.status_code, theirs.content), (method, path)
        assert {k: v for k, v in ours.headers.items() if k != "date"} == \
            {k: v for k, v in theirs.headers.items() if k != "date"}, (method, path)


def test_the_base_without_a_slash_reaches_the_transaction_route_and_the_site_stays_at_the_root(apps) -> None:
    app, _mounted = apps
    bundle = {"resourceType": "Bundle", "type": "transaction", "entry": []}
    posted = _ask(app, "POST", "/fhir", json=bundle, headers=bearer())
    site = _ask(app, "GET", "/")
    beside = _ask(app, "GET", "/fhirx")
    assert posted.status_code == 200 and posted.json()["type"] == "transaction-response"
    assert site.status_code == 404 and "harmonise publish" in site.text  # the page saying how to build it
    assert beside.status_code == 404 and beside.headers["content-type"].startswith("text/html")


def test_content_negotiation_is_the_same_the_second_time_a_header_is_seen(apps) -> None:
    app, _mounted = apps
    cases = [("application/fhir+xml", 200, "application/fhir+xml"), ("text/plain", 406, "application/fhir+json"),
             ("text/html;q=0.9, application/xml;q=0.8", 200, "application/fhir+xml"),
             ("*/*", 200, "application/fhir+json"), ("application/json;q=0", 406, "application/fhir+json")]
    for accept, status, media in cases * 2:  # the second round answers from the remembered negotiation
        answer = _ask(app, "GET", "/fhir/metadata", headers={"Accept": accept})
        assert (answer.status_code, answer.headers["content-type"].split(";")[0]) == (status, media), accept
        if status == 406:
            assert accept in answer.json()["issue"][0]["diagnostics"]
