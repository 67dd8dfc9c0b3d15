"""Each operation's input parameters: one model, read alike from a query and a Parameters body, and the
OperationDefinition written from it."""

import importlib
import pkgutil
from collections.abc import Iterator
from datetime import date
from typing import Any, Final, get_origin

import pytest
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute
from starlette.requests import Request

import service.api
from service.api.outcomes import FhirError
from service.api.parameters import (
    ApplyParameters,
    ApproveParameters,
    CompareParameters,
    DraftParameters,
    OperationInputs,
    OperationParameters,
    ReleaseParameters,
    SignalsParameters,
    operation_parameters,
    parse,
)
from service.api.registry import OPERATION_DEFINITIONS, RESOURCES, SYSTEM_OPERATIONS, Operation

pytestmark = pytest.mark.fast

#: The ``in`` parameters each OperationDefinition has published (name, type, min, max), written out by hand.
PUBLISHED: Final = {
    "PlanDefinition-compare": [("topic", "string", 0, "*"), ("pathway", "string", 0, "*"), ("as-of", "date", 0, "1")],
    "Resource-diff": [("fromVersion", "string", 0, "1"), ("toVersion", "string", 0, "1"), ("from", "string", 0, "1"),
                      ("to", "string", 0, "1")],
    "signals": [("as-of", "date", 0, "1")],
    "PlanDefinition-apply": [("subject", "string", 1, "1"), ("indexDate", "date", 1, "1")],
    "PlanDefinition-package": [],
    "PlanDefinition-draft": [("version", "string", 1, "1")],
    "PlanDefinition-approve": [("approvalDate", "date", 0, "1"), ("artifactAssessmentSummary", "markdown", 0, "1"),
                               ("artifactAssessmentAuthor", "string", 0, "1")],
    "PlanDefinition-release": [("reviewBy", "date", 0, "1")],
    "PlanDefinition-retire": [],
}


def _own_operations() -> dict[str, Operation]:
    """Every operation the CapabilityStatement lists with a model of its inputs, by OperationDefinition id."""
    listed = {operation for support in RESOURCES.values() for operation in support.operations}
    return {operation.definition.rsplit("/", 1)[1]: operation for operation in listed | set(SYSTEM_OPERATIONS)
            if operation.inputs is not None}


def _in_parameters(definition: dict[str, Any]) -> list[dict[str, Any]]:
    return [parameter for parameter in definition["parameter"] if parameter["use"] == "in"]


def test_every_operation_listed_with_a_model_has_a_definition_and_no_other() -> None:
    assert set(_own_operations()) == set(OPERATION_DEFINITIONS) == set(PUBLISHED)


@pytest.mark.parametrize("definition_id", sorted(PUBLISHED))
def test_each_definition_lists_its_models_fields(definition_id: str) -> None:
    model = _own_operations()[definition_id].inputs
    assert model is not None
    expected = [(field.alias or name, 1 if field.is_required() else 0,
                 "*" if get_origin(field.annotation) is tuple else "1", field.description)
                for name, field in model.model_fields.items()]
    got = [(p["name"], p["min"], p["max"], p["documentation"])
           for p in _in_parameters(OPERATION_DEFINITIONS[definition_id])]
    assert got == expected


@pytest.mark.parametrize("definition_id", sorted(PUBLISHED))
def test_each_definition_publishes_the_parameters_it_always_has(definition_id: str) -> None:
    definition = OPERATION_DEFINITIONS[definition_id]
    got = [(p["name"], p["type"], p["min"], p["max"]) for p in _in_parameters(definition)]
    assert got == PUBLISHED[definition_id]
    (returned,) = (p for p in definition["parameter"] if p["use"] == "out")
    assert (returned["name"], returned["min"], returned["max"]) == ("return", 1, "1")


def test_a_definitions_levels_are_where_the_capability_statement_lists_it() -> None:
    assert [d["id"] for d in OPERATION_DEFINITIONS.values() if d["system"]] == ["Resource-diff", "signals"]
    assert OPERATION_DEFINITIONS["signals"]["resource"] == []
    assert {d["id"] for d in OPERATION_DEFINITIONS.values() if d["resource"] == ["PlanDefinition"]} == (
        set(PUBLISHED) - {"signals"})


def _given(dependant: Dependant) -> Iterator[OperationInputs]:
    for dependency in dependant.dependencies:
        if isinstance(dependency.call, OperationInputs):
            yield dependency.call
        yield from _given(dependency)


def _operation_routes() -> Iterator[tuple[str, APIRoute]]:
    """Every route of the FHIR API whose path ends in an operation (``$name``), with that name."""
    for module in pkgutil.iter_modules(service.api.__path__):
        router = getattr(importlib.import_module(f"service.api.{module.name}"), "router", None)
        for route in getattr(router, "routes", ()):
            if isinstance(route, APIRoute) and "/$" in route.path:
                yield route.path.rsplit("$", 1)[1], route


def test_each_route_of_an_operation_is_given_its_model() -> None:
    own = {operation.name: operation for operation in _own_operations().values()}
    seen = set()
    for name, route in _operation_routes():
        given = [reader.operation for reader in _given(route.dependant)]
        if name not in own:  # one HL7 defines ($validate, $expand...): its route reads its own
            assert given == [], route.path
        else:
            assert given == [own[name]], route.path
            seen.add(name)
    assert seen == set(own)


def _request(query: bytes = b"") -> Request:
    return Request({"type": "http", "method": "POST", "path": "/", "query_string": query, "headers": []})


def test_a_query_and_a_parameters_body_give_the_same_parameters() -> None:
    query = operation_parameters(_request(b"topic=a&topic=b&as-of=2026-11-22&_format=json"), b"")
    body = operation_parameters(_request(b"_format=json"), b"""{"resourceType": "Parameters", "parameter": [
        {"name": "topic", "valueString": "a"}, {"name": "topic", "valueCode": "b"},
        {"name": "as-of", "valueDate": "2026-11-22"}]}""")
    from_query, from_body = parse(CompareParameters, "compare", query), parse(CompareParameters, "compare", body)
    assert from_query == from_body
    assert (from_query.topic, from_query.pathway, from_query.as_of) == (("a", "b"), (), date(2026, 11, 22))


def test_defaults_and_values_sent_empty() -> None:
    approval = parse(ApproveParameters, "approve", [("artifactAssessmentAuthor", "Dr Ngozi Adeyemi")])
    assert (approval.approval_date, approval.author, approval.summary) == (date.today(), "Dr Ngozi Adeyemi", None)
    assert parse(ReleaseParameters, "release", [("reviewBy", ""), ("reviewBy", None)]).review_by is None
    assert parse(CompareParameters, "compare", [("topic", "tia-follow-up"), ("as-of", "")]).as_of == date.today()
    assert parse(SignalsParameters, "signals", [("as-of", "")]).as_of == date.today()


def _refused(model: type[OperationParameters], operation: str, pairs: list[tuple[str, Any]]) -> list[tuple[str, str]]:
    with pytest.raises(FhirError) as raised:
        parse(model, operation, pairs)
    assert raised.value.status == 400
    return [(issue["code"], issue["diagnostics"]) for issue in raised.value.issues]


@pytest.mark.parametrize(("model", "operation", "pairs", "issues"), [
    (CompareParameters, "compare", [("topic", "tia-follow-up"), ("as-of", "soon")],
     [("invalid", "as-of 'soon' is not a date like 2026-11-22")]),
    # A FHIR date may be a year or a month, and Python reads 20261122 and 2026-W47-1: a day is YYYY-MM-DD here.
    (CompareParameters, "compare", [("topic", "tia-follow-up"), ("as-of", "20261122")],
     [("invalid", "as-of '20261122' is not a date like 2026-11-22")]),
    (CompareParameters, "compare", [("topic", "tia-follow-up"), ("as-of", "2026-02-30")],
     [("invalid", "as-of '2026-02-30' is not a date like 2026-11-22")]),
    (CompareParameters, "compare", [("as-of", "2026-11-22")],
     [("required", "$compare needs a 'topic' or one or more 'pathway' parameters")]),
    (CompareParameters, "compare", [("topic", {"system": "x", "code": "y"})],
     [("invalid", """topic '{"system": "x", "code": "y"}' is not a string""")]),
    (DraftParameters, "draft", [("_format", "json")],
     [("required", "$draft needs the parameter 'version': The new draft's version.")]),
    (ApproveParameters, "approve", [("approvalDate", "2026-11-30"), ("approvalDate", "2026-12-01")],
     [("invalid", "the parameter 'approvalDate' may be given once")]),
    (ApproveParameters, "approve", [("approvalDate", "2026-11"), ("artifactAssessmentSummary", 3)],
     [("invalid", "approvalDate '2026-11' is not a date like 2026-11-22"),
      ("invalid", "artifactAssessmentSummary '3' is not markdown text")]),
    (ApplyParameters, "apply", [("subject", "")],
     [("required", "$apply needs the parameter 'subject': The Patient, as a reference (Patient/[id])."),
      ("required", "$apply needs the parameter 'indexDate': The date of the index event (for example the day of "
                   "surgery), YYYY-MM-DD: every step is counted from it. A Harmonise parameter.")]),
    (ApplyParameters, "apply", [("subject", "Patient/1"), ("subject", "Patient/2"), ("indexDate", "2026-01-10")],
     [("invalid", "the parameter 'subject' may be given once")]),
    (ApplyParameters, "apply", [("subject", {"reference": "Patient/1"}), ("indexDate", "10/01/2026")],
     [("invalid", """subject '{"reference": "Patient/1"}' is not a string"""),
      ("invalid", "indexDate '10/01/2026' is not a date like 2026-11-22")]),
    (SignalsParameters, "signals", [("as-of", "2026-W47-1")],
     [("invalid", "as-of '2026-W47-1' is not a date like 2026-11-22")]),
    (SignalsParameters, "signals", [("as-of", "2026-11-22"), ("as-of", "2026-11-23")],
     [("invalid", "the parameter 'as-of' may be given once")]),
])
def test_bad_parameters_are_named_with_the_value_sent(model: type[OperationParameters], operation: str,
                                                      pairs: list[tuple[str, Any]],
                                                      issues: list[tuple[str, str]]) -> None:
    assert _refused(model, operation, pairs) == issues


def test_a_long_value_is_shortened_in_the_message() -> None:
    ((_, diagnostics),) = _refused(CompareParameters, "compare", [("topic", "x"), ("as-of", "9" * 200)])
    assert diagnostics == f"as-of '{'9' * 80}…' is not a date like 2026-11-22"
