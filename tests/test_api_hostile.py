"""Hostile and malformed requests, on SQLite and PostgreSQL: each gets a clear OperationOutcome, changes
nothing that is stored, and leaves the server serving."""

import dataclasses
import socket
import time
from collections.abc import Iterator

import httpx
import pytest

from service import fhirformat

from .conftest import minimal_pathway
from .stores import BACKENDS, TEST_SECURITY, ServerThread, bearer, database

LIMIT = 256 * 1024
SENTINEL = minimal_pathway(id="sentinel", title="Sentinel pathway")
JSON = {"Content-Type": "application/fhir+json"}
XML = {"Content-Type": "application/fhir+xml"}
CANARY = "harmonise-canary-7c1e"


@pytest.fixture(scope="module", params=BACKENDS)
def hostile(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[httpx.Client]:
    """A server (bodies limited to 256 KiB) holding one sentinel pathway, and a network lead's client."""
    settings = dataclasses.replace(TEST_SECURITY, max_body_bytes=LIMIT)
    with (database(request.param, tmp_path_factory.mktemp("hostile")) as url,
          ServerThread(url, security=settings) as server,
          httpx.Client(base_url=server.base, timeout=30, headers=bearer()) as client):
        assert client.put("/PlanDefinition/sentinel", json=SENTINEL).status_code == 201
        yield client


@pytest.fixture
def unchanged(hostile: httpx.Client) -> Iterator[httpx.Client]:
    """After the test: the sentinel as it was, no other pathway, one audit record, and the server serving."""
    yield hostile
    assert hostile.get("/metadata").status_code == 200
    sentinel = hostile.get("/PlanDefinition/sentinel").json()
    assert sentinel["meta"]["versionId"] == "1" and sentinel["title"] == SENTINEL["title"]
    assert hostile.get("/PlanDefinition", params={"_summary": "count"}).json()["total"] == 1
    assert hostile.get("/PlanDefinition/_history", params={"_summary": "count"}).json()["total"] == 1
    assert hostile.get("/Provenance", params={"_summary": "count"}).json()["total"] == 1


def refused(response: httpx.Response, status: int, words: str = "") -> dict:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["resourceType"] == "OperationOutcome", body
    issue = body["issue"][0]
    assert issue["severity"] == "error" and words in issue["diagnostics"], issue
    return issue


def pathway_json(title: str) -> bytes:
    return fhirformat.to_json(minimal_pathway(id="sentinel", title="@@")).replace(b'"@@"', title.encode())


# --- bodies --------------------------------------------------------------------------------------------


def test_a_body_over_the_limit_is_refused_before_it_is_read(unchanged: httpx.Client) -> None:
    big = b'{"resourceType": "PlanDefinition", "title": "' + b"x" * (LIMIT * 4) + b'"}'
    refused(unchanged.put("/PlanDefinition/sentinel", content=big, headers=JSON), 413, "larger than")

    def stream() -> Iterator[bytes]:
        yield b'{"resourceType": "Bundle", "type": "transaction", "entry": ['
        for _ in range(LIMIT // 1024 * 8):
            yield b" " * 1024

    started = time.monotonic()
    refused(unchanged.post("/", content=stream(), headers=JSON), 413, "larger than")  # chunked, no length
    refused(unchanged.post("/PlanDefinition/_search", content=b"title=" + b"x" * LIMIT * 2,
                           headers={"Content-Type": "application/x-www-form-urlencoded"}), 413)
    assert time.monotonic() - started < 10


@pytest.mark.parametrize(("body", "headers", "words"), [
    (b'{"resourceType": "PlanDefinition", "a": ' + b"[" * 5000 + b"]" * 5000 + b"}", JSON, "nested"),
    (b'{"resourceType": "PlanDefinition", "title": "caf\xe9"}', JSON, "not UTF-8"),
    (pathway_json('"null \\u0000 byte"'), JSON, "control character"),
    (pathway_json('"half a character \\ud800"'), JSON, "lone surrogate"),
    (pathway_json("9" * 5000), JSON, "has 5000 digits before the decimal point; FHIR allows at most 18"),
    (b'{"resourceType": "PlanDefinition", "status": "draft", "status": "active"}', JSON, "appears twice"),
    (b'[{"resourceType": "PlanDefinition"}]', JSON, "top level"),
    (b'{"resourceType": "PlanDefinition", "title": NaN}', JSON, "not valid JSON"),
    (fhirformat.to_xml(SENTINEL), JSON, "not valid JSON"),
    (b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;">'
     b'<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]><PlanDefinition xmlns="http://hl7.org/fhir">'
     b'<title value="&lol3;"/></PlanDefinition>', XML, "DOCTYPE"),
    (b'<PlanDefinition xmlns="http://hl7.org/fhir">' + b'<extension url="x">' * 300 + b"</extension>" * 300
     + b"</PlanDefinition>", XML, "not well-formed"),
    (b'<PlanDefinition xmlns="http://example.org/not-fhir"><status value="draft"/></PlanDefinition>', XML,
     "not in the FHIR namespace"),
    (b"\x89PNG\r\n\x1a\n\x00\x00", XML, "not well-formed"),
])
def test_unreadable_bodies_are_refused_with_400(unchanged: httpx.Client, body: bytes, headers: dict,
                                                words: str) -> None:
    for response in (unchanged.put("/PlanDefinition/sentinel", content=body, headers=headers),
                     unchanged.post("/PlanDefinition", content=body, headers=headers)):
        assert refused(response, 400, words)["code"] == "structure"


def test_external_entities_are_never_fetched_or_read(unchanged: httpx.Client, tmp_path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text(CANARY)
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(1)
        listener.settimeout(0.5)
        port = listener.getsockname()[1]
        for system in (f"file://{secret}", f"http://127.0.0.1:{port}/entity", str(secret)):
            for declaration in (f'<!DOCTYPE PlanDefinition [<!ENTITY e SYSTEM "{system}">]>',
                                f'<!DOCTYPE PlanDefinition SYSTEM "{system}">',
                                f'<!DOCTYPE PlanDefinition [<!ENTITY % p SYSTEM "{system}"> %p;]>'):
                body = (f'<?xml version="1.0"?>{declaration}<PlanDefinition xmlns="http://hl7.org/fhir">'
                        '<status value="draft"/><title value="&e;"/></PlanDefinition>').encode()
                response = unchanged.put("/PlanDefinition/sentinel", content=body, headers=XML)
                refused(response, 400, "DOCTYPE")
                assert CANARY not in response.text
        with pytest.raises(TimeoutError):
            listener.accept()  # nothing ever asked for the entity


@pytest.mark.parametrize(("content_type", "status"), [
    ("text/plain", 415), ("multipart/form-data; boundary=x", 415), ("application/x-www-form-urlencoded", 415),
    ("application/octet-stream", 415), ("application/fhir+xml", 400),
])
def test_wrong_content_types_are_refused(unchanged: httpx.Client, content_type: str, status: int) -> None:
    body = fhirformat.to_json(SENTINEL | {"title": "Changed"})
    refused(unchanged.put("/PlanDefinition/sentinel", content=body, headers={"Content-Type": content_type}), status)


def test_a_resource_that_disagrees_with_the_url_is_refused(unchanged: httpx.Client) -> None:
    refused(unchanged.put("/PlanDefinition/sentinel", json=SENTINEL | {"id": "other", "title": "x"}), 400,
            "must match the id in the URL")
    refused(unchanged.put("/PlanDefinition/sentinel", json=SENTINEL | {"resourceType": "Measure"}), 400,
            "is a Measure")
    refused(unchanged.post("/Measure", json=SENTINEL), 400, "is a PlanDefinition")
    bundle = {"resourceType": "Bundle", "type": "transaction", "entry": [
        {"resource": SENTINEL | {"id": "elsewhere", "title": "x"}, "request": {"method": "PUT",
                                                                              "url": "PlanDefinition/sentinel"}}]}
    refused(unchanged.post("/", json=bundle), 400, "must match")


# --- URLs ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("method", "path", "status"), [
    ("GET", "/PlanDefinition/..%2F..%2F..%2Fetc%2Fpasswd", 404),
    ("PUT", "/PlanDefinition/..%2Fsentinel", 404),
    ("GET", "/PlanDefinition/%2E%2E", 400),
    ("PUT", "/PlanDefinition/%2E%2E", 400),
    ("DELETE", "/PlanDefinition/%2E", 400),
    ("GET", "/PlanDefinition/sentinel%00.json", 400),
    ("GET", "/PlanDefinition/" + "a" * 65, 400),
    ("GET", "/PlanDefinition/sentinel/_history/99999999999999999999999", 404),
    ("GET", "/PlanDefinition/sentinel/_history/%C2%B2", 404),
    ("GET", "/Patient/1", 404),
    ("POST", "/Patient", 404),
    ("GET", "/..%2F..%2Fetc/passwd", 404),
    ("PATCH", "/PlanDefinition/sentinel", 405),
])
def test_hostile_urls_are_refused(unchanged: httpx.Client, method: str, path: str, status: int) -> None:
    url = httpx.URL(str(unchanged.base_url).rstrip("/")).copy_with(raw_path=b"/fhir" + path.encode())
    response = unchanged.request(method, url, content=fhirformat.to_json(SENTINEL | {"title": "x"}), headers=JSON)
    refused(response, status)


def test_the_transaction_refuses_hostile_entries(unchanged: httpx.Client) -> None:
    def entry_result(request: dict, resource: dict | None = None) -> httpx.Response:
        item: dict = {"request": request} | ({"resource": resource} if resource else {})
        return unchanged.post("/", json={"resourceType": "Bundle", "type": "transaction", "entry": [item]})

    refused(entry_result({"method": "DELETE", "url": "PlanDefinition/../sentinel"}), 400)
    refused(entry_result({"method": "DELETE", "url": "Patient/1"}), 404)
    refused(entry_result({"method": "PUT", "url": "PlanDefinition/sentinel", "ifMatch": 'W/"²"'}, SENTINEL), 400)
    refused(entry_result({"method": "GET", "url": "PlanDefinition/sentinel"}), 400)
    refused(unchanged.post("/", json={"resourceType": "Bundle", "type": "transaction", "entry": {"a": 1}}), 400,
            "must be a list")


# --- searches ------------------------------------------------------------------------------------------

INJECTIONS = ("' OR '1'='1", "'; DROP TABLE resource_version; --", "\" OR 1=1 --", "%", "_", "\\", "%' OR 'a' LIKE '%",
              "1) OR (1=1", "' UNION SELECT content FROM resource_version --", "sentinel' --")


@pytest.mark.parametrize("value", INJECTIONS)
def test_sql_metacharacters_in_searches_are_only_text(unchanged: httpx.Client, value: str) -> None:
    for name in ("title", "title:contains", "title:exact", "_id", "url", "url:below", "trust", "identifier",
                 "publisher", "status:not"):
        response = unchanged.get("/PlanDefinition", params={name: value})
        assert response.status_code == 200, (name, response.text)
        found = [entry["resource"]["id"] for entry in response.json().get("entry", [])]
        assert found == (["sentinel"] if name == "status:not" else []), (name, value)
    for name in ("date", "_lastUpdated", "_count", "_offset", "_sort", "_total"):
        refused(unchanged.get("/PlanDefinition", params={name: value}), 400)
    assert unchanged.post("/PlanDefinition/_search", data={"title": value}).status_code == 200


@pytest.mark.parametrize("params", [
    {"title": "null\x00byte"}, {"title\x00": "x"}, {"_offset": "9" * 40}, {"_snapshot": "9" * 40},
    {"_count": "9" * 5000}, {"date": "ge" + "9" * 40},
])
def test_unusual_search_values_get_an_answer_not_an_error(unchanged: httpx.Client, params: dict) -> None:
    response = unchanged.get("/PlanDefinition", params=params)
    assert response.status_code in (200, 400), response.text
    assert response.json()["resourceType"] in ("Bundle", "OperationOutcome")
