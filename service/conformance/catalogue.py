"""The conformance resources of this software version: served read-only, from memory.

They are part of the software (the profiles and code systems change with a release, not with
what anyone stores), so they are built once per process rather than stored: a read or search of
``CodeSystem``, ``ValueSet`` or ``StructureDefinition`` answers from here. Search reads the same
search-parameter registry (``service.store.searchparams``) as the store and the
CapabilityStatement, matched in memory with the parameters' own extractors.
"""

from collections.abc import Iterable
from functools import cache
from typing import Final

from .. import terminology
from ..fhirformat import JsonDict
from ..store.query import Criterion, DateValue, SearchQuery
from ..store.searchparams import IndexValue, ParamType, SearchParameter, normalize
from .check import Finding, check
from .definitions import structure_definitions

#: The conformance resource types served from here, in CapabilityStatement order.
TYPES: Final = ("StructureDefinition", "CodeSystem", "ValueSet")


@cache
def _catalogue() -> dict[str, dict[str, JsonDict]]:
    systems = terminology.code_system_urls()
    found: dict[str, list[JsonDict]] = {
        "StructureDefinition": structure_definitions(),
        "CodeSystem": [terminology.code_system_resource(url) for url in systems],
        "ValueSet": [terminology.value_set_resource(url) for url in systems],
    }
    return {type_: {resource["id"]: resource for resource in items} for type_, items in found.items()}


def resources(resource_type: str) -> list[JsonDict]:
    """Every resource of one conformance type, in a stable order (callers must not change them)."""
    return list(_catalogue()[resource_type].values())


def read(resource_type: str, resource_id: str) -> JsonDict | None:
    return _catalogue()[resource_type].get(resource_id)


def by_url(url: str) -> JsonDict | None:
    """The conformance resource with this canonical (``url`` or ``url|version``)."""
    address, _, version = url.partition("|")
    for items in _catalogue().values():
        for resource in items.values():
            if resource["url"] == address and (not version or resource.get("version") == version):
                return resource
    return None


def definitions() -> dict[str, JsonDict]:
    """The StructureDefinitions by canonical URL."""
    return {sd["url"]: sd for sd in resources("StructureDefinition")}


@cache
def expansion(value_set: str) -> set[tuple[str, str]]:
    """The (system, code) pairs of one of the network's ValueSets."""
    system = terminology.value_set_system(value_set)
    if system is None:
        raise KeyError(f"{value_set} is not one of the network's ValueSets")
    return {(item["system"], item["code"]) for item in terminology.expand(system)["expansion"]["contains"]}


def conformance(resource: JsonDict, profile: str) -> list[Finding]:
    """How ``resource`` falls short of the profile at ``profile``, judged from its StructureDefinition."""
    return check(resource, profile, definitions(), expansion)


# --- search in memory ---------------------------------------------------------------------------


def _matches_value(criterion: Criterion, value: IndexValue, text: str) -> bool:
    parameter, modifier = criterion.parameter, criterion.modifier
    if parameter.type is ParamType.STRING:
        have, want = value.normalized or "", normalize(text)
        if modifier == "exact":
            return value.value == text
        return want in have if modifier == "contains" else have.startswith(want)
    if parameter.type is ParamType.URI:
        address, bar, version = text.partition("|")
        if modifier == "below":
            return (value.value or "").startswith(address)
        return value.value == address and (not bar or not parameter.versioned or value.namespace == version)
    if parameter.type in (ParamType.TOKEN, ParamType.REFERENCE):
        if "|" in text and parameter.type is ParamType.TOKEN:
            system, _, code = text.partition("|")
            return value.value == code and (value.namespace or "") == system if system else (
                value.value == code and not value.namespace)
        return value.value == text
    return False


def _matches(criterion: Criterion, resource: JsonDict) -> bool:
    values = list(criterion.parameter.extract(resource))
    if criterion.modifier == "missing":
        return (not values) == criterion.values[0]
    if criterion.parameter.type is ParamType.DATE:
        return any(isinstance(want, DateValue) and value.low is not None and value.high is not None
                   and _date_matches(want, value) for want in criterion.values for value in values)
    hit = any(_matches_value(criterion, value, str(want)) for want in criterion.values for value in values)
    return not hit if criterion.modifier == "not" else hit


def _date_matches(want: DateValue, value: IndexValue) -> bool:
    assert value.low is not None and value.high is not None
    low, high = want.range.low, want.range.high
    return {"eq": low <= value.low and value.high <= high, "ne": not (low <= value.low and value.high <= high),
            "gt": value.high > high, "lt": value.low < low, "ge": value.high >= low, "le": value.low <= high,
            "sa": value.low > high, "eb": value.high < low, "ap": value.low <= high and value.high >= low,
            }[want.prefix]


def search(query: SearchQuery) -> list[JsonDict]:
    """Every resource of the query's type that meets all its criteria, sorted as asked (else by id)."""
    found: Iterable[JsonDict] = resources(query.resource_type)
    found = [resource for resource in found if all(_matches(criterion, resource) for criterion in query.criteria)]
    for key in reversed(query.sort):
        found.sort(key=lambda resource: _sort_value(key.parameter, resource), reverse=key.descending)
    return found


def _sort_value(parameter: SearchParameter, resource: JsonDict) -> str:
    return min((value.value or value.low or "" for value in parameter.extract(resource)), default="")
