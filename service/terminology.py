"""The Harmonise code systems, read from the CodeSystem resources in ``service/terminology/``.

Those files are the single list of valid codes: the validator checks against them, the site
shows them, the FHIR API serves them (with a ValueSet of all the codes of each, ``$expand`` and
``$validate-code``), and adding a pathway topic means adding a concept to ``pathway-topic.json``.
"""

import copy
import json
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

from . import conventions

JsonDict = dict[str, Any]

#: Where the network's ValueSets live: one per code system, ``{base}/ValueSet/<code system id>``.
VALUE_SET_BASE = f"{conventions.BASE}/ValueSet"


@dataclass(frozen=True, slots=True)
class Concept:
    code: str
    display: str
    definition: str
    properties: dict[str, str]


@dataclass(frozen=True, slots=True)
class CodeSystem:
    url: str
    title: str
    concepts: dict[str, Concept]

    def __contains__(self, code: object) -> bool:
        return code in self.concepts

    def display(self, code: str) -> str:
        concept = self.concepts.get(code)
        return concept.display if concept else code


@cache
def _resources() -> dict[str, JsonDict]:
    """Every CodeSystem file of the package, by canonical URL (read once)."""
    found: dict[str, JsonDict] = {}
    for item in sorted(resources.files(__package__).joinpath("terminology").iterdir(), key=lambda i: i.name):
        if item.name.endswith(".json"):
            data = json.loads(item.read_text("utf-8"))
            found[data["url"]] = data
    return found


def _read(data: JsonDict) -> CodeSystem:
    concepts = {}
    for item in data["concept"]:
        props = {p["code"]: next(v for k, v in p.items() if k.startswith("value")) for p in item.get("property", [])}
        concepts[item["code"]] = Concept(item["code"], item["display"], item.get("definition", ""), props)
    return CodeSystem(url=data["url"], title=data["title"], concepts=concepts)


@cache
def code_system(url: str) -> CodeSystem:
    """The Harmonise code system with this canonical URL (KeyError for any other)."""
    return _read(_resources()[url])


def code_system_urls() -> list[str]:
    return list(_resources())


def code_system_resource(url: str) -> JsonDict:
    """The CodeSystem resource as written in its file (a copy: callers may change it)."""
    return copy.deepcopy(_resources()[url])


def value_set_url(system_url: str) -> str:
    return f"{VALUE_SET_BASE}/{_resources()[system_url]['id']}"


def value_set_resource(system_url: str) -> JsonDict:
    """The ValueSet of every code of one code system: the binding target of the profiles.

    It is defined by its compose (all of the system), so it can never list a code the system lacks.
    """
    system = _resources()[system_url]
    return {
        "resourceType": "ValueSet",
        "id": system["id"],
        "url": value_set_url(system_url),
        "version": system["version"],
        "name": system["name"],
        "title": system["title"],
        "status": system["status"],
        "experimental": system.get("experimental", True),
        "date": system["date"],
        "publisher": system["publisher"],
        "description": f"Every code of the {system['title']} code system ({system_url}).",
        "immutable": False,
        "compose": {"include": [{"system": system_url, "version": system["version"]}]},
    }


def value_set_system(value_set: str) -> str | None:
    """The code system a network ValueSet (``url`` or ``url|version``) takes its codes from."""
    url = value_set.partition("|")[0]
    return next((system for system in _resources() if value_set_url(system) == url), None)


def expand(system_url: str) -> JsonDict:
    """The ValueSet with its expansion (``$expand``): every concept, in the code system's order."""
    value_set = value_set_resource(system_url)
    system = _resources()[system_url]
    concepts = system["concept"]
    value_set["expansion"] = {
        "timestamp": system["date"],  # the content changes only with the software, on the system's date
        "total": len(concepts),
        "offset": 0,
        "parameter": [{"name": "version", "valueUri": f"{system_url}|{system['version']}"}],
        "contains": [{"system": system_url, "version": system["version"], "code": concept["code"],
                      "display": concept["display"]} for concept in concepts],
    }
    return value_set


@dataclass(frozen=True, slots=True)
class Validation:
    """The answer of ``$validate-code``: whether the code is valid, and why not."""

    result: bool
    message: str
    display: str | None = None


def validate_code(system_url: str, code: str, system: str | None = None, display: str | None = None) -> Validation:
    """Whether ``code`` (of ``system``, when the caller names one) is in the code system at ``system_url``.

    A wrong display is reported but does not make a valid code invalid (as FHIR's ``$validate-code`` says).
    """
    if system is not None and system != system_url:
        return Validation(False, f"the system '{system}' is not {system_url}")
    concepts = code_system(system_url).concepts
    concept = concepts.get(code)
    if concept is None:
        return Validation(False, f"'{code}' is not a code of {system_url} (codes: {', '.join(concepts)})")
    if display is not None and display != concept.display:
        return Validation(True, f"'{code}' is valid; its display is '{concept.display}', not '{display}'",
                          concept.display)
    return Validation(True, f"'{code}' is a code of {system_url}", concept.display)


def topics() -> CodeSystem:
    return code_system(conventions.PATHWAY_TOPIC_SYSTEM)


def topic_network(topic: str) -> str | None:
    """The hosted network a topic belongs to, or None for an unknown topic."""
    concept = topics().concepts.get(topic)
    return concept.properties.get("hosted-network") if concept else None


def topic_index_event(topic: str) -> str | None:
    concept = topics().concepts.get(topic)
    return concept.properties.get("index-event") if concept else None


def network_host(network: str) -> str | None:
    """ODS code of the trust that hosts a hosted network."""
    concept = code_system(conventions.HOSTED_NETWORK_SYSTEM).concepts.get(network)
    return concept.properties.get("host-trust") if concept else None
