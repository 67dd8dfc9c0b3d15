"""Hostile requests against a real ``harmonise serve`` process, on SQLite and PostgreSQL (issue #19).

Each request the issue found freezing the server, failing with 500 or running unbounded is sent
again, with each Accept, and must get a 4xx (or a bounded 503) within its budget, while
``/fhir/metadata`` goes on answering at once; afterwards nothing stored has changed. Then
schemathesis generates requests from the server's own OpenAPI description (``/fhir/openapi.json``)
and none may get a 5xx. Bounded: a fixed list, a fixed number of generated requests, each with a
timeout; about half a minute per backend.
"""

import copy
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Final

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from service import fhirformat

from .conftest import minimal_pathway
from .stores import BACKENDS, bearer, database, serve_process

#: A request that takes longer than this is a hang as far as the client is concerned (the statement
#: timeout is 10 s by default; everything refused by a cap answers in milliseconds).
BUDGET_SECONDS: Final = 15
#: /fhir/metadata must answer within this while hostile requests run beside it.
METADATA_SECONDS: Final = 5
ACCEPTS: Final = ("application/fhir+json", "application/fhir+xml")
SENTINEL: Final = minimal_pathway(id="sentinel", title="Sentinel pathway")
#: A pathway of more actions than $diff compares by default (2,000), stored in two versions.
WIDE_ACTIONS: Final = 2_500


def wide_pathway(shift: int) -> dict:
    pathway = minimal_pathway(id="wide", title="Wide pathway")
    step = pathway["action"][1]
    pathway["action"] = [dict(copy.deepcopy(step), id=f"s{i}", timingDuration={
        "value": i + shift, "unit": "d", "system": "http://unitsofmeasure.org", "code": "d"})
        for i in range(WIDE_ACTIONS)]
    return pathway


def with_number(number: str) -> bytes:
    """The sentinel with its first step's duration written as ``number``, exactly as given."""
    text = fhirformat.to_json(SENTINEL, pretty=False)
    return text.replace(b'"timingDuration":{"value":10,', b'"timingDuration":{"value":' + number.encode() + b",", 1)


def xml_with_number(number: str) -> bytes:
    xml = fhirformat.to_xml(SENTINEL)
    return xml.replace(b'<value value="10"/>', f'<value value="{number}"/>'.encode(), 1)


HOSTILE_NUMBERS: Final = ("1e999999999", "1e400", "-1e400", "9" * 4000, "1." + "1" * 5000)
JSON_BODY: Final = {"content-type": "application/fhir+json"}
XML_BODY: Final = {"content-type": "application/fhir+xml"}


def hostile_requests() -> Iterator[tuple[str, str, str, dict]]:
    """(what, method, path, httpx keyword arguments) of every reproduction in the issue."""
    for number in HOSTILE_NUMBERS:
        label = number if len(number) < 20 else f"{len(number)}-character number"
        for method, path in (("PUT", "PlanDefinition/sentinel"), ("POST", "PlanDefinition"),
                             ("POST", "PlanDefinition/$validate")):
            yield f"{label} by {method} {path}", method, path, {"content": with_number(number), "headers": JSON_BODY}
    yield "an XML value of 100,000 digits", "PUT", "PlanDefinition/sentinel", {
        "content": xml_with_number("7" * 100_000), "headers": XML_BODY}
    yield "a control character as an id", "GET", "PlanDefinition/%01", {}
    yield "a control character as a type", "GET", "%14", {}
    yield "a control character in _summary", "GET", "PlanDefinition?_summary=%10", {}
    yield "1,000 AND-ed parameters", "GET", "PlanDefinition?" + "&".join(["title=a"] * 1000), {}
    yield "5,000 OR-ed values", "GET", "PlanDefinition?title=" + ",".join(["a"] * 5000), {}
    yield "a 60,000-character string", "GET", "PlanDefinition?title=" + "a" * 60_000, {}
    for count in (100, 150, 200, 500):
        names = [f"title=t{i}" for i in range(count)]
        yield f"{count} search parameters", "GET", "PlanDefinition?" + "&".join(names), {}
    yield "200 copies of one pathway in $compare", "GET", "PlanDefinition/$compare?" + "&".join(
        ["pathway=PlanDefinition/sentinel"] * 200), {}
    yield "$compare of a url|version", "GET", "PlanDefinition/$compare", {
        "params": {"pathway": f"{SENTINEL['url']}|{SENTINEL['version']}"}}
    yield "$diff of two versions wider than its budget", "GET", "PlanDefinition/wide/$diff?fromVersion=1", {}
    yield "a 5 MB form to _search", "POST", "PlanDefinition/_search", {
        "content": b"&".join([b"title=a"] * 700_000), "headers": {"content-type": "application/x-www-form-urlencoded"}}


HOSTILE: Final = list(hostile_requests())


class Watchdog(threading.Thread):
    """Asks for /fhir/metadata over and over while the test runs, keeping the slowest answer."""

    def __init__(self, base: str) -> None:
        super().__init__(daemon=True)
        self.base, self.slowest = base, 0.0
        self.failures: list[str] = []
        self.stopping = threading.Event()

    def run(self) -> None:
        with httpx.Client(timeout=30) as client:
            while not self.stopping.is_set():
                started = time.perf_counter()
                try:
                    status = client.get(f"{self.base}/metadata").status_code
                except httpx.HTTPError as exc:
                    self.failures.append(repr(exc))
                else:
                    if status != 200:
                        self.failures.append(f"metadata answered {status}")
                self.slowest = max(self.slowest, time.perf_counter() - started)
                self.stopping.wait(0.2)


@pytest.fixture(scope="module", params=BACKENDS)
def served(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A ``harmonise serve`` process holding the sentinel and the wide pathway (two versions each)."""
    folder = tmp_path_factory.mktemp("adversarial")
    empty = Path(folder / "empty")
    empty.mkdir()
    with database(request.param, folder) as url, serve_process(url, empty, empty) as base:
        with httpx.Client(base_url=base, timeout=60, headers=bearer()) as client:
            assert client.put("PlanDefinition/sentinel", json=SENTINEL).status_code == 201
            for shift in (0, 1):
                assert client.put("PlanDefinition/wide", json=wide_pathway(shift)).status_code in (200, 201)
        yield base


def stored_state(base: str) -> dict[str, object]:
    """What must not change: each resource's current version and the whole history's length."""
    with httpx.Client(base_url=base, timeout=60, headers=bearer()) as client:
        return {
            "sentinel": client.get("PlanDefinition/sentinel").json()["meta"]["versionId"],
            "wide": client.get("PlanDefinition/wide").json()["meta"]["versionId"],
            "versions": client.get("PlanDefinition/_history", params={"_summary": "count"}).json()["total"],
            "audit": client.get("Provenance", params={"_summary": "count"}).json()["total"],
        }


@pytest.mark.parametrize("accept", ACCEPTS)
def test_every_hostile_request_is_refused_cleanly_within_its_budget(served: str, accept: str) -> None:
    before = stored_state(served)
    watchdog = Watchdog(served)
    watchdog.start()
    answers: list[tuple[str, int, float]] = []
    try:
        with httpx.Client(base_url=served, timeout=BUDGET_SECONDS, headers=bearer()) as client:
            for what, method, path, arguments in HOSTILE:
                headers = {**arguments.get("headers", {}), "accept": accept}
                started = time.perf_counter()
                response = client.request(method, path, **{**arguments, "headers": headers})
                elapsed = time.perf_counter() - started
                answers.append((what, response.status_code, elapsed))
                assert response.status_code < 500 or response.status_code == 503, (what, response.text[:500])
                if response.status_code >= 400:  # every refusal is an OperationOutcome in the format asked for
                    parsed = (fhirformat.parse_xml(response.content) if "xml" in accept
                              else fhirformat.parse_json(response.content))
                    assert parsed["resourceType"] == "OperationOutcome", what
    finally:
        watchdog.stopping.set()
        watchdog.join()
    refused = {what for what, status, _ in answers if status >= 400}
    assert {what for what, *_ in HOSTILE if "number" in what or "digits" in what or "1e" in what} <= refused
    assert watchdog.failures == [] and watchdog.slowest < METADATA_SECONDS, watchdog.failures
    assert stored_state(served) == before


def test_the_host_header_is_never_echoed(served: str) -> None:
    with httpx.Client(base_url=served, timeout=BUDGET_SECONDS, headers={"host": "evil.example"}) as client:
        for path in ("PlanDefinition", "PlanDefinition/_history", "", "/"):
            response = client.get(path)
            assert response.status_code < 500
            assert "evil.example" not in response.text and "evil.example" not in str(response.headers), path


#: Generated requests per backend: enough to reach every operation many times, bounded in time.
GENERATED: Final = 300


def test_no_request_generated_from_the_served_openapi_description_gets_a_5xx(served: str) -> None:
    description = httpx.get(f"{served}/openapi.json", timeout=BUDGET_SECONDS)
    assert description.status_code == 200 and description.json()["paths"]
    schema = schemathesis.openapi.from_dict(description.json())
    requests = st.one_of([result.ok().as_strategy() for result in schema.get_all_operations()])
    before = stored_state(served)
    failures: list[str] = []

    @given(case=requests)
    @settings(max_examples=GENERATED, deadline=None, suppress_health_check=list(HealthCheck), database=None)
    def generated(case: schemathesis.Case) -> None:
        response = case.call(base_url=served, timeout=BUDGET_SECONDS)
        if response.status_code >= 500 and response.status_code != 503:
            failures.append(f"{case.method} {case.formatted_path} {case.query}: {response.status_code} "
                            f"{response.text[:300]}")

    generated()
    assert failures == []
    assert stored_state(served) == before  # no token was sent: nothing could be written
