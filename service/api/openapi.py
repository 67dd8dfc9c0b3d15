"""The API's OpenAPI description, served at ``/fhir/openapi.json``, for tools that read OpenAPI (and fuzzers).

FastAPI knows the paths; the FHIR handlers read their query parameters, headers and bodies from
the request themselves, so FastAPI cannot see them. They are filled in here from the registries
that drive the handlers and the CapabilityStatement (resource types, search parameters, the
OperationDefinitions' input parameters), so the description cannot drift from what is served.
``/fhir/metadata`` stays the FHIR-native description; this one is for generic HTTP tooling.
"""

import warnings
from typing import Any, Final

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from ..fhirformat import JsonDict
from ..store.query import RESULT_PARAMETERS
from ..store.searchparams import REGISTRY
from .formats import FORM
from .registry import OPERATION_DEFINITIONS, RESOURCES

#: Parameters every FHIR interaction takes (format, and the subsets of a read or search).
_PRESENTATION: Final = ("_format", "_pretty", "_summary", "_elements")
_FHIR_BODY: Final = {
    "application/fhir+json": {"schema": {"type": "object", "required": ["resourceType"],
                                         "properties": {"resourceType": {"type": "string"}}}},
    "application/fhir+xml": {"schema": {"type": "string"}},
}
#: Headers the handlers read (OpenAPI describes Accept, Content-Type and Authorization otherwise).
_HEADERS: Final = {
    "post": ("Prefer", "If-None-Exist"),
    "put": ("Prefer", "If-Match"),
    "delete": ("If-Match",),
}


def _parameter(name: str, where: str, schema: JsonDict | None = None, description: str = "") -> JsonDict:
    result: JsonDict = {"name": name, "in": where, "required": False, "schema": schema or {"type": "string"}}
    if description:
        result["description"] = description
    return result


def _search_parameters() -> list[JsonDict]:
    """Every search parameter of any served type, once, with its description (one line per name)."""
    described: dict[str, str] = {}
    for parameters in REGISTRY.values():
        for name, parameter in parameters.items():
            described.setdefault(name, parameter.description)
    return ([_parameter(name, "query", description=text) for name, text in sorted(described.items())]
            + [_parameter(name, "query") for name in RESULT_PARAMETERS])


def _operation_parameters(code: str) -> list[JsonDict]:
    """The ``in`` parameters of the OperationDefinition with this code, as query parameters."""
    for definition in OPERATION_DEFINITIONS.values():
        if definition["code"] == code:
            return [_parameter(p["name"], "query", {"type": "array", "items": {"type": "string"}}
                               if p["max"] == "*" else None, p["documentation"])
                    for p in definition["parameter"] if p["use"] == "in"]
    return []


def _query_parameters(path: str, method: str) -> list[JsonDict]:
    if "$" in path:
        return _operation_parameters(path.rsplit("$", 1)[1])
    if path == "/{resource_type}" and method == "get":
        return _search_parameters()
    if path.endswith("/_history"):
        return [_parameter(name, "query") for name in ("_count", "_since", "_offset", "_snapshot")]
    return []


def describe(app: FastAPI) -> dict[str, Any]:
    """The OpenAPI document of the FHIR app ``app``."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # routes that serve GET and POST alike share an operation id
        schema = get_openapi(title=app.title, version=app.version, description=__doc__.split("\n\n")[0],
                             routes=app.routes)
    types = sorted(RESOURCES)
    schema.setdefault("components", {})["securitySchemes"] = {
        "bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT",
                   "description": "A token from `harmonise token` (reads are open unless configured otherwise)."}}
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            parameters = operation.setdefault("parameters", [])
            for parameter in parameters:
                if parameter["name"] == "resource_type":
                    parameter["schema"] = {"type": "string", "enum": types}
            parameters += [*_query_parameters(path, method), *(_parameter(name, "query") for name in _PRESENTATION),
                           *(_parameter(name, "header") for name in _HEADERS.get(method, ()))]
            operation["security"] = [{}, {"bearer": []}]
            if method in ("post", "put") and "$" not in path:
                operation["requestBody"] = ({"content": {FORM: {"schema": {"type": "object"}}}}
                                            if path.endswith("/_search") else {"content": dict(_FHIR_BODY)})
            elif method == "post":  # an operation: a Parameters resource, or nothing
                operation["requestBody"] = {"required": False, "content": dict(_FHIR_BODY)}
    return schema


def install(app: FastAPI) -> None:
    """Make ``app`` serve ``describe(app)``, worked out once, at its ``openapi_url``."""
    cached: dict[str, Any] = {}

    def openapi() -> dict[str, Any]:
        if not cached:
            cached.update(describe(app))
        return cached

    app.openapi = openapi  # type: ignore[method-assign]
