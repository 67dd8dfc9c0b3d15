"""The guideline lifecycle over FHIR: ``PlanDefinition/[id]/$draft``, ``$approve``, ``$release``, ``$retire``.

Each is one audited write through ``application.guidelines``, which holds the rules (and which
``harmonise guideline`` calls too). Network leads only; the OperationDefinitions are in
``registry`` (``LIFECYCLE``).
"""

from datetime import date

from fastapi import APIRouter, Request
from fastapi.responses import Response

from ..application import guidelines
from .auth import WriteAccess
from .dependencies import BodyDep, StoreDep
from .formats import fhir_response
from .outcomes import error
from .parameters import one, operation_parameters
from .registry import APPROVE, DRAFT, RELEASE, RETIRE, require_operation
from .responses import written
from .validation import checked_id

router = APIRouter()


def _network_lead(caller: WriteAccess) -> None:
    if not caller.principal.scopes.network_lead:
        raise error(403, "forbidden", "only a network lead may change a guideline's lifecycle (a token with the "
                    "network-lead scope: harmonise token --network-lead)")


def _date(value: object, name: str) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        raise error(400, "invalid", f"{name} '{value}' is not a date like 2026-11-22") from None


@router.post("/PlanDefinition/{resource_id}/$draft")
def draft(resource_id: str, request: Request, store: StoreDep, caller: WriteAccess, body: BodyDep) -> Response:
    require_operation("PlanDefinition", DRAFT.name, instance=True)
    _network_lead(caller)
    version = one(operation_parameters(request, body), "version")
    if not version:
        raise error(400, "required", "$draft needs the new draft's version (parameter 'version')")
    with caller.write(store, lifecycle=True) as writer:
        made = guidelines.draft(writer, checked_id(resource_id), str(version), date.today())
    return written(request, made, 201, [], f"Created {made.reference}, a draft of PlanDefinition/{resource_id}")


@router.post("/PlanDefinition/{resource_id}/$approve")
def approve(resource_id: str, request: Request, store: StoreDep, caller: WriteAccess, body: BodyDep) -> Response:
    require_operation("PlanDefinition", APPROVE.name, instance=True)
    _network_lead(caller)
    pairs = operation_parameters(request, body)
    day = _date(one(pairs, "approvalDate"), "approvalDate") or date.today()
    approver = one(pairs, "artifactAssessmentAuthor") or caller.principal.subject
    comment = one(pairs, "artifactAssessmentSummary")
    with caller.write(store, lifecycle=True) as writer:
        approved = guidelines.approve(writer, checked_id(resource_id), day, str(approver),
                                      str(comment) if comment else None)
    return written(request, approved, 200, [], f"Approved {approved.reference} on {day.isoformat()}")


@router.post("/PlanDefinition/{resource_id}/$release")
def release(resource_id: str, request: Request, store: StoreDep, caller: WriteAccess, body: BodyDep) -> Response:
    require_operation("PlanDefinition", RELEASE.name, instance=True)
    _network_lead(caller)
    review_by = _date(one(operation_parameters(request, body), "reviewBy"), "reviewBy")
    with caller.write(store, lifecycle=True) as writer:
        done = guidelines.release(writer, checked_id(resource_id), date.today(), review_by)
    bundle = {"resourceType": "Bundle", "type": "collection",
              "entry": [{"resource": version.existing()} for version in (done.released, *done.retired)]}
    return fhir_response(request, bundle)


@router.post("/PlanDefinition/{resource_id}/$retire")
def retire(resource_id: str, request: Request, store: StoreDep, caller: WriteAccess, body: BodyDep) -> Response:
    require_operation("PlanDefinition", RETIRE.name, instance=True)
    _network_lead(caller)
    with caller.write(store, lifecycle=True) as writer:
        retired = guidelines.retire(writer, checked_id(resource_id), date.today())
    return written(request, retired, 200, [], f"Retired {retired.reference}")
