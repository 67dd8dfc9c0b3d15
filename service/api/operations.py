"""``$validate`` at type and instance level: the findings of ``harmonise validate``, as an OperationOutcome.

The answer is 200 whenever validation ran, whatever it found; the findings (errors, then
convention warnings, each with the element path as its expression) are the outcome's issues.
"""

from fastapi import APIRouter, Request
from fastapi.responses import Response

from ..fhirformat import JsonDict
from .auth import reads
from .dependencies import BodyDep, StoreDep
from .formats import fhir_response, read_resource
from .outcomes import error, problems_outcome
from .registry import require_operation
from .validation import checked_id, expect_type, findings

router = APIRouter(dependencies=[reads()])


@router.post("/{resource_type}/$validate")
def validate_type(resource_type: str, request: Request, body: BodyDep) -> Response:
    """$validate on a resource sent in the body (alone or as the ``resource`` of a Parameters)."""
    support = require_operation(resource_type, "validate", instance=False)
    resource = _validation_subject(read_resource(body, request.headers.get("content-type")))
    expect_type(resource, resource_type, "the resource to validate")
    return fhir_response(request, problems_outcome(findings(support, resource)))


def _validation_subject(sent: JsonDict) -> JsonDict:
    if sent.get("resourceType") != "Parameters":
        return sent
    for parameter in sent.get("parameter") or []:
        if isinstance(parameter, dict) and parameter.get("name") == "resource" and isinstance(
                parameter.get("resource"), dict):
            return parameter["resource"]
    raise error(400, "required", "the Parameters has no 'resource' parameter to validate", "Parameters.parameter")


@router.api_route("/{resource_type}/{resource_id}/$validate", methods=["GET", "POST"])
def validate_instance(resource_type: str, resource_id: str, request: Request, store: StoreDep,
                      body: BodyDep) -> Response:
    """$validate of the stored resource, or of a body proposed as its new content."""
    support = require_operation(resource_type, "validate", instance=True)
    if body.strip():
        resource = _validation_subject(read_resource(body, request.headers.get("content-type")))
        expect_type(resource, resource_type, "the resource to validate")
    else:
        version = store.read(resource_type, checked_id(resource_id))
        assert version.resource is not None
        resource = version.resource
    return fhir_response(request, problems_outcome(findings(support, resource)))
