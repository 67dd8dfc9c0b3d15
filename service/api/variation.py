"""``$compare`` and ``$diff``: the variation report and version differences over FHIR.

- ``GET|POST /PlanDefinition/$compare?topic=T`` compares the current active pathways of a topic
  (or the versions named by ``pathway`` parameters: ``PlanDefinition/id``,
  ``PlanDefinition/id/_history/n`` or ``url|version``) exactly as ``harmonise compare`` does.
  It answers the report as plain JSON when asked for ``application/json``; otherwise as a
  ``Parameters`` whose ``return`` is a ``Binary`` holding that JSON.
- ``GET /PlanDefinition/[id]/$diff?fromVersion=N[&toVersion=M]`` and
  ``GET /$diff?from=PlanDefinition/a[/_history/n]&to=PlanDefinition/b[/_history/m]`` (also at
  ``/PlanDefinition/$diff``) answer a FHIRPath Patch ``Parameters`` (``service.fhirpatch``).

Their OperationDefinitions are served at ``/OperationDefinition/[id]``.

Each has a budget (``RequestLimits``): ``$compare`` reads each distinct topic and pathway once
and at most ``compare_pathways`` of them, finding a ``url|version`` through the search index and
that resource's own history (never by reading every stored version); ``$diff`` compares resources
of at most ``diff_actions`` actions each. Past a budget the client is told which, and how to
raise it, before any work is done.
"""

import base64
import re
from collections.abc import Iterable, Sequence
from typing import Annotated, Final

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from .. import application
from ..application import StoreSource, diffing
from ..fhirformat import JsonDict
from ..security.settings import MAX_COMPARE_PATHWAYS, MAX_DIFF_ACTIONS
from ..store import Store
from ..store.errors import NotFound
from .auth import reads
from .dependencies import StoreDep
from .formats import fhir_response, prefers
from .outcomes import error
from .parameters import CompareParameters, DiffParameters, OperationInputs
from .registry import COMPARE, DIFF, OPERATION_DEFINITIONS, require_operation, require_system_operation
from .validation import checked_id, version_number

router = APIRouter()

_REFERENCE: Final = re.compile(
    r"^(?P<type>[A-Za-z]+)/(?P<id>[A-Za-z0-9\-.]{1,64})(/_history/(?P<version>[0-9]{1,9}))?$"
)


def _version(store: Store, reference: str) -> JsonDict:
    """The resource a ``Type/id[/_history/n]`` reference names (current version without one)."""
    match = _REFERENCE.match(reference)
    if match is None:
        raise error(
            400, "invalid", f"'{reference}' is not a reference like PlanDefinition/id or PlanDefinition/id/_history/2"
        )
    resource_type, resource_id, version = match["type"], match["id"], match["version"]
    if resource_type != "PlanDefinition":
        raise error(400, "not-supported", f"'{reference}' is not a PlanDefinition; $compare and $diff compare "
                    "PlanDefinitions only")
    if version:
        stored = store.vread(resource_type, resource_id, int(version))
    else:
        stored = store.read(resource_type, resource_id)
    if stored.resource is None:
        raise NotFound(f"{reference} is deleted")
    return stored.resource


def _chosen(store: Store, references: Iterable[str]) -> tuple[list[JsonDict], set[str]]:
    """Resources named by reference, and canonicals named as ``url|version``."""
    resources, canonicals = [], set()
    for reference in references:
        if "|" in reference or reference.startswith(("http://", "https://", "urn:")):
            canonicals.add(reference)
        else:
            resources.append(_version(store, reference))
    return resources, canonicals


def _canonical(resource: JsonDict) -> str:
    return f"{resource['url']}|{resource['version']}" if resource.get("version") else str(resource["url"])


def _distinct_within(values: Sequence[str], name: str, limit: int) -> list[str]:
    """``values`` once each, in the order sent; refused (422) past ``limit`` distinct ones."""
    distinct = list(dict.fromkeys(values))
    if len(distinct) > limit:
        raise error(422, "too-costly", f"$compare was sent {len(distinct)} distinct '{name}' parameters; this server "
                    f"compares at most {limit} in one request ({MAX_COMPARE_PATHWAYS} sets it)")
    return distinct


CompareInputs = Annotated[CompareParameters, Depends(OperationInputs(COMPARE))]
DiffInputs = Annotated[DiffParameters, Depends(OperationInputs(DIFF))]


@router.api_route("/PlanDefinition/$compare", methods=["GET", "POST"], dependencies=[reads("PlanDefinition")])
def compare(request: Request, store: StoreDep, parameters: CompareInputs) -> Response:
    require_operation("PlanDefinition", COMPARE.name, instance=False)
    limit = request.app.state.security.limits.compare_pathways
    topics = _distinct_within(parameters.topic, "topic", limit)
    references = _distinct_within(parameters.pathway, "pathway", limit)
    today = parameters.as_of
    named, canonicals = _chosen(store, references)
    chosen = canonicals | {_canonical(resource) for resource in named if resource.get("url")}
    comparison = application.compare(StoreSource(store), topics, today, chosen=chosen)
    unknown = [t for t in topics if t not in comparison.topics.content]
    if unknown:
        raise error(404, "not-found", f"no pathways for topic(s) {', '.join(unknown)}")
    report = comparison.report
    text = report.model_dump_json()
    if request.query_params.get("_format") == "report" or prefers(request, "application/json"):
        return Response(text, media_type="application/json")
    binary = {
        "resourceType": "Binary",
        "contentType": "application/json",
        "data": base64.b64encode(text.encode()).decode(),
    }
    return fhir_response(request, {"resourceType": "Parameters", "parameter": [{"name": "return", "resource": binary}]})


def _diff_response(request: Request, old: JsonDict, new: JsonDict) -> Response:
    if old.get("resourceType") != new.get("resourceType"):
        raise error(400, "invalid", "$diff compares two resources of the same type")
    try:
        patch = diffing.diff(old, new, request.app.state.security.limits.diff_actions)
    except diffing.TooCostly as exc:
        raise error(422, "too-costly", f"a version to compare has {exc.actions:,} actions; $diff compares versions "
                    f"of at most {exc.limit:,} actions ({MAX_DIFF_ACTIONS} sets it)") from None
    return fhir_response(request, patch)


@router.get("/PlanDefinition/{resource_id}/$diff", dependencies=[reads("PlanDefinition")])
def diff_instance(resource_id: str, request: Request, store: StoreDep, parameters: DiffInputs) -> Response:
    require_operation("PlanDefinition", DIFF.name, instance=True)
    checked_id(resource_id)
    start, end = parameters.from_version, parameters.to_version
    if start is None or version_number(start) is None or (end is not None and version_number(end) is None):
        raise error(400, "required", "$diff needs fromVersion (and optionally toVersion) as version numbers")
    old = _version(store, f"PlanDefinition/{resource_id}/_history/{start}")
    new = _version(store, f"PlanDefinition/{resource_id}" + (f"/_history/{end}" if end else ""))
    return _diff_response(request, old, new)


@router.get("/$diff", dependencies=[reads("PlanDefinition")])
@router.get("/PlanDefinition/$diff", dependencies=[reads("PlanDefinition")])
def diff_type(request: Request, store: StoreDep, parameters: DiffInputs) -> Response:
    if request.url.path.endswith("/PlanDefinition/$diff"):
        require_operation("PlanDefinition", DIFF.name, instance=False)
    else:
        require_system_operation(DIFF.name)
    start, end = parameters.from_, parameters.to
    if not start or not end:
        raise error(
            400, "required", "$diff needs 'from' and 'to' references, e.g. from=PlanDefinition/a&to=PlanDefinition/b"
        )
    return _diff_response(request, _version(store, start), _version(store, end))


@router.get("/OperationDefinition/{definition_id}", dependencies=[reads("OperationDefinition")])
def operation_definition(definition_id: str, request: Request) -> Response:
    found = OPERATION_DEFINITIONS.get(definition_id)
    if found is None:
        raise NotFound(f"OperationDefinition/{definition_id} is not one of this server's operations")
    return fhir_response(request, found)
