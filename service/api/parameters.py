"""An operation's input parameters: the query string's, then those of a POSTed ``Parameters`` resource.

One reader for every operation, so that ``$compare``, the terminology operations and the guideline
lifecycle take their parameters the same way (FHIR R4 3.1.0.1: GET with query parameters, POST
with a Parameters body).
"""

from typing import Any

from fastapi import Request

from ..fhirformat import parse_json
from .outcomes import error

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
