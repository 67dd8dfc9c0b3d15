"""The sample network meets the foundation issue's brief: coverage, variety, and clinical-safety rules."""

from collections import Counter, defaultdict
from pathlib import Path

import pytest

from service import conventions, loader, terminology
from service.pathway import PathwayKind

from .conftest import GUIDELINES, PATHWAYS

pytestmark = pytest.mark.fast  # no database, server process or browser: make test-fast runs it

RESULT = loader.load([PATHWAYS, GUIDELINES])
PATHWAYS_LOADED = [r for r in RESULT.resources if r.pathway.kind is PathwayKind.TRUST_PATHWAY]
GUIDELINES_LOADED = [r for r in RESULT.resources if r.pathway.kind is PathwayKind.NETWORK_GUIDELINE]

#: Every code system a sample resource may use: the Harmonise ones and HL7/UCUM/ISO structure codes.
#: No SNOMED CT, LOINC, OPCS or ICD code may appear in illustrative content.
ALLOWED_SYSTEMS = {
    conventions.PATHWAY_TOPIC_SYSTEM,
    conventions.HOSTED_NETWORK_SYSTEM,
    conventions.PATHWAY_STEP_SYSTEM,
    conventions.CONTACT_MODE_SYSTEM,
    conventions.CARE_ROLE_SYSTEM,
    conventions.ODS_SYSTEM,
    conventions.USAGE_CONTEXT_TYPE_SYSTEM,
    conventions.PLAN_DEFINITION_TYPE_SYSTEM,
    conventions.UCUM_SYSTEM,
    "urn:iso:std:iso:3166",
}


def _systems(value) -> list[str]:
    if isinstance(value, dict):
        found = [value["system"]] if isinstance(value.get("system"), str) else []
        return found + [s for v in value.values() for s in _systems(v)]
    if isinstance(value, list):
        return [s for v in value for s in _systems(v)]
    return []


def test_the_sample_content_has_no_problems_at_all() -> None:
    assert RESULT.problems == []


def test_every_network_has_at_least_three_topics_each_at_four_or_more_trusts() -> None:
    trusts_by_topic = defaultdict(set)
    for resource in PATHWAYS_LOADED:
        trusts_by_topic[resource.pathway.topic].add(resource.pathway.trust)
    topics_by_network = defaultdict(set)
    for topic in trusts_by_topic:
        topics_by_network[terminology.topic_network(topic)].add(topic)
    assert set(topics_by_network) == set(terminology.code_system(conventions.HOSTED_NETWORK_SYSTEM).concepts)
    assert all(len(topics) >= 3 for topics in topics_by_network.values())
    assert all(len(trusts) >= 4 for trusts in trusts_by_topic.values()), trusts_by_topic


def test_every_topic_has_a_network_guideline_with_windows_and_required_behaviour() -> None:
    pathway_topics = {r.pathway.topic for r in PATHWAYS_LOADED}
    guideline_topics = Counter(r.pathway.topic for r in GUIDELINES_LOADED if r.pathway.status != "retired")
    assert set(guideline_topics) == pathway_topics and set(guideline_topics.values()) == {1}
    for resource in GUIDELINES_LOADED:
        for step in resource.pathway.steps:
            assert step.timing.sources[0].endswith("timingRange") and step.required_behavior


def test_all_seven_trusts_appear_and_the_childrens_trust_only_in_paediatrics() -> None:
    assert {r.pathway.trust for r in PATHWAYS_LOADED} == set(conventions.TRUSTS)
    for resource in PATHWAYS_LOADED:
        if resource.pathway.trust == "RCU":
            assert resource.pathway.network == "paediatrics"


def test_schedules_really_vary_within_each_topic() -> None:
    by_topic = defaultdict(list)
    for resource in PATHWAYS_LOADED:
        by_topic[resource.pathway.topic].append(resource.pathway)
    for topic, pathways in by_topic.items():
        contacts = {sum(len(s.timing.occurrences) for s in p.steps if s.is_scheduled_contact) for p in pathways}
        modes = {s.mode for p in pathways for s in p.steps}
        assert len(contacts) >= 2, f"{topic}: every trust has the same number of contacts"
        assert len(modes) >= 3, f"{topic}: too few contact modes"


def test_every_sample_resource_is_marked_illustrative_and_uses_no_external_clinical_code() -> None:
    for resource in RESULT.resources:
        assert resource.pathway.experimental is True, resource.file
        assert "ILLUSTRATIVE" in (resource.plan.description or ""), resource.file
        assert set(_systems(resource.data)) <= ALLOWED_SYSTEMS, resource.file


def test_both_formats_are_used_about_half_each() -> None:
    suffixes = Counter(Path(r.file).suffix for r in RESULT.resources)
    assert suffixes[".xml"] >= len(RESULT.resources) // 3 and suffixes[".json"] >= len(RESULT.resources) // 3


def test_adopted_guidelines_are_named_by_an_existing_url_and_version() -> None:
    canonicals = {r.pathway.canonical for r in GUIDELINES_LOADED}
    adopted = [r.pathway.guideline for r in PATHWAYS_LOADED if r.pathway.guideline]
    assert adopted and set(adopted) <= canonicals


def test_every_guideline_has_its_narrative_beside_it() -> None:
    for resource in GUIDELINES_LOADED:
        narrative = Path(resource.file).with_suffix(".md")
        assert narrative.is_file(), narrative
        assert "Illustrative content" in narrative.read_text()
