"""An operation's input parameters: the query string's, then those of a POSTed ``Parameters`` resource.

One reader for every operation, so that ``$compare``, the terminology operations and the guideline
lifecycle take their parameters the same way (FHIR R4 3.1.0.1: GET with query parameters, POST
with a Parameters body).

Each operation Harmonise defines describes its inputs once, as an ``OperationParameters`` model
(``registry.Operation.inputs``): a field per parameter, its alias the FHIR name, its type one of the
FHIR types below, a tuple for a repeating one, required for ``min`` 1, its description the
documentation. The route is given a validated instance (``Depends(OperationInputs(OPERATION))``), and
the registry writes the OperationDefinition's ``in`` parameters from the same fields
(``definition_parameters``), so a parameter cannot be read without being declared, nor declared
without being read (``tests/test_operation_parameters.py`` holds each route to its model).
"""

import json
import re
from dataclasses import dataclass
from datetime import date
from typing import Annotated, Any, Final, Protocol, TypeVar, get_args, get_origin

from fastapi import Request
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError, model_validator
from pydantic.fields import FieldInfo
from pydantic_core import ErrorDetails, PydanticCustomError
from starlette.concurrency import run_in_threadpool

from ..fhirformat import JsonDict, parse_json
from .dependencies import BodyDep
from .outcomes import FhirError, error, issue

Pairs = list[tuple[str, Any]]


def operation_parameters(request: Request, body: bytes) -> Pairs:
    """(name, value) pairs: each value[x] as sent (a string, a Coding...), or a parameter's ``resource``."""
    pairs: Pairs = list(request.query_params.multi_items())
    if body.strip():
        sent = parse_json(body)
        if sent.get("resourceType") != "Parameters":
            raise error(400, "invalid", "send the operation's parameters as a Parameters resource")
        listed = sent.get("parameter") or []
        if not isinstance(listed, list) or not all(isinstance(item, dict) for item in listed):
            raise error(400, "structure", "Parameters.parameter must be a list of parameters", "Parameters.parameter")
        for parameter in listed:
            value = next((v for k, v in parameter.items() if k.startswith("value")), parameter.get("resource"))
            pairs.append((str(parameter.get("name", "")), value))
    return pairs


def one(pairs: Pairs, name: str) -> Any:
    """The one value of ``name``, or None; 400 if it was given more than once."""
    values = [value for key, value in pairs if key == name]
    if len(values) > 1:
        raise error(400, "invalid", f"the parameter '{name}' may be given once")
    return values[0] if values else None


def texts(pairs: Pairs, name: str) -> list[str]:
    """Every value of ``name`` as text (value[x] of a primitive type)."""
    return [str(value) for key, value in pairs if key == name and value is not None]


# --- the FHIR types a parameter may have ---------------------------------------------------------


@dataclass(frozen=True)
class FhirType:
    """The FHIR data type of a parameter (OperationDefinition.parameter.type), and how to say what it takes."""

    code: str
    expected: str


_DAY: Final = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def _day(value: object) -> object:
    """A FHIR date as the operations need it: a whole day, YYYY-MM-DD (not a year, a week or a timestamp)."""
    if isinstance(value, str) and not _DAY.fullmatch(value):
        raise ValueError("not a date like 2026-11-22")
    return value


FhirString = Annotated[str, FhirType("string", "a string")]
FhirMarkdown = Annotated[str, FhirType("markdown", "markdown text")]
FhirDate = Annotated[date, FhirType("date", "a date like 2026-11-22"), BeforeValidator(_day)]


# --- the models, one per operation ---------------------------------------------------------------


class OperationParameters(BaseModel):
    """The ``in`` parameters of one operation; parameters it does not define (``_format``...) are ignored."""

    model_config = ConfigDict(frozen=True, extra="ignore")


class NoParameters(OperationParameters):
    """An operation that takes no input (a POSTed Parameters, if any, must still be one)."""


class CompareParameters(OperationParameters):
    """``$compare``: the topics and the chosen versions to compare, and the day to judge review dates by."""

    topic: tuple[FhirString, ...] = Field((), description="A pathway-topic code.")
    pathway: tuple[FhirString, ...] = Field(
        (), description="A version to use: PlanDefinition/id, PlanDefinition/id/_history/n or url|version.")
    as_of: FhirDate = Field(default_factory=date.today, alias="as-of",
                            description="Day to check register review dates against.")

    @model_validator(mode="after")
    def _something_to_compare(self) -> "CompareParameters":
        if not self.topic and not self.pathway:
            raise PydanticCustomError("required", "$compare needs a 'topic' or one or more 'pathway' parameters")
        return self


class DiffParameters(OperationParameters):
    """``$diff``: two versions of one resource (instance level) or two resources (type and system level)."""

    from_version: FhirString | None = Field(None, alias="fromVersion",
                                               description="Instance level: the older version.")
    to_version: FhirString | None = Field(None, alias="toVersion",
                                             description="Instance level: the newer (default current).")
    from_: FhirString | None = Field(None, alias="from", description="Type or system level: Type/id[/_history/n].")
    to: FhirString | None = Field(None, description="Type or system level: Type/id[/_history/n].")


class SignalsParameters(OperationParameters):
    """``$signals``: the day to judge review dates by."""

    as_of: FhirDate = Field(default_factory=date.today, alias="as-of",
                            description="Day to judge review dates against (default today).")


class ApplyParameters(OperationParameters):
    """``PlanDefinition/[id]/$apply``: the patient, and the day every step is counted from."""

    subject: FhirString = Field(description="The Patient, as a reference (Patient/[id]).")
    index_date: FhirDate = Field(alias="indexDate", description="The date of the index event (for example the day "
                                 "of surgery), YYYY-MM-DD: every step is counted from it. A Harmonise parameter.")


class DraftParameters(OperationParameters):
    """``$draft``: the new draft's version."""

    version: FhirString = Field(description="The new draft's version.")


class ApproveParameters(OperationParameters):
    """``$approve``: when, by whom, and what the approver said."""

    approval_date: FhirDate = Field(default_factory=date.today, alias="approvalDate",
                                    description="The day of the approval (default today).")
    summary: FhirMarkdown | None = Field(None, alias="artifactAssessmentSummary",
                                         description="The approver's comment.")
    author: FhirString | None = Field(None, alias="artifactAssessmentAuthor",
                                      description="Who approved (default the token's holder).")


class ReleaseParameters(OperationParameters):
    """``$release``: when the released guideline must be reviewed."""

    review_by: FhirDate | None = Field(None, alias="reviewBy",
                                       description="When it must be reviewed (effectivePeriod.end).")


# --- the OperationDefinition's view of a model -------------------------------------------------


def _repeats(field: FieldInfo) -> bool:
    return get_origin(field.annotation) is tuple


def _fhir_type(field: FieldInfo) -> FhirType:
    """The FhirType a field's annotation carries (at the top, in ``X | None`` or in ``tuple[X, ...]``)."""
    found = [item for item in field.metadata if isinstance(item, FhirType)]
    pending = [field.annotation]
    while pending and not found:
        annotation = pending.pop()
        found = [item for item in getattr(annotation, "__metadata__", ()) if isinstance(item, FhirType)]
        pending += get_args(annotation)
    if not found:
        raise TypeError(f"{field} is not one of the FHIR types of service.api.parameters")
    return found[0]


def parameter_name(name: str, field: FieldInfo) -> str:
    return field.alias or name


def definition_parameters(model: type[OperationParameters]) -> list[JsonDict]:
    """The model's fields as OperationDefinition.parameter entries (use ``in``), in field order."""
    return [{"name": parameter_name(name, field), "use": "in", "min": 1 if field.is_required() else 0,
             "max": "*" if _repeats(field) else "1", "type": _fhir_type(field).code,
             "documentation": field.description or ""}
            for name, field in model.model_fields.items()]


# --- reading a request into a model --------------------------------------------------------------

P = TypeVar("P", bound=OperationParameters)


class Declared(Protocol):
    """An operation that declares its inputs (``registry.Operation``)."""

    @property
    def name(self) -> str: ...

    @property
    def inputs(self) -> type[OperationParameters] | None: ...


def _shown(value: object) -> str:
    text = value if isinstance(value, str) else json.dumps(value, default=str)
    return f"'{text[:80]}…'" if len(text) > 80 else f"'{text}'"


def _problem(model: type[OperationParameters], operation: str, detail: ErrorDetails) -> JsonDict:
    """One issue naming the parameter and the value sent (or, for a rule of the whole model, its message)."""
    if not detail["loc"]:
        return issue("error", "required" if detail["type"] == "required" else "invalid", detail["msg"])
    name = str(detail["loc"][0])
    field = next(f for n, f in model.model_fields.items() if parameter_name(n, f) == name)
    if detail["type"] == "missing":
        return issue("error", "required", f"${operation} needs the parameter '{name}': {field.description}")
    cause = detail.get("ctx", {}).get("error")
    reason = str(cause) if detail["type"] == "value_error" and cause else f"not {_fhir_type(field).expected}"
    return issue("error", "invalid", f"{name} {_shown(detail['input'])} is {reason}")


def parse(model: type[P], operation: str, pairs: Pairs) -> P:
    """The operation's parameters from (name, value) pairs; 400 naming each parameter and value that is wrong.

    A parameter sent without a value (``?as-of=``) counts as not sent.
    """
    fields = {parameter_name(name, field): field for name, field in model.model_fields.items()}
    given: dict[str, list[Any]] = {}
    for name, value in pairs:
        if name in fields and value is not None and value != "":
            given.setdefault(name, []).append(value)
    for name, values in given.items():
        if len(values) > 1 and not _repeats(fields[name]):
            raise error(400, "invalid", f"the parameter '{name}' may be given once")
    try:
        return model.model_validate({name: values if _repeats(fields[name]) else values[0]
                                     for name, values in given.items()})
    except ValidationError as exc:
        raise FhirError(400, [_problem(model, operation, detail) for detail in exc.errors()]) from None


class OperationInputs:
    """A FastAPI dependency giving an operation's parameters as its ``inputs`` model (``Depends(OperationInputs(X))``).

    The query is read in the event loop; a body is parsed in the thread pool, so that a large one
    does not hold up other requests.
    """

    def __init__(self, operation: Declared) -> None:
        if operation.inputs is None:
            raise TypeError(f"${operation.name} declares no inputs model")
        self.operation = operation
        self.model: type[OperationParameters] = operation.inputs

    async def __call__(self, request: Request, body: BodyDep) -> OperationParameters:
        pairs = (await run_in_threadpool(operation_parameters, request, body) if body.strip()
                 else list(request.query_params.multi_items()))
        return parse(self.model, self.operation.name, pairs)
