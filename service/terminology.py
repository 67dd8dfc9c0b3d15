"""The Harmonise code systems, read from the CodeSystem resources in ``service/terminology/``.

Those files are the single list of valid codes: the validator checks against them, the site
shows them, and adding a pathway topic means adding a concept to ``pathway-topic.json``.
"""

import json
from dataclasses import dataclass
from functools import cache
from importlib import resources

from . import conventions


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


def _read(name: str) -> CodeSystem:
    text = resources.files(__package__).joinpath("terminology", f"{name}.json").read_text("utf-8")
    data = json.loads(text)
    concepts = {}
    for item in data["concept"]:
        props = {p["code"]: next(v for k, v in p.items() if k.startswith("value")) for p in item.get("property", [])}
        concepts[item["code"]] = Concept(item["code"], item["display"], item.get("definition", ""), props)
    return CodeSystem(url=data["url"], title=data["title"], concepts=concepts)


@cache
def code_system(url: str) -> CodeSystem:
    """The Harmonise code system with this canonical URL."""
    names = {
        conventions.PATHWAY_TOPIC_SYSTEM: "pathway-topic",
        conventions.HOSTED_NETWORK_SYSTEM: "hosted-network",
        conventions.PATHWAY_STEP_SYSTEM: "pathway-step",
        conventions.CONTACT_MODE_SYSTEM: "contact-mode",
        conventions.CARE_ROLE_SYSTEM: "care-role",
    }
    return _read(names[url])


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
