"""The CapabilityStatement (``GET /metadata``), generated from the registry the router and the search code use,
and from the security settings the server runs with. It is always readable, token or not, so that
clients can find out how to authenticate.
"""

from fastapi import APIRouter, Request
from fastapi.responses import Response

from .. import __version__
from ..fhirformat import JsonDict
from ..security.settings import SecuritySettings
from ..store.query import MAX_COUNT, RESULT_PARAMETERS
from ..store.searchparams import SearchParameter
from .auth import capability_security, settings_of
from .bundles import base_url
from .formats import JSON, XML, fhir_response
from .registry import RESOURCES, SYSTEM_INTERACTIONS, SYSTEM_OPERATIONS, Interaction, ResourceSupport
from .subsetting import SUMMARY_MODES

router = APIRouter()

_RESULT_DOCS = (
    f"Result parameters: {', '.join(RESULT_PARAMETERS)}, _summary ({', '.join(SUMMARY_MODES)}), _elements, "
    f"_format (json, xml), _pretty. _count is at most {MAX_COUNT}. Paging links carry _snapshot and _offset: "
    "every page of one search reads the store as it was at the first page. Unknown search parameters are "
    "refused with 400. Date parameters take the prefixes eq, ne, gt, lt, ge, le, sa, eb and ap."
)


def _search_param(parameter: SearchParameter) -> JsonDict:
    modifiers = ", ".join(f":{m}" for m in parameter.modifiers)
    return {"name": parameter.name, "definition": parameter.definition, "type": parameter.type.value,
            "documentation": f"{parameter.description}. Expression: {parameter.expression}. Modifiers: {modifiers}."}


def _resource(support: ResourceSupport) -> JsonDict:
    entry: JsonDict = {"type": support.type, "profile": f"http://hl7.org/fhir/StructureDefinition/{support.type}"}
    if support.profiles:
        entry["supportedProfile"] = list(support.profiles)
    entry["documentation"] = support.documentation
    entry["interaction"] = [{"code": interaction.value} for interaction in Interaction
                            if interaction in support.interactions]
    entry["versioning"] = ("versioned-update" if Interaction.UPDATE in support.interactions
                           else "versioned" if Interaction.VREAD in support.interactions else "no-version")
    entry["readHistory"] = Interaction.VREAD in support.interactions
    entry["updateCreate"] = Interaction.UPDATE in support.interactions
    entry["conditionalCreate"] = support.conditional_create
    entry["conditionalRead"] = "not-supported"
    entry["conditionalUpdate"] = False
    entry["conditionalDelete"] = "not-supported"
    if support.search_parameters:
        entry["searchParam"] = [_search_param(p) for p in support.search_parameters.values()]
    if support.operations:
        entry["operation"] = [{"name": operation.name, "definition": operation.definition}
                              for operation in support.operations]
    return entry


def capability_statement(base_url: str, date: str, security: SecuritySettings) -> JsonDict:
    """What this server really supports, for ``GET /metadata``."""
    return {
        "resourceType": "CapabilityStatement",
        "status": "active",
        "date": date,
        "publisher": "Harmonise",
        "kind": "instance",
        "software": {"name": "Harmonise", "version": __version__},
        "implementation": {"description": "Harmonise FHIR R4 API: trust pathways and network guidelines",
                           "url": base_url},
        "fhirVersion": "4.0.1",
        "format": [JSON, XML, "json", "xml"],
        "rest": [{
            "mode": "server",
            "documentation": _RESULT_DOCS,
            "security": capability_security(security),
            "resource": [_resource(support) for support in RESOURCES.values()],
            "interaction": [{"code": interaction.value} for interaction in SYSTEM_INTERACTIONS],
            "operation": [{"name": operation.name, "definition": operation.definition}
                          for operation in SYSTEM_OPERATIONS],
        }],
    }


@router.get("/metadata")
def metadata(request: Request) -> Response:
    return fhir_response(request, capability_statement(base_url(request), request.app.state.started,
                                                       settings_of(request)))
