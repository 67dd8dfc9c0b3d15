"""Each Harmonise convention, broken on purpose, gives one warning naming its rule and element."""

from collections.abc import Callable

import pytest
from fhir.resources.R4B.plandefinition import PlanDefinition

from service import rules
from service.normalise import normalise
from service.problems import Severity

from .conftest import minimal_pathway

pytestmark = pytest.mark.fast  # no database, server process or browser: make test-fast runs it


def findings(resource: dict) -> list[tuple[str, str | None]]:
    plan = PlanDefinition.model_validate(resource)
    pathway, timing_problems = normalise(plan)
    problems = timing_problems + rules.check(plan, pathway)
    assert all(p.severity is Severity.WARNING for p in problems)
    return [(p.rule, p.path) for p in problems]


def test_the_minimal_pathway_follows_every_convention() -> None:
    assert findings(minimal_pathway()) == []


def _set(key: str, value) -> Callable[[dict], None]:
    return lambda r: r.__setitem__(key, value)


BREAKAGES: list[tuple[str, Callable[[dict], None], tuple[str, str]]] = [
    ("no version", lambda r: r.pop("version"), ("metadata", "PlanDefinition.version")),
    ("wrong type", _set("type", {"text": "order set"}), ("type", "PlanDefinition.type")),
    ("no owner", _set("extension", []), ("owning-organization", "PlanDefinition.extension")),
    (
        "unknown trust",
        lambda r: r["extension"][0]["valueIdentifier"].__setitem__("value", "ZZZ"),
        ("owning-organization", "PlanDefinition.extension"),
    ),
    (
        "unknown topic",
        lambda r: r["useContext"][0]["valueCodeableConcept"]["coding"][0].__setitem__("code", "knees"),
        ("topic", "PlanDefinition.useContext"),
    ),
    (
        "wrong network",
        lambda r: r["useContext"][1]["valueCodeableConcept"]["coding"][0].__setitem__("code", "stroke"),
        ("hosted-network", "PlanDefinition.useContext"),
    ),
    (
        "unversioned guideline",
        _set("relatedArtifact", [{"type": "derived-from", "resource": "http://x.org/g"}]),
        ("derived-from", "PlanDefinition.relatedArtifact[0].resource"),
    ),
    ("other publisher", _set("publisher", "Somebody Else"), ("publisher", "PlanDefinition.publisher")),
    ("no step id", lambda r: r["action"][1].pop("id"), ("action-id", "PlanDefinition.action[1].id")),
    (
        "unknown kind",
        lambda r: r["action"][1]["code"][0]["coding"][0].__setitem__("code", "séance"),
        ("step-kind", "PlanDefinition.action[1].code"),
    ),
    ("no mode", lambda r: r["action"][1]["code"].pop(1), ("contact-mode", "PlanDefinition.action[1].code")),
    (
        "uncoded role",
        lambda r: r["action"][1].__setitem__("participant", [{"type": "practitioner", "role": {"text": "Wizard"}}]),
        ("participant", "PlanDefinition.action[1].participant"),
    ),
    ("no trigger", lambda r: r["action"][0].pop("trigger"), ("index-event", "PlanDefinition.action[0].trigger")),
    (
        "other index event",
        lambda r: r["action"][0]["trigger"][0].__setitem__("name", "day-of-discharge"),
        ("index-event", "PlanDefinition.action[0].trigger"),
    ),
    ("untimed step", lambda r: r["action"][1].pop("timingDuration"), ("timing", "PlanDefinition.action[1]")),
]


@pytest.mark.parametrize(("change", "expected"), [(b[1], b[2]) for b in BREAKAGES], ids=[b[0] for b in BREAKAGES])
def test_each_broken_convention_is_one_named_warning(change: Callable[[dict], None], expected: tuple[str, str]) -> None:
    resource = minimal_pathway()
    change(resource)
    assert findings(resource) == [expected]


def test_a_guideline_step_needs_a_window_and_a_required_behaviour() -> None:
    resource = minimal_pathway()
    resource["meta"]["profile"] = ["http://harmonise.example.org/fhir/StructureDefinition/network-guideline"]
    resource["publisher"] = "South Yorkshire and Bassetlaw Gastroenterology Network"
    resource["action"][1]["timingRange"] = {
        "low": {"value": 4, "code": "wk", "system": "http://unitsofmeasure.org"},
        "high": {"value": 8, "code": "wk", "system": "http://unitsofmeasure.org"},
    }
    del resource["action"][1]["timingDuration"]
    resource["action"][1]["requiredBehavior"] = "must"
    assert findings(resource) == [
        ("guideline-step", "PlanDefinition.action[0]"),
        ("guideline-step", "PlanDefinition.action[0].requiredBehavior"),
    ]


def test_content_without_a_harmonise_profile_gets_one_warning_only() -> None:
    resource = {"resourceType": "PlanDefinition", "status": "draft", "action": [{"title": "anything"}]}
    assert findings(resource) == [("profile", "PlanDefinition.meta.profile")]
