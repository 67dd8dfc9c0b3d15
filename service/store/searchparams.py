"""The search parameters the server supports: the one registry behind indexing, SQL and metadata.

Each ``SearchParameter`` says what it is called, its FHIR type, the FHIRPath it follows, where it
is defined, which modifiers it takes, and how to pull its values out of a resource. The indexer
extracts with it, the query builder matches with it, and the CapabilityStatement lists it, so a
parameter is supported everywhere or nowhere.
"""

import re
import unicodedata
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Final

from .. import conventions as c
from ..fhirformat import JsonDict
from .dates import date_range, period_range


class ParamType(StrEnum):
    STRING = "string"
    TOKEN = "token"
    URI = "uri"
    DATE = "date"
    REFERENCE = "reference"


#: The modifiers each type supports (all of them take ``:missing``).
MODIFIERS: Final[dict[ParamType, tuple[str, ...]]] = {
    ParamType.STRING: ("exact", "contains", "missing"),
    ParamType.TOKEN: ("not", "missing"),
    ParamType.URI: ("below", "missing"),
    ParamType.DATE: ("missing",),
    ParamType.REFERENCE: ("missing",),
}

#: The date comparison prefixes (FHIR R4 search, 3.1.1.4.3).
DATE_PREFIXES: Final = ("eq", "ne", "gt", "lt", "ge", "le", "sa", "eb", "ap")


@dataclass(frozen=True)
class IndexValue:
    """One value of one parameter in one resource version (columns of ``search_index``)."""

    value: str | None = None
    namespace: str | None = None
    normalized: str | None = None
    low: str | None = None
    high: str | None = None


Extractor = Callable[[JsonDict], Iterable[IndexValue]]


@dataclass(frozen=True)
class SearchParameter:
    name: str
    type: ParamType
    #: The FHIRPath expression, as in the specification (documentation only).
    expression: str
    description: str
    #: Canonical URL of the SearchParameter definition.
    definition: str
    extract: Extractor
    #: For uri and reference parameters holding canonicals: ``value|version`` matches the version too.
    versioned: bool = False

    @property
    def modifiers(self) -> tuple[str, ...]:
        return MODIFIERS[self.type]


# --- extraction helpers --------------------------------------------------------------------------


def values_at(node: Any, path: str) -> Iterator[Any]:
    """Every value at a dotted element path, descending through lists (a tiny FHIRPath)."""
    items = node if isinstance(node, list) else [node]
    head, _, rest = path.partition(".")
    for item in items:
        if not isinstance(item, dict) or item.get(head) is None:
            continue
        child = item[head]
        if rest:
            yield from values_at(child, rest)
        elif isinstance(child, list):
            yield from (value for value in child if value is not None)
        else:
            yield child


_SPACES = re.compile(r"\s+")


def normalize(text: str) -> str:
    """A string's matching form: accents removed, case folded, runs of spaces made one."""
    if not text.isascii():  # ASCII has nothing to decompose and no accents (the usual case, and fast)
        decomposed = unicodedata.normalize("NFKD", text)
        text = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return _SPACES.sub(" ", text.casefold()).strip()


def strings(*paths: str) -> Extractor:
    def extract(resource: JsonDict) -> Iterator[IndexValue]:
        for path in paths:
            for text in values_at(resource, path):
                if isinstance(text, str):
                    yield IndexValue(value=text, normalized=normalize(text))
    return extract


def codes(path: str) -> Extractor:
    """A primitive ``code`` or ``string`` searched as a token without a system."""
    def extract(resource: JsonDict) -> Iterator[IndexValue]:
        for code in values_at(resource, path):
            if isinstance(code, str):
                yield IndexValue(value=code)
    return extract


def codings(path: str) -> Extractor:
    """Tokens from Codings, or CodeableConcepts (whose codings are read)."""
    def extract(resource: JsonDict) -> Iterator[IndexValue]:
        for item in values_at(resource, path):
            if not isinstance(item, dict):
                continue
            listed = item.get("coding") if "coding" in item else [item]  # a CodeableConcept, or a Coding
            for coding in listed if isinstance(listed, list) else []:
                if isinstance(coding, dict) and coding.get("code") is not None:
                    yield IndexValue(value=str(coding["code"]), namespace=coding.get("system"))
    return extract


def identifiers(path: str) -> Extractor:
    def extract(resource: JsonDict) -> Iterator[IndexValue]:
        for identifier in values_at(resource, path):
            if isinstance(identifier, dict) and identifier.get("value") is not None:
                yield IndexValue(value=str(identifier["value"]), namespace=identifier.get("system"))
    return extract


def dates(path: str) -> Extractor:
    def extract(resource: JsonDict) -> Iterator[IndexValue]:
        for text in values_at(resource, path):
            if isinstance(text, str):
                low, high = date_range(text)
                yield IndexValue(value=text, low=low, high=high)
    return extract


def periods(path: str) -> Extractor:
    def extract(resource: JsonDict) -> Iterator[IndexValue]:
        for period in values_at(resource, path):
            if isinstance(period, dict) and (period.get("start") or period.get("end")):
                low, high = period_range(period.get("start"), period.get("end"))
                yield IndexValue(low=low, high=high)
    return extract


def canonical(text: str) -> IndexValue:
    url, _, version = text.partition("|")
    return IndexValue(value=url, namespace=version or None)


def resource_url(resource: JsonDict) -> Iterator[IndexValue]:
    """``url``, carrying the resource's ``version`` so that ``url=...|1.0.0`` finds it."""
    if isinstance(resource.get("url"), str):
        yield IndexValue(value=resource["url"], namespace=resource.get("version"))


def related_artifacts(*types: str) -> Extractor:
    def extract(resource: JsonDict) -> Iterator[IndexValue]:
        for artifact in values_at(resource, "relatedArtifact"):
            if not isinstance(artifact, dict):
                continue
            if artifact.get("type") in types and isinstance(artifact.get("resource"), str):
                yield canonical(artifact["resource"])
    return extract


def owning_trust(resource: JsonDict) -> Iterator[IndexValue]:
    for extension in values_at(resource, "extension"):
        identifier = extension.get("valueIdentifier")
        if (extension.get("url") == c.OWNING_ORGANIZATION_EXTENSION and isinstance(identifier, dict)
                and identifier.get("value") is not None):
            yield IndexValue(value=str(identifier["value"]), namespace=identifier.get("system"))


def resource_id(resource: JsonDict) -> Iterator[IndexValue]:
    if isinstance(resource.get("id"), str):
        yield IndexValue(value=resource["id"])


def last_updated(resource: JsonDict) -> Iterator[IndexValue]:
    text = (resource.get("meta") or {}).get("lastUpdated")
    if isinstance(text, str):
        low, high = date_range(text)
        yield IndexValue(value=text, low=low, high=high)


# --- the registry --------------------------------------------------------------------------------

SPEC: Final = "http://hl7.org/fhir/SearchParameter"
OWN: Final = f"{c.BASE}/SearchParameter"


def _pd(name: str, type_: ParamType, expression: str, description: str, extract: Extractor,
        versioned: bool = False) -> SearchParameter:
    """A PlanDefinition parameter defined by FHIR R4 (its definition is the specification's)."""
    return SearchParameter(name, type_, expression, description, f"{SPEC}/PlanDefinition-{name}", extract,
                           versioned)


COMMON: Final = (
    SearchParameter("_id", ParamType.TOKEN, "Resource.id", "Logical id of this artifact",
                    f"{SPEC}/Resource-id", resource_id),
    SearchParameter("_lastUpdated", ParamType.DATE, "Resource.meta.lastUpdated",
                    "When the resource version last changed", f"{SPEC}/Resource-lastUpdated", last_updated),
)

PLAN_DEFINITION: Final = COMMON + (
    _pd("url", ParamType.URI, "PlanDefinition.url",
        "The uri that identifies the plan definition (url|version matches one version)", resource_url,
        versioned=True),
    _pd("version", ParamType.TOKEN, "PlanDefinition.version", "The business version of the plan definition",
        codes("version")),
    _pd("status", ParamType.TOKEN, "PlanDefinition.status", "The current status of the plan definition",
        codes("status")),
    _pd("name", ParamType.STRING, "PlanDefinition.name", "Computationally friendly name of the plan definition",
        strings("name")),
    _pd("title", ParamType.STRING, "PlanDefinition.title", "The human-friendly name of the plan definition",
        strings("title")),
    _pd("identifier", ParamType.TOKEN, "PlanDefinition.identifier",
        "External identifier for the plan definition", identifiers("identifier")),
    _pd("publisher", ParamType.STRING, "PlanDefinition.publisher", "Name of the publisher of the plan definition",
        strings("publisher")),
    _pd("description", ParamType.STRING, "PlanDefinition.description",
        "The description of the plan definition", strings("description")),
    _pd("topic", ParamType.TOKEN, "PlanDefinition.topic", "Topics associated with the module",
        codings("topic")),
    _pd("type", ParamType.TOKEN, "PlanDefinition.type",
        "The type of artifact the plan definition is (e.g. clinical-protocol)", codings("type")),
    _pd("date", ParamType.DATE, "PlanDefinition.date", "The plan definition publication date", dates("date")),
    _pd("effective", ParamType.DATE, "PlanDefinition.effectivePeriod",
        "The time during which the plan definition is intended to be in use", periods("effectivePeriod")),
    _pd("jurisdiction", ParamType.TOKEN, "PlanDefinition.jurisdiction",
        "Intended jurisdiction for the plan definition", codings("jurisdiction")),
    _pd("context", ParamType.TOKEN, "(PlanDefinition.useContext.value as CodeableConcept)",
        "A use context assigned to the plan definition", codings("useContext.valueCodeableConcept")),
    _pd("context-type", ParamType.TOKEN, "PlanDefinition.useContext.code",
        "A type of use context assigned to the plan definition", codings("useContext.code")),
    _pd("derived-from", ParamType.REFERENCE,
        "PlanDefinition.relatedArtifact.where(type='derived-from').resource",
        "What resource is being referenced (url or url|version)", related_artifacts("derived-from"),
        versioned=True),
    _pd("predecessor", ParamType.REFERENCE, "PlanDefinition.relatedArtifact.where(type='predecessor').resource",
        "What resource is being referenced", related_artifacts("predecessor"), versioned=True),
    _pd("successor", ParamType.REFERENCE, "PlanDefinition.relatedArtifact.where(type='successor').resource",
        "What resource is being referenced", related_artifacts("successor"), versioned=True),
    _pd("composed-of", ParamType.REFERENCE, "PlanDefinition.relatedArtifact.where(type='composed-of').resource",
        "What resource is being referenced", related_artifacts("composed-of"), versioned=True),
    SearchParameter(
        "trust", ParamType.TOKEN,
        f"PlanDefinition.extension('{c.OWNING_ORGANIZATION_EXTENSION}').value as Identifier",
        "ODS code of the owning trust (Harmonise owning-organization extension), "
        f"e.g. trust=RHQ or trust={c.ODS_SYSTEM}|RHQ",
        f"{OWN}/PlanDefinition-trust", owning_trust),
)

ORGANIZATION: Final = COMMON + (
    SearchParameter("identifier", ParamType.TOKEN, "Organization.identifier",
                    "Any identifier for the organization (the ODS code)", f"{SPEC}/Organization-identifier",
                    identifiers("identifier")),
    SearchParameter("name", ParamType.STRING, "Organization.name | Organization.alias",
                    "A portion of the organization's name or alias", f"{SPEC}/Organization-name",
                    strings("name", "alias")),
)

def reporter_trust(resource: JsonDict) -> Iterator[IndexValue]:
    identifier = (resource.get("reporter") or {}).get("identifier")
    if isinstance(identifier, dict) and identifier.get("value") is not None:
        yield IndexValue(value=str(identifier["value"]), namespace=identifier.get("system"))


def measure_canonical(resource: JsonDict) -> Iterator[IndexValue]:
    if isinstance(resource.get("measure"), str):
        yield canonical(resource["measure"])


MEASURE_REPORT: Final = COMMON + (
    SearchParameter("identifier", ParamType.TOKEN, "MeasureReport.identifier",
                    "External identifier of the report (trust|topic|measure|month for imported activity)",
                    f"{SPEC}/MeasureReport-identifier", identifiers("identifier")),
    SearchParameter("measure", ParamType.REFERENCE, "MeasureReport.measure",
                    "The measure the report is for (its canonical URL)", f"{SPEC}/MeasureReport-measure",
                    measure_canonical, versioned=True),
    SearchParameter("period", ParamType.DATE, "MeasureReport.period", "The period of the report",
                    f"{SPEC}/MeasureReport-period", periods("period")),
    SearchParameter("status", ParamType.TOKEN, "MeasureReport.status", "The status of the report",
                    f"{SPEC}/MeasureReport-status", codes("status")),
    SearchParameter("trust", ParamType.TOKEN, "MeasureReport.reporter.identifier",
                    "ODS code of the reporting trust, e.g. trust=RP5", f"{OWN}/MeasureReport-trust", reporter_trust),
    SearchParameter("topic", ParamType.TOKEN, "MeasureReport.group.code",
                    "Pathway topic of the activity, e.g. topic=tonsillectomy-follow-up",
                    f"{OWN}/MeasureReport-topic", codings("group.code")),
)

MEASURE: Final = COMMON + (
    SearchParameter("url", ParamType.URI, "Measure.url", "The uri that identifies the measure",
                    f"{SPEC}/Measure-url", resource_url, versioned=True),
    SearchParameter("name", ParamType.STRING, "Measure.name", "Computationally friendly name of the measure",
                    f"{SPEC}/Measure-name", strings("name")),
    SearchParameter("status", ParamType.TOKEN, "Measure.status", "The current status of the measure",
                    f"{SPEC}/Measure-status", codes("status")),
)

def targets(resource: JsonDict) -> Iterator[IndexValue]:
    """Each ``target`` reference as written (``Type/id/_history/n``) and without its version, so
    that ``target=PlanDefinition/x`` finds every version's record."""
    for reference in values_at(resource, "target.reference"):
        if isinstance(reference, str):
            yield IndexValue(value=reference)
            if "/_history/" in reference:
                yield IndexValue(value=reference.split("/_history/", 1)[0])


def agents(resource: JsonDict) -> Iterator[IndexValue]:
    """Who made the change and the trust they acted for."""
    yield from identifiers("agent.who.identifier")(resource)
    yield from identifiers("agent.onBehalfOf.identifier")(resource)


PROVENANCE: Final = COMMON + (
    SearchParameter("target", ParamType.REFERENCE, "Provenance.target",
                    "The version changed (PlanDefinition/x/_history/2) or every version of a resource "
                    "(PlanDefinition/x)", f"{SPEC}/Provenance-target", targets),
    SearchParameter("agent", ParamType.TOKEN, "Provenance.agent.who.identifier | Provenance.agent.onBehalfOf"
                    ".identifier", "Who made the change: the token subject, local-admin or anonymous, or the "
                    "ODS code of the trust they acted for (a token, unlike the specification's reference "
                    "parameter)", f"{OWN}/Provenance-agent", agents),
    SearchParameter("recorded", ParamType.DATE, "Provenance.recorded", "When the change was made",
                    f"{SPEC}/Provenance-recorded", dates("recorded")),
    SearchParameter("activity", ParamType.TOKEN, "Provenance.activity", "CREATE, UPDATE or DELETE "
                    "(v3 DataOperation)", f"{OWN}/Provenance-activity", codings("activity")),
)

def extension_values(url: str) -> Extractor:
    """Tokens, strings and dates held by the resource's extensions with this ``url`` (value[x] read by type)."""
    def extract(resource: JsonDict) -> Iterator[IndexValue]:
        for extension in values_at(resource, "extension"):
            if not isinstance(extension, dict) or extension.get("url") != url:
                continue
            if isinstance(coding := extension.get("valueCoding"), dict) and coding.get("code") is not None:
                yield IndexValue(value=str(coding["code"]), namespace=coding.get("system"))
            for key in ("valueCode", "valueString"):
                if isinstance(extension.get(key), str):
                    yield IndexValue(value=extension[key], normalized=normalize(extension[key]))
            if isinstance(extension.get("valueDate"), str):
                low, high = date_range(extension["valueDate"])
                yield IndexValue(value=extension["valueDate"], low=low, high=high)
    return extract


#: Register entries of warranted variation (Basic, profile warranted-variation: docs/profile.md).
BASIC: Final = COMMON + (
    SearchParameter("code", ParamType.TOKEN, "Basic.code", "The kind of resource (warranted-variation)",
                    f"{SPEC}/Basic-code", codings("code")),
    SearchParameter("trust", ParamType.TOKEN, "Basic.subject.identifier",
                    "ODS code of the trust whose variation is warranted, e.g. trust=RCU", f"{OWN}/Basic-trust",
                    identifiers("subject.identifier")),
    SearchParameter("topic", ParamType.TOKEN, f"Basic.extension('{c.VARIATION_TOPIC_EXTENSION}').value",
                    "Pathway topic of the entry, e.g. topic=tonsillectomy-follow-up", f"{OWN}/Basic-topic",
                    extension_values(c.VARIATION_TOPIC_EXTENSION)),
    SearchParameter("review-by", ParamType.DATE, f"Basic.extension('{c.VARIATION_REVIEW_BY_EXTENSION}').value",
                    "The day after which the entry no longer warrants the difference, e.g. review-by=lt2027-01-01",
                    f"{OWN}/Basic-review-by", extension_values(c.VARIATION_REVIEW_BY_EXTENSION)),
)

def _conformance(resource_type: str) -> tuple[SearchParameter, ...]:
    """url, version, name and status of a conformance resource (R4's shared conformance-* parameters)."""
    return COMMON + (
        SearchParameter("url", ParamType.URI, f"{resource_type}.url",
                        f"The uri that identifies the {resource_type} (url|version matches one version)",
                        f"{SPEC}/conformance-url", resource_url, versioned=True),
        SearchParameter("version", ParamType.TOKEN, f"{resource_type}.version",
                        f"The business version of the {resource_type}", f"{SPEC}/conformance-version",
                        codes("version")),
        SearchParameter("name", ParamType.STRING, f"{resource_type}.name",
                        f"Computationally friendly name of the {resource_type}", f"{SPEC}/conformance-name",
                        strings("name")),
        SearchParameter("status", ParamType.TOKEN, f"{resource_type}.status",
                        f"The current status of the {resource_type}", f"{SPEC}/conformance-status",
                        codes("status")),
    )


#: The conformance resources (served from memory, service.conformance.catalogue).
CONFORMANCE_TYPES: Final = ("StructureDefinition", "CodeSystem", "ValueSet")

#: Search parameters by resource type and name.
REGISTRY: Final[dict[str, dict[str, SearchParameter]]] = {
    "Basic": {p.name: p for p in BASIC},
    "PlanDefinition": {p.name: p for p in PLAN_DEFINITION},
    "Organization": {p.name: p for p in ORGANIZATION},
    "MeasureReport": {p.name: p for p in MEASURE_REPORT},
    "Measure": {p.name: p for p in MEASURE},
    "Provenance": {p.name: p for p in PROVENANCE},
    **{type_: {p.name: p for p in _conformance(type_)} for type_ in CONFORMANCE_TYPES},
}


def parameters_for(resource_type: str) -> dict[str, SearchParameter]:
    return REGISTRY.get(resource_type, {p.name: p for p in COMMON})
