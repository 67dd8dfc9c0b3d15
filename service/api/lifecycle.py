"""The guideline lifecycle over FHIR: ``PlanDefinition/[id]/$draft``, ``$approve``, ``$release``, ``$retire``.

Each is one audited write through ``application.guidelines``, which holds the rules (and which
``harmonise guideline`` calls too). Network leads only; the OperationDefinitions are in
``registry`` (``LIFECYCLE``).
"""

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from ..application import guidelines
from .auth import WriteAccess
from .dependencies import StoreDep
from .formats import fhir_response
from .outcomes import error
from .parameters import ApproveParameters, DraftParameters, OperationInputs, ReleaseParameters
from .registry import APPROVE, DRAFT, RELEASE, RETIRE, require_operation
from .responses import written
from .validation import checked_id


def _network_lead(caller: WriteAccess) -> None:
    """Refuses anyone else (403), as the router's first dependency: before the operation's parameters are read."""
    if not caller.principal.scopes.network_lead:
        raise error(403, "forbidden", "only a network lead may change a guideline's lifecycle (a token with the "
                    "network-lead scope: harmonise token --network-lead)")


router = APIRouter(dependencies=[Depends(_network_lead)])

DraftInputs = Annotated[DraftParameters, Depends(OperationInputs(DRAFT))]
ApproveInputs = Annotated[ApproveParameters, Depends(OperationInputs(APPROVE))]
ReleaseInputs = Annotated[ReleaseParameters, Depends(OperationInputs(RELEASE))]


@router.post("/PlanDefinition/{resource_id}/$draft")
def draft(resource_id: str, request: Request, store: StoreDep, caller: WriteAccess,
          parameters: DraftInputs) -> Response:
    require_operation("PlanDefinition", DRAFT.name, instance=True)
    with caller.write(store, lifecycle=True) as writer:
        made = guidelines.draft(writer, checked_id(resource_id), parameters.version, date.today())
    return written(request, made, 201, [], f"Created {made.reference}, a draft of PlanDefinition/{resource_id}")


@router.post("/PlanDefinition/{resource_id}/$approve")
def approve(resource_id: str, request: Request, store: StoreDep, caller: WriteAccess,
            parameters: ApproveInputs) -> Response:
    require_operation("PlanDefinition", APPROVE.name, instance=True)
    day = parameters.approval_date
    with caller.write(store, lifecycle=True) as writer:
        approved = guidelines.approve(writer, checked_id(resource_id), day,
                                      parameters.author or caller.principal.subject, parameters.summary)
    return written(request, approved, 200, [], f"Approved {approved.reference} on {day.isoformat()}")


@router.post("/PlanDefinition/{resource_id}/$release")
def release(resource_id: str, request: Request, store: StoreDep, caller: WriteAccess,
            parameters: ReleaseInputs) -> Response:
    require_operation("PlanDefinition", RELEASE.name, instance=True)
    with caller.write(store, lifecycle=True) as writer:
        done = guidelines.release(writer, checked_id(resource_id), date.today(), parameters.review_by)
    bundle = {"resourceType": "Bundle", "type": "collection",
              "entry": [{"resource": version.existing()} for version in (done.released, *done.retired)]}
    return fhir_response(request, bundle)


@router.post("/PlanDefinition/{resource_id}/$retire", dependencies=[Depends(OperationInputs(RETIRE))])
def retire(resource_id: str, request: Request, store: StoreDep, caller: WriteAccess) -> Response:
    require_operation("PlanDefinition", RETIRE.name, instance=True)
    with caller.write(store, lifecycle=True) as writer:
        retired = guidelines.retire(writer, checked_id(resource_id), date.today())
    return written(request, retired, 200, [], f"Retired {retired.reference}")
