"""A budget for every search, on SQLite and PostgreSQL: past each cap (parameters, values, value
length, form bytes) a clear 4xx before any SQL, just under it a correct answer, and a statement
past the statement timeout cancelled (503) with the store and the server still serving."""

import dataclasses
import random
import threading
import time
from collections.abc import Iterator
from urllib.parse import urlencode

import httpx
import pytest
from sqlalchemy import text
from starlette.testclient import TestClient

from service.api import create_fhir_app
from service.security.settings import RequestLimits
from service.store import StatementTimeout, Store, parse_search
from service.store.engine import reading, time_statements

from .conftest import minimal_pathway
from .stores import BACKENDS, TEST_SECURITY, ServerThread, bearer, database

LIMITS = RequestLimits()
FORM = {"Content-Type": "application/x-www-form-urlencoded"}
#: Descriptions of this many words make every ``:contains`` search read a few kilobytes per resource.
WORDS = 300
FILLED = 1500
#: 40 criteria of 5 values each (the caps), none matching: every index row of every one is read.
HEAVY = [("description:contains", ",".join(f"zq{value}x{criterion}" for value in range(5)))
         for criterion in range(LIMITS.search_parameters)]


def refused(response: httpx.Response, status: int, *words: str) -> dict:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["resourceType"] == "OperationOutcome", body
    issue = body["issue"][0]
    assert issue["severity"] == "error", issue
    for word in words:
        assert word in issue["diagnostics"], issue
    return issue


def ids(response: httpx.Response) -> list[str]:
    assert response.status_code == 200, response.text
    return sorted(entry["resource"]["id"] for entry in response.json().get("entry", []))


# --- the caps ------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def sample(server: ServerThread) -> ServerThread:
    """Two pathways, one with a description exactly as long as a search value may be."""
    with httpx.Client(base_url=server.base, headers=bearer()) as client:
        for resource_id, description in (("short", "Short pathway"), ("long", "d" * LIMITS.search_value_length)):
            resource = minimal_pathway(id=resource_id, description=description)
            assert client.put(f"/PlanDefinition/{resource_id}", json=resource).status_code in (200, 201)
    return server


def both(client: httpx.Client, params: list[tuple[str, str]]) -> Iterator[httpx.Response]:
    """The search as GET and as POST _search (a form body)."""
    yield client.get("/PlanDefinition", params=params)
    yield client.post("/PlanDefinition/_search", content=urlencode(params).encode(), headers=FORM)


OVER = {
    "parameters": ([("status", "active")] * (LIMITS.search_parameters + 1),
                   ("41 search parameters", "at most 40 search parameters", "HARMONISE_MAX_SEARCH_PARAMETERS")),
    "values": ([("_id", ",".join(f"x{i}" for i in range(LIMITS.search_values + 1)))],
               ("201 values", "at most 200 values", "HARMONISE_MAX_SEARCH_VALUES")),
    "values across parameters": ([("_id", ",".join(f"x{i}" for i in range(100)))] * 2 + [("status", "active")],
                                 ("201 values", "HARMONISE_MAX_SEARCH_VALUES")),
    "value length": ([("description", "d" * (LIMITS.search_value_length + 1))],
                     ("1,001 characters", "at most 1,000 characters", "HARMONISE_MAX_SEARCH_VALUE_LENGTH")),
    "name length": ([("d" * (LIMITS.search_value_length + 1), "x")],
                    ("a name of 1,001 characters", "HARMONISE_MAX_SEARCH_VALUE_LENGTH")),
}


@pytest.mark.parametrize("case", OVER)
def test_a_search_past_a_cap_is_refused_naming_the_limit(sample: ServerThread, client: httpx.Client,
                                                         case: str) -> None:
    params, words = OVER[case]
    for response in both(client, params):
        assert refused(response, 400, *words)["code"] == "too-costly"


def test_a_search_just_under_each_cap_is_answered(sample: ServerThread, client: httpx.Client) -> None:
    at_cap = [("status", "active"), ("title:contains", "pathway")] * (LIMITS.search_parameters // 2)
    started = time.monotonic()
    for response in both(client, at_cap):
        assert ids(response) == ["long", "short"]
    assert time.monotonic() - started < 10  # within the statement budget, twice over
    values = [("_id", ",".join(["short"] + [f"x{i}" for i in range(LIMITS.search_values - 1)]))]
    for response in both(client, values):
        assert ids(response) == ["short"]
    for response in both(client, [("description", "d" * LIMITS.search_value_length)]):
        assert ids(response) == ["long"]
    assert ids(client.get("/PlanDefinition", params={"_id": "short,long", "_count": "1" * 3, "_sort": "-_id"})) \
        == ["long", "short"]  # result parameters are not search parameters


def test_result_parameters_do_not_count_as_search_parameters(sample: ServerThread, client: httpx.Client) -> None:
    params = [("status", "active")] * LIMITS.search_parameters + [("_count", "5"), ("_sort", "_id"), ("_total", "none")]
    assert ids(client.get("/PlanDefinition", params=params)) == ["long", "short"]


def test_a_form_over_its_limit_is_refused_before_it_is_read(sample: ServerThread, client: httpx.Client) -> None:
    big = b"title=" + b"x" * LIMITS.form_bytes
    refused(client.post("/PlanDefinition/_search", content=big, headers=FORM), 413,
            "65,536 bytes", "HARMONISE_MAX_FORM_BYTES")

    def stream() -> Iterator[bytes]:  # no Content-Length: refused as it streams
        yield b"title="
        for _ in range(LIMITS.form_bytes // 1024 * 4):
            yield b"x" * 1024

    refused(client.post("/PlanDefinition/_search", content=stream(), headers=FORM), 413, "HARMONISE_MAX_FORM_BYTES")
    just_fits = b"status=active&title=" + b"x" * (LIMITS.form_bytes - len(b"status=active&title="))
    refused(client.post("/PlanDefinition/_search", content=just_fits, headers=FORM), 400,
            "HARMONISE_MAX_SEARCH_VALUE_LENGTH")  # read whole, then refused by the search's own caps


def test_a_form_with_more_fields_than_a_search_can_have_is_refused(sample: ServerThread,
                                                                   client: httpx.Client) -> None:
    many = b"&".join([b"a=1"] * 10_000)  # 40 KB: under the byte limit, far over any search's fields
    assert refused(client.post("/PlanDefinition/_search", content=many, headers=FORM), 400,
                   "more fields", "HARMONISE_MAX_SEARCH_PARAMETERS")["code"] == "too-costly"


# --- the statement timeout -----------------------------------------------------------------------


def fill(store: Store, count: int) -> None:
    """``count`` pathways with long descriptions, in one write."""
    rng = random.Random(19)
    words = ("follow", "review", "clinic", "nurse", "wound", "check", "phone", "visit")
    resources = []
    for index in range(count):
        resource = minimal_pathway(id=f"p{index:05d}", title=f"Pathway {index}",
                                   description=" ".join(rng.choice(words) for _ in range(WORDS)))
        resources.append((resource, resource["id"]))
    with store.write() as writer:
        writer.create_many(resources)


@pytest.fixture(scope="module", params=BACKENDS)
def filled(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A database holding FILLED pathways, enough that the HEAVY search takes far longer than 50 ms."""
    with database(request.param, tmp_path_factory.mktemp("filled")) as url:
        store = Store.open(url)
        fill(store, FILLED)
        store.close()
        yield url


@pytest.fixture
def timed(filled: str) -> Iterator[Store]:
    """The filled store, its reads cancelled after 20 ms."""
    store = Store.open(filled)
    time_statements(store.engine, 20, "HARMONISE_STATEMENT_TIMEOUT_MS")
    yield store
    store.close()


def slow_statement(store: Store) -> str:
    """A statement that runs for seconds unless cancelled."""
    if store.engine.dialect.name == "postgresql":
        return "SELECT pg_sleep(2)"
    return ("WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 1000000000) "
            "SELECT count(*) FROM c")


def assert_serving(store: Store) -> None:
    assert store.read("PlanDefinition", "p00007").version_id == 1
    assert store.search(parse_search("PlanDefinition", [("_id", "p00001,p00002")])).total == 2
    assert store.search(parse_search("PlanDefinition", [])).total == FILLED


def test_a_statement_past_the_timeout_is_cancelled_and_the_store_still_answers(timed: Store) -> None:
    started = time.monotonic()
    with pytest.raises(StatementTimeout) as raised, reading(timed.engine).connect() as connection:
        connection.execute(text(slow_statement(timed))).all()
    assert time.monotonic() - started < 1.5  # cancelled: it would have run for 2 s or more
    assert "20 ms" in raised.value.message and "HARMONISE_STATEMENT_TIMEOUT_MS" in raised.value.message
    assert_serving(timed)


def test_a_search_past_the_timeout_is_cancelled_and_changes_nothing(timed: Store) -> None:
    with pytest.raises(StatementTimeout):
        timed.search(parse_search("PlanDefinition", HEAVY))
    assert_serving(timed)
    with timed.write() as writer:
        assert writer.latest("PlanDefinition", "p00003") is not None


def test_each_statement_has_the_whole_timeout(timed: Store) -> None:
    """The deadline is the statement's, not the connection's: quick statements never run out of it."""
    with reading(timed.engine).connect() as connection:
        for _ in range(3):
            assert connection.execute(text("SELECT 1")).scalar_one() == 1
            time.sleep(0.05)  # longer than the timeout, between statements


def test_writes_are_not_timed(timed: Store) -> None:
    """A write's statements run to the end (see ``engine``): here the HEAVY search inside a write."""
    with timed.write() as writer:
        assert writer.search(parse_search("PlanDefinition", HEAVY)).total == 0
        writer.create(minimal_pathway(id="written-after-a-slow-search"), "written-after-a-slow-search")
    assert timed.read("PlanDefinition", "written-after-a-slow-search").version_id == 1
    with timed.write() as writer:
        writer.delete("PlanDefinition", "written-after-a-slow-search")


def test_the_server_serves_while_a_slow_search_is_cancelled(filled: str) -> None:
    security = dataclasses.replace(TEST_SECURITY, limits=RequestLimits(statement_timeout_ms=100))
    with (ServerThread(filled, security=security) as server,
          httpx.Client(base_url=server.base, timeout=60, headers=bearer()) as client):
        answers: list[httpx.Response] = []
        sent = threading.Event()

        def slow() -> None:
            with httpx.Client(base_url=server.base, timeout=60, headers=bearer()) as own:
                sent.set()
                answers.append(own.get("/PlanDefinition", params=HEAVY))

        searching = threading.Thread(target=slow)
        searching.start()
        sent.wait()
        during = []
        while searching.is_alive():
            during.append(client.get("/metadata").status_code)
        searching.join()
        assert during and set(during) == {200}, during
        issue = refused(answers[0], 503, "100 ms", "HARMONISE_STATEMENT_TIMEOUT_MS")
        assert issue["code"] == "too-costly"
        assert client.get("/PlanDefinition/p00001").status_code == 200
        assert ids(client.get("/PlanDefinition", params={"_id": "p00001,p00002"})) == ["p00001", "p00002"]


def test_a_request_that_finds_every_connection_in_use_is_told_to_retry(database_url: str) -> None:
    """The pool's wait ends in 503 with Retry-After, not 500: the server is busy, not broken."""
    store = Store.open(database_url, operator=None, pool=1)
    store.engine.pool._timeout = 0.2  # type: ignore[attr-defined]  # SQLAlchemy's wait, 30 s in service
    app = create_fhir_app(store, TEST_SECURITY)
    try:
        with TestClient(app, raise_server_exceptions=False) as http, store.engine.connect():  # the only connection
            response = http.get("/PlanDefinition/anything")
        assert response.status_code == 503 and response.headers["retry-after"] == "5"
        assert response.json()["issue"][0]["code"] == "transient"
        with TestClient(app) as http:  # the connection is back: the same request is answered
            assert http.get("/PlanDefinition/anything").status_code == 404
    finally:
        store.close()
