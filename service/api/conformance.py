"""The conformance resources (read, search, ``$expand``, ``$validate-code``), ``$apply`` and ``$package``.

``StructureDefinition``, ``CodeSystem`` and ``ValueSet`` are part of the software and answer from
memory (``conformance.catalogue``); their search reads the same search-parameter registry as the
store's and the CapabilityStatement's, through ``parse_search``. ``PlanDefinition/[id]/$apply``
and ``$package`` read the stored PlanDefinition.
"""

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from .. import apply as applying
from .. import terminology
from ..conformance import catalogue, package
from ..fhirformat import JsonDict, to_json
from ..store import Page, StoredVersion, parse_search
from ..store.errors import NotFound
from . import bundles
from .auth import reads
from .dependencies import BodyDep, StoreDep
from .formats import fhir_response
from .headers import strict_handling
from .outcomes import error, issue
from .parameters import ApplyParameters, OperationInputs, one, operation_parameters
from .registry import APPLY, PACKAGE, Interaction, require, require_operation
from .responses import PRESENTATION, query_parameters, resource_response
from .search import FormDep, budget, form_fields
from .subsetting import requested_subset
from .validation import checked_id

router = APIRouter()


def _stored(resource: JsonDict) -> StoredVersion:
    """A conformance resource as a version 1 that changes only with the software (dated as written)."""
    moment = datetime.fromisoformat(str(resource.get("date", "2026-01-01"))[:10]).replace(tzinfo=UTC)
    stamp = moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    shown = {**resource, "meta": {**resource.get("meta", {}), "versionId": "1", "lastUpdated": stamp}}
    text = to_json(shown, pretty=False).decode("utf-8")
    return StoredVersion(resource["resourceType"], resource["id"], 1, stamp, "PUT", text)


def _search(request: Request, resource_type: str, params: list[tuple[str, str]]) -> Response:
    require(resource_type, Interaction.SEARCH_TYPE)
    query = parse_search(resource_type, [(k, v) for k, v in params if k not in PRESENTATION],
                         strict=strict_handling(request), budget=budget(request.app.state.security.limits))
    found = catalogue.search(query)
    chosen = found[query.offset:query.offset + query.count]
    page = Page(versions=tuple(_stored(resource) for resource in chosen), snapshot=query.snapshot or 0,
                offset=query.offset, count=query.count, total=len(found) if query.total else None,
                has_next=query.offset + query.count < len(found))
    used = [(name, value) for name, value in params if name not in query.ignored]
    notes = [issue("warning", "not-supported", f"the search parameter '{name}' is not supported and was ignored "
                   "(send Prefer: handling=strict to have it refused)") for name in query.ignored]
    bundle = bundles.searchset(request, resource_type, used, page, requested_subset(request), notes)
    return fhir_response(request, bundle)


def _read(resource_type: str, resource_id: str) -> JsonDict:
    require(resource_type, Interaction.READ)
    found = catalogue.read(resource_type, checked_id(resource_id))
    if found is None:
        raise NotFound(f"{resource_type}/{resource_id} is not one of this server's {resource_type} resources")
    return found


def _routes(resource_type: str) -> None:
    """Search and read of one conformance type, declared before the store's generic routes."""

    def search(request: Request) -> Response:
        return _search(request, resource_type, query_parameters(request))

    def search_by_post(request: Request, body: FormDep) -> Response:
        form = form_fields(body, request.app.state.security.limits)
        return _search(request, resource_type, query_parameters(request, form))

    def read(resource_id: str, request: Request) -> Response:
        return resource_response(request, _stored(_read(resource_type, resource_id)))

    dependencies = [reads(resource_type)]
    router.add_api_route(f"/{resource_type}", search, methods=["GET"], dependencies=dependencies)
    router.add_api_route(f"/{resource_type}/_search", search_by_post, methods=["POST"], dependencies=dependencies)
    router.add_api_route(f"/{resource_type}/{{resource_id}}", read, methods=["GET"], dependencies=dependencies,
                         name=f"read_{resource_type}")


# --- operation parameters -------------------------------------------------------------------------


def _system_of(resource_type: str, resource_id: str | None, pairs: list[tuple[str, Any]]) -> str:
    """The network code system an operation on a CodeSystem or ValueSet is about."""
    if resource_id is not None:
        resource = _read(resource_type, resource_id)
        url = resource["url"]
    else:
        url = one(pairs, "url")
        if not url:
            raise error(400, "required", f"name the {resource_type} by its url (or call the operation on "
                        f"{resource_type}/[id])")
    system = url.partition("|")[0] if resource_type == "CodeSystem" else terminology.value_set_system(url)
    if system not in terminology.code_system_urls():
        raise NotFound(f"{url} is not one of this server's {resource_type} resources")
    return system


def _validate_code(resource_type: str, resource_id: str | None, request: Request, body: bytes) -> Response:
    require_operation(resource_type, "validate-code", instance=resource_id is not None)
    pairs = operation_parameters(request, body)
    system_url = _system_of(resource_type, resource_id, pairs)
    coding = one(pairs, "coding")
    concept = one(pairs, "codeableConcept")
    if isinstance(concept, dict):
        codings = [c for c in concept.get("coding") or [] if isinstance(c, dict)]
        coding = next((c for c in codings if c.get("system") == system_url), codings[0] if codings else None)
    if isinstance(coding, dict):
        code, system, display = coding.get("code"), coding.get("system"), coding.get("display")
    else:
        code, system, display = one(pairs, "code"), one(pairs, "system"), one(pairs, "display")
    if not code:
        raise error(400, "required", "give a code (code with system, coding or codeableConcept)")
    if resource_type == "CodeSystem" and system is None:
        system = system_url
    answer = terminology.validate_code(system_url, str(code), None if system is None else str(system),
                                       None if display is None else str(display))
    parameters: list[JsonDict] = [{"name": "result", "valueBoolean": answer.result},
                                  {"name": "message", "valueString": answer.message}]
    if answer.display:
        parameters.append({"name": "display", "valueString": answer.display})
    return fhir_response(request, {"resourceType": "Parameters", "parameter": parameters})


def _expand(resource_id: str | None, request: Request, body: bytes) -> Response:
    require_operation("ValueSet", "expand", instance=resource_id is not None)
    pairs = operation_parameters(request, body)
    return fhir_response(request, terminology.expand(_system_of("ValueSet", resource_id, pairs)))


def _operation_routes() -> None:
    both = ["GET", "POST"]
    for resource_type in ("CodeSystem", "ValueSet"):
        def type_level(request: Request, body: BodyDep, resource_type: str = resource_type) -> Response:
            return _validate_code(resource_type, None, request, body)

        def instance(resource_id: str, request: Request, body: BodyDep, resource_type: str = resource_type
                     ) -> Response:
            return _validate_code(resource_type, resource_id, request, body)

        dependencies = [reads(resource_type)]
        router.add_api_route(f"/{resource_type}/$validate-code", type_level, methods=both, dependencies=dependencies,
                             name=f"{resource_type}_validate_code")
        router.add_api_route(f"/{resource_type}/{{resource_id}}/$validate-code", instance, methods=both,
                             dependencies=dependencies, name=f"{resource_type}_instance_validate_code")

    def expand_type(request: Request, body: BodyDep) -> Response:
        return _expand(None, request, body)

    def expand_instance(resource_id: str, request: Request, body: BodyDep) -> Response:
        return _expand(resource_id, request, body)

    router.add_api_route("/ValueSet/$expand", expand_type, methods=both, dependencies=[reads("ValueSet")])
    router.add_api_route("/ValueSet/{resource_id}/$expand", expand_instance, methods=both,
                         dependencies=[reads("ValueSet")])


# The operations' fixed paths first, or /{type}/{id} would take ``$expand`` for an id.
_operation_routes()
for _type in catalogue.TYPES:
    _routes(_type)


# --- PlanDefinition/[id]/$apply and $package -------------------------------------------------------


def _plan(store: Any, resource_id: str) -> JsonDict:
    stored = store.read("PlanDefinition", checked_id(resource_id))
    return stored.existing()


ApplyInputs = Annotated[ApplyParameters, Depends(OperationInputs(APPLY))]


@router.api_route("/PlanDefinition/{resource_id}/$apply", methods=["GET", "POST"],
                  dependencies=[reads("PlanDefinition")])
def apply_plan(resource_id: str, request: Request, store: StoreDep, parameters: ApplyInputs) -> Response:
    """The pathway or guideline as a CarePlan for one patient, dated from ``indexDate``."""
    require_operation("PlanDefinition", APPLY.name, instance=True)
    try:
        subject = applying.patient_reference(parameters.subject)
        plan = applying.apply(_plan(store, resource_id), subject, parameters.index_date)
    except applying.ApplyError as exc:
        raise error(400, "invalid", str(exc)) from None
    return fhir_response(request, plan)


@router.api_route("/PlanDefinition/{resource_id}/$package", methods=["GET", "POST"],
                  dependencies=[reads("PlanDefinition"), Depends(OperationInputs(PACKAGE))])
def package_plan(resource_id: str, request: Request, store: StoreDep) -> Response:
    """A Bundle of the PlanDefinition and everything it depends on (CRMI $package)."""
    require_operation("PlanDefinition", PACKAGE.name, instance=True)
    plan = _plan(store, resource_id)
    base = bundles.base_url(request)
    entries = [{"fullUrl": f"{base}/PlanDefinition/{plan['id']}", "resource": plan}]
    entries += [{"fullUrl": f"{base}/{item['resourceType']}/{item['id']}", "resource": item}
                for item in package.dependencies(plan)]
    bundle = {"resourceType": "Bundle", "type": "collection",
              "timestamp": datetime.now(UTC).isoformat(timespec="seconds"), "entry": entries}
    return fhir_response(request, bundle)

