"""Fuzzing the FHIR API in-process, with a bounded budget: a fixed number of examples per test, about
a minute in all (600 generated requests, 200 examples for each property on each backend).

- schemathesis generates requests for every operation of the API's OpenAPI description (FastAPI's,
  which knows the paths, filled in here with the query parameters, headers, tokens and bodies the
  handlers read by hand), drawn by hypothesis;
- hypothesis strategies mutate a valid pathway, write random bytes as bodies, and search with random
  text, on SQLite and PostgreSQL.

Invariants after every request: no 500; every error is an OperationOutcome; a refused request
changes nothing stored; every version stored has exactly one Provenance.
"""

import copy
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Final

import pytest
import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select
from starlette.testclient import TestClient

from service.api import create_fhir_app
from service.fhirformat import to_json
from service.store import Store
from service.store.content import fingerprint
from service.store.schema import resource_version
from service.store.searchparams import REGISTRY

from .conftest import minimal_pathway
from .stores import BACKENDS, TEST_SECURITY, bearer, database

TYPES: Final = ("PlanDefinition", "MeasureReport", "Measure", "Organization", "Provenance", "OperationDefinition")
TOKENS: Final = {
    "lead": bearer()["Authorization"],
    "trust": bearer("system/*.read system/PlanDefinition.write", trust="RHQ")["Authorization"],
    "reader": bearer("system/*.read")["Authorization"],
}
BUDGET: Final = settings(max_examples=200, deadline=None, suppress_health_check=list(HealthCheck), database=None)
SEED: Final = minimal_pathway(id="seed")


@dataclass
class Fuzzed:
    """The FHIR app on a store holding one pathway, a client for it, and the store's row counts."""

    app: FastAPI
    store: Store
    client: TestClient

    def rows(self) -> tuple[int, int]:
        """(versions of resources, audit records)."""
        with self.store.engine.connect() as connection:
            audit = connection.execute(select(func.count()).where(resource_version.c.resource_type == "Provenance"))
            total = connection.execute(select(func.count()).select_from(resource_version))
            audited = audit.scalar_one()
            return total.scalar_one() - audited, audited


def fuzzed_api(url: str) -> Iterator[Fuzzed]:
    store = Store.open(url, operator=None)
    app = create_fhir_app(store, TEST_SECURITY)
    with TestClient(app, raise_server_exceptions=False) as client:
        seeded = client.put("/PlanDefinition/seed", json=SEED, headers={"Authorization": TOKENS["lead"]})
        assert seeded.status_code == 201
        yield Fuzzed(app, store, client)
    store.close()


@pytest.fixture(scope="module")
def on_sqlite(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Fuzzed]:
    yield from fuzzed_api(f"sqlite:///{tmp_path_factory.mktemp('fuzz') / 'store.db'}")


@pytest.fixture(scope="module", params=BACKENDS)
def on_each_store(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Fuzzed]:
    with database(request.param, tmp_path_factory.mktemp("fuzz")) as url:
        yield from fuzzed_api(url)


def check_answer(response: Any, before: tuple[int, int], after: tuple[int, int]) -> None:
    """The invariants of every answer."""
    assert response.status_code < 500, response.text
    if response.status_code >= 400:
        assert response.json()["resourceType"] == "OperationOutcome", response.text
        assert after == before, "a refused request changed the store"
    assert after[0] == after[1], "a version was stored without its audit record"


# --- schemathesis ------------------------------------------------------------------------------------

_ANY_RESOURCE: Final = {
    "type": "object",
    "properties": {"resourceType": {"enum": [*TYPES, "Bundle", "Patient"]}, "id": {"type": "string"},
                   "status": {"type": "string"}, "title": {"type": "string"}},
    "required": ["resourceType"],
}
_BUNDLE: Final = {
    "type": "object",
    "properties": {
        "resourceType": {"const": "Bundle"}, "type": {"enum": ["transaction", "batch"]},
        "entry": {"type": "array", "maxItems": 3, "items": {"type": "object", "properties": {
            "fullUrl": {"type": "string"}, "resource": _ANY_RESOURCE,
            "request": {"type": "object", "properties": {"method": {"enum": ["POST", "PUT", "DELETE", "GET"]},
                                                         "url": {"type": "string"}, "ifMatch": {"type": "string"}}},
        }}},
    },
    "required": ["resourceType"],
}
_SEARCH: Final = ("title", "title:contains", "_id", "url", "trust", "date", "_lastUpdated", "_count", "_offset",
                  "_sort", "_total", "_summary", "_elements", "_format", "target", "agent", "topic", "fromVersion",
                  "from", "to", "as-of")


def _parameter(name: str, where: str, schema: dict, required: bool = False) -> dict:
    return {"name": name, "in": where, "required": required, "schema": schema}


def fuzzing_schema(app: FastAPI) -> dict:
    """The app's OpenAPI description, with what the handlers read from the raw request described too."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # duplicate operation ids of routes serving GET and POST alike
        schema = copy.deepcopy(app.openapi())
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            parameters = operation.setdefault("parameters", [])
            for parameter in parameters:
                if parameter["name"] == "resource_type":
                    parameter["schema"] = {"anyOf": [{"enum": list(TYPES)}, {"type": "string"}]}
            parameters.append(_parameter("Authorization", "header", {"enum": list(TOKENS.values())}, required=True))
            parameters.append(_parameter("If-Match", "header", {"type": "string"}))
            parameters.append(_parameter("Accept", "header", {"enum": ["application/fhir+json",
                                                                       "application/fhir+xml", "text/html", "*/*"]}))
            if method == "get":
                parameters += [_parameter(name, "query", {"type": "string"}) for name in _SEARCH]
            if method in ("post", "put") and not path.endswith("_search"):
                body = _BUNDLE if path == "/" else _ANY_RESOURCE
                operation["requestBody"] = {"content": {"application/fhir+json": {"schema": body}}}
    return schema


@pytest.fixture(scope="module")
def generated_requests(on_sqlite: Fuzzed) -> st.SearchStrategy:
    """Requests to any operation of the API, as schemathesis generates them from its description."""
    loaded = schemathesis.openapi.from_dict(fuzzing_schema(on_sqlite.app))
    loaded.app = on_sqlite.app
    return st.one_of([result.ok().as_strategy() for result in loaded.get_all_operations()])


@given(data=st.data())
@settings(max_examples=600, deadline=None, suppress_health_check=list(HealthCheck), database=None)
def test_no_generated_request_breaks_the_api(on_sqlite: Fuzzed, generated_requests: st.SearchStrategy,
                                            data: st.DataObject) -> None:
    case = data.draw(generated_requests)
    before = on_sqlite.rows()
    response = case.call()
    check_answer(response, before, on_sqlite.rows())


# --- hypothesis: pathways, bodies, searches -------------------------------------------------------------

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=3),
    max_leaves=8,
)


def _paths(node: Any, prefix: tuple = ()) -> list[tuple]:
    """Every path to a value in a JSON tree (keys and list indexes)."""
    found = [prefix] if prefix else []
    items = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else ()
    for key, child in items:
        found += _paths(child, (*prefix, key))
    return found


@st.composite
def mutated_pathways(draw: st.DrawFn) -> dict:
    """The seed pathway with one to three elements replaced, removed or added."""
    pathway = copy.deepcopy(SEED)
    for _ in range(draw(st.integers(1, 3))):
        path = draw(st.sampled_from(_paths(pathway)))
        parent = pathway
        for key in path[:-1]:
            parent = parent[key]
        action = draw(st.sampled_from(["replace", "remove", "add"]))
        if action == "replace":
            parent[path[-1]] = draw(json_values)
        elif action == "remove" and path != ("resourceType",):
            del parent[path[-1]]
        elif isinstance(parent, dict):
            parent[draw(st.text(min_size=1, max_size=12))] = draw(json_values)
    pathway["id"] = "seed"
    return pathway


@given(pathway=mutated_pathways(), who=st.sampled_from(["lead", "trust"]))
@BUDGET
def test_a_mutated_pathway_is_stored_exactly_or_refused_changing_nothing(on_each_store: Fuzzed, pathway: dict,
                                                                       who: str) -> None:
    client = on_each_store.client
    before = on_each_store.rows()
    try:
        body = to_json(pathway)
    except (TypeError, ValueError):
        return  # not JSON at all (a non-string key); the raw-bytes test covers such bodies
    response = client.put("/PlanDefinition/seed", content=body, headers={
        "Authorization": TOKENS[who], "Content-Type": "application/fhir+json"})
    check_answer(response, before, on_each_store.rows())
    if response.status_code < 300:
        stored = client.get("/PlanDefinition/seed").json()
        assert fingerprint({**stored, "id": "seed"}) == fingerprint({**pathway, "id": "seed"})


@given(body=st.binary(max_size=300) | st.text(max_size=300).map(str.encode),
       content_type=st.sampled_from(["application/fhir+json", "application/fhir+xml", "application/json",
                                     "text/plain", "application/x-www-form-urlencoded", ""]),
       target=st.sampled_from(["PUT /PlanDefinition/seed", "POST /PlanDefinition", "POST /",
                               "POST /PlanDefinition/$validate", "POST /PlanDefinition/_search",
                               "POST /PlanDefinition/$compare"]))
@BUDGET
def test_random_bodies_are_refused_without_changing_anything(on_each_store: Fuzzed, body: bytes, content_type: str,
                                                             target: str) -> None:
    method, path = target.split(" ")
    before = on_each_store.rows()
    headers = {"Authorization": TOKENS["lead"]} | ({"Content-Type": content_type} if content_type else {})
    response = on_each_store.client.request(method, path, content=body, headers=headers)
    check_answer(response, before, on_each_store.rows())


search_text = st.text(max_size=30) | st.sampled_from(["' OR 1=1 --", "%", "_", "\\", "ge2025-01-01", "eq", "|",
                                                       "a|b|c", "-title", "PlanDefinition/seed", "\\,"])


@given(resource_type=st.sampled_from(sorted(REGISTRY)), data=st.data())
@BUDGET
def test_random_searches_answer_a_bundle_or_an_outcome(on_each_store: Fuzzed, resource_type: str,
                                                       data: st.DataObject) -> None:
    names = sorted(REGISTRY[resource_type]) + ["_count", "_offset", "_sort", "_total", "_snapshot", "unknown"]
    name = data.draw(st.sampled_from(names)) + data.draw(st.sampled_from(["", ":missing", ":exact", ":not",
                                                                          ":contains", ":below", ":x"]))
    params = [(name, data.draw(search_text)) for _ in range(data.draw(st.integers(1, 3)))]
    before = on_each_store.rows()
    response = on_each_store.client.get(f"/{resource_type}", params=params, headers={
        "Authorization": TOKENS["reader"], "Prefer": data.draw(st.sampled_from(["", "handling=strict"]))})
    check_answer(response, before, on_each_store.rows())
    assert response.status_code in (200, 400), response.text
    assert response.json()["resourceType"] == ("Bundle" if response.status_code == 200 else "OperationOutcome")


def test_after_fuzzing_the_store_still_serves_and_every_version_is_audited(on_each_store: Fuzzed) -> None:
    assert on_each_store.client.get("/metadata").status_code == 200
    current = on_each_store.client.get("/PlanDefinition/seed")
    assert current.status_code in (200, 410)
    versions, audited = on_each_store.rows()
    assert versions == audited

