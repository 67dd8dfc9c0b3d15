"""``_summary`` and ``_elements``: parts of a resource, marked SUBSETTED as FHIR requires.

Which elements are "summary" or mandatory is read from the R4B models' own element metadata,
so it follows the specification rather than a list kept here.
"""

from dataclasses import dataclass
from functools import cache
from typing import Final

from fastapi import Request
from fhir.resources.R4B import get_fhir_model_class

from ..fhirformat import JsonDict
from .outcomes import error

SUMMARY_MODES: Final = ("true", "text", "data", "count", "false")
SUBSETTED: Final = {"system": "http://terminology.hl7.org/CodeSystem/v3-ObservationValue", "code": "SUBSETTED",
                    "display": "subsetted"}
_ALWAYS: Final = frozenset({"resourceType", "id", "meta"})


@dataclass(frozen=True)
class Subset:
    summary: str | None = None
    elements: frozenset[str] | None = None

    @property
    def count_only(self) -> bool:
        return self.summary == "count"

    @property
    def whole(self) -> bool:
        """Nothing is cut: ``apply`` gives back the resource unchanged."""
        return self.elements is None and self.summary not in ("true", "text", "data")


def requested_subset(request: Request) -> Subset:
    """The _summary and _elements of a request; 400 for an unknown _summary mode."""
    summary = request.query_params.get("_summary")
    if summary is not None and summary not in SUMMARY_MODES:
        raise error(400, "invalid", f"_summary must be one of {', '.join(SUMMARY_MODES)}, not '{summary}'")
    elements = request.query_params.get("_elements")
    names = frozenset(name.strip() for name in elements.split(",") if name.strip()) if elements else None
    return Subset(summary, names)


@cache
def _element_sets(resource_type: str) -> tuple[frozenset[str], frozenset[str]]:
    """(summary elements, mandatory elements) of a resource type, by JSON name."""
    summary, mandatory = set(), set()
    for name, field in get_fhir_model_class(resource_type).model_fields.items():
        extra = field.json_schema_extra if isinstance(field.json_schema_extra, dict) else {}
        json_name = field.alias or name
        if extra.get("summary_element_property"):
            summary.add(json_name)
        if extra.get("element_required"):
            mandatory.add(json_name)
    return frozenset(summary), frozenset(mandatory)


def _keep(resource: JsonDict, names: frozenset[str]) -> JsonDict:
    kept = {key: value for key, value in resource.items() if key in names or key.removeprefix("_") in names}
    meta = dict(kept.get("meta") or {})
    meta["tag"] = [*meta.get("tag", []), SUBSETTED]
    kept["meta"] = meta
    return kept


def apply(resource: JsonDict, subset: Subset) -> JsonDict:
    """The resource cut down as asked; unchanged when nothing (or _summary=false) was asked."""
    summary_elements, mandatory = _element_sets(resource["resourceType"])
    if subset.elements is not None:
        return _keep(resource, _ALWAYS | mandatory | subset.elements)
    if subset.summary == "true":
        return _keep(resource, _ALWAYS | mandatory | summary_elements)
    if subset.summary == "text":
        return _keep(resource, _ALWAYS | mandatory | {"text"})
    if subset.summary == "data":
        return _keep(resource, frozenset(resource) - {"text"})
    return resource
