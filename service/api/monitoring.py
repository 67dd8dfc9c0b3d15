"""``GET /$signals``: the early-warning signals of ``harmonise monitor`` as DetectedIssue resources.

Signals are computed on request from what the store holds (every pathway version and the
imported MeasureReports), never stored, so they cannot go stale.
"""

import hashlib
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from .. import application
from .. import conventions as c
from ..application import StoreSource
from ..fhirformat import JsonDict
from ..monitoring.signals import Signal, SignalKind
from .auth import reads
from .dependencies import StoreDep
from .formats import fhir_response
from .parameters import OperationInputs, SignalsParameters
from .registry import SIGNALS, require_system_operation

#: $signals reads every pathway version, the MeasureReports and the Measures.
router = APIRouter(dependencies=[reads("PlanDefinition", "MeasureReport", "Measure")])

SIGNAL_KIND_SYSTEM = f"{c.BASE}/CodeSystem/signal-kind"
_SEVERITY = {
    SignalKind.SPECIAL_CAUSE: "high",
    SignalKind.DRIFT: "moderate",
    SignalKind.JUSTIFICATION_EXPIRED: "moderate",
    SignalKind.GUIDELINE_REVIEW_OVERDUE: "low",
}


def detected_issue(signal: Signal) -> JsonDict:
    """One signal as a DetectedIssue: what, since when, how serious, where, and what to look at."""
    key = f"{signal.kind}|{signal.trust}|{signal.topic}|{signal.source}"
    issue: JsonDict = {
        "resourceType": "DetectedIssue",
        "id": "signal-" + hashlib.sha256(key.encode()).hexdigest()[:24],
        "status": "preliminary",
        "code": {"coding": [{"system": SIGNAL_KIND_SYSTEM, "code": signal.kind.value}], "text": signal.title},
        "severity": _SEVERITY[signal.kind],
        "identifiedDateTime": signal.raised_on.isoformat(),
        "detail": signal.detail,
        "evidence": [{"code": [{"text": signal.source}]}],
        "mitigation": [{"action": {"text": f"Look at {signal.look_at}"}}],
    }
    if signal.trust:
        issue["author"] = {"identifier": {"system": c.ODS_SYSTEM, "value": signal.trust}}
    if signal.topic:
        issue["extension"] = [
            {
                "url": f"{c.BASE}/StructureDefinition/pathway-topic",
                "valueCoding": {"system": c.PATHWAY_TOPIC_SYSTEM, "code": signal.topic},
            }
        ]
    return issue


SignalsInputs = Annotated[SignalsParameters, Depends(OperationInputs(SIGNALS))]


@router.get("/$signals")
def signals(request: Request, store: StoreDep, parameters: SignalsInputs) -> Response:
    require_system_operation(SIGNALS.name)
    found = application.watch(StoreSource(store), parameters.as_of).monitoring
    bundle = {
        "resourceType": "Bundle",
        "type": "collection",
        "total": len(found.signals),
        "entry": [{"resource": detected_issue(signal)} for signal in found.signals],
    }
    return fhir_response(request, bundle)
