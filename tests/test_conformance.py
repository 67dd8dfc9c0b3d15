"""The profiles as StructureDefinitions against the loader's rules, the samples against the
StructureDefinitions, the FHIR package's layout, and $apply's dates worked out by hand."""

import copy
import json
import tarfile
from datetime import date
from pathlib import Path

import pytest
from fhir.resources.R4B.careplan import CarePlan
from fhir.resources.R4B.requestgroup import RequestGroup
from fhir.resources.R4B.structuredefinition import StructureDefinition

from service import conventions as c
from service import fhirformat, loader, rules, terminology
from service.apply import ApplyError, apply, patient_reference
from service.conformance import catalogue, definitions
from service.conformance.package import dependencies, write_package
from service.register import Dimension

from .conftest import GUIDELINES, PATHWAYS, minimal_pathway

SAMPLES = sorted(p for p in [*PATHWAYS.rglob("*.json"), *PATHWAYS.rglob("*.xml"), *GUIDELINES.rglob("*.json"),
                             *GUIDELINES.rglob("*.xml")])
TONSILLECTOMY = GUIDELINES / "paediatrics" / "tonsillectomy-follow-up.json"
INDEX = date(2026, 1, 10)


def _read(path: Path) -> dict:
    return fhirformat.parse(path.read_bytes(), path.name)


def _profile(resource: dict) -> str:
    return next(p for p in resource["meta"]["profile"] if p in (c.TRUST_PATHWAY_PROFILE, c.NETWORK_GUIDELINE_PROFILE))


def _sd_rules(resource: dict) -> set[str]:
    return {finding.rule for finding in catalogue.conformance(resource, _profile(resource)) if finding.rule}


def _loader_rules(resource: dict) -> set[str]:
    return {problem.rule for problem in loader.check_plan_definition(resource)[2] if problem.rule in rules.RULES}


# --- the definitions ---------------------------------------------------------------------------------


def test_every_structure_definition_is_valid_fhir() -> None:
    for definition in catalogue.resources("StructureDefinition"):
        StructureDefinition.model_validate(definition)


def test_every_loader_rule_is_stated_in_a_profile_and_no_profile_states_another() -> None:
    stated: set[str] = set()
    for sd in (catalogue.by_url(c.TRUST_PATHWAY_PROFILE), catalogue.by_url(c.NETWORK_GUIDELINE_PROFILE),
               catalogue.by_url(c.OWNING_ORGANIZATION_EXTENSION)):
        assert sd is not None
        for element in sd["differential"]["element"]:
            stated |= {m["map"] for m in element.get("mapping", []) if m["identity"] == definitions.RULES_IDENTITY}
            stated |= {k["key"].removeprefix("hrm-").split(".")[0] for k in element.get("constraint", [])}
    assert stated == set(rules.RULES)


def test_the_profiles_code_lists_are_the_code_systems() -> None:
    """Bindings name the ValueSets, and each ValueSet expands to exactly its CodeSystem's codes."""
    for url in terminology.code_system_urls():
        expanded = {(i["system"], i["code"]) for i in terminology.expand(url)["expansion"]["contains"]}
        assert expanded == {(url, code) for code in terminology.code_system(url).concepts}
    trust = catalogue.by_url(c.TRUST_PATHWAY_PROFILE)
    assert trust is not None
    bound = {e["binding"]["valueSet"] for e in trust["differential"]["element"] if "binding" in e}
    assert bound == {terminology.value_set_url(s) for s in (c.PATHWAY_TOPIC_SYSTEM, c.HOSTED_NETWORK_SYSTEM,
                                                            c.CARE_ROLE_SYSTEM)}


def test_the_variation_dimensions_are_the_registers() -> None:
    dimensions = terminology.code_system(definitions.VARIATION_DIMENSION_SYSTEM).concepts
    assert list(dimensions) == [d.value for d in Dimension]


# --- the samples conform, read from the StructureDefinition ---------------------------------------------


@pytest.mark.parametrize("path", SAMPLES, ids=lambda p: str(p.relative_to(p.parents[2])))
def test_every_sample_conforms_to_its_profile(path: Path) -> None:
    resource = _read(path)
    assert catalogue.conformance(resource, _profile(resource)) == []


def test_the_sample_register_conforms_to_warranted_variation() -> None:
    from service.register import read_register, to_resource

    entries = read_register(GUIDELINES)[0]
    assert entries
    for entry in entries:
        assert catalogue.conformance(to_resource(entry), c.WARRANTED_VARIATION_PROFILE) == []


# --- the loader's rules and the StructureDefinitions find the same faults -------------------------------


def _mutations() -> dict[str, tuple[str, dict]]:
    """One fault per rule: (the rule both must name, the faulty pathway), built from the test pathway."""
    base = minimal_pathway()
    found: dict[str, tuple[str, dict]] = {}

    def mutate(name: str, rule: str, change) -> None:
        resource = copy.deepcopy(base)
        change(resource)
        found[name] = (rule, resource)

    mutate("both-profiles", "profile", lambda r: r["meta"]["profile"].append(c.NETWORK_GUIDELINE_PROFILE))
    mutate("no-date", "metadata", lambda r: r.pop("date"))
    mutate("no-title", "metadata", lambda r: r.pop("title"))
    mutate("other-type", "type", lambda r: r["type"]["coding"][0].update(code="order-set"))
    mutate("no-owner", "owning-organization", lambda r: r.pop("extension"))
    mutate("unknown-ods", "owning-organization", lambda r: r["extension"][0]["valueIdentifier"].update(value="XYZ"))
    mutate("unknown-topic", "topic",
           lambda r: r["useContext"][0]["valueCodeableConcept"]["coding"][0].update(code="no-such-topic"))
    mutate("no-network", "hosted-network", lambda r: r["useContext"].pop(1))
    mutate("other-network", "hosted-network",
           lambda r: r["useContext"][1]["valueCodeableConcept"]["coding"][0].update(code="stroke"))
    mutate("unversioned-guideline", "derived-from", lambda r: r.update(relatedArtifact=[
        {"type": "derived-from", "resource": "http://harmonise.example.org/fhir/PlanDefinition/g"}]))
    mutate("other-publisher", "publisher", lambda r: r.update(publisher="Someone else"))
    mutate("no-id", "action-id", lambda r: r["action"][1].pop("id"))
    mutate("same-id", "action-id", lambda r: r["action"][1].update(id=r["action"][0]["id"]))
    mutate("unknown-kind", "step-kind", lambda r: r["action"][0]["code"][0]["coding"][0].update(code="x-ray"))
    mutate("no-kind", "step-kind", lambda r: r["action"][0]["code"].pop(0))
    mutate("no-mode", "contact-mode", lambda r: r["action"][0]["code"].pop(1))
    mutate("role-in-words", "participant", lambda r: r["action"][0].update(
        participant=[{"type": "practitioner", "role": {"text": "Surgeon"}}]))
    mutate("unknown-role", "participant", lambda r: r["action"][0].update(participant=[
        {"type": "practitioner", "role": {"coding": [{"system": c.CARE_ROLE_SYSTEM, "code": "wizard"}]}}]))
    mutate("no-trigger", "index-event", lambda r: r["action"][0].pop("trigger"))
    mutate("other-event", "index-event", lambda r: r["action"][0]["trigger"][0].update(name="day-of-admission"))
    mutate("age", "timing", lambda r: r["action"][1].update(
        timingAge={"value": 5, "unit": "a", "system": c.UCUM_SYSTEM, "code": "a"}) or r["action"][1].pop(
        "timingDuration", None) or r["action"][1].pop("timingRange", None))
    mutate("no-timing", "timing", lambda r: [r["action"][1].pop(k, None) for k in ("timingDuration", "timingRange",
                                                                                   "timingTiming")])
    mutate("missing-target", "related-action", lambda r: r["action"][1].update(
        relatedAction=[{"actionId": "nowhere", "relationship": "after-end"}]))
    mutate("not-a-time-unit", "units", lambda r: r["action"][0].update(
        timingDuration={"value": 6, "unit": "g", "system": c.UCUM_SYSTEM, "code": "g"}))
    return found


MUTATIONS = _mutations()


def test_the_unchanged_test_pathway_breaks_no_rule_by_either_reading() -> None:
    resource = minimal_pathway()
    assert _loader_rules(resource) == set() == _sd_rules(resource)


@pytest.mark.parametrize("name", list(MUTATIONS))
def test_the_loader_and_the_structure_definition_find_the_same_fault(name: str) -> None:
    rule, resource = MUTATIONS[name]
    assert rule in _loader_rules(resource)
    assert rule in _sd_rules(resource)
    assert _sd_rules(resource) - {"timing", "related-action"} <= _loader_rules(resource)


def test_a_guideline_step_without_a_window_breaks_guideline_step_by_both() -> None:
    guideline = _read(TONSILLECTOMY)
    step = guideline["action"][2]
    step["timingDuration"] = step.pop("timingRange")["low"]
    del guideline["action"][0]["requiredBehavior"]
    assert "guideline-step" in _loader_rules(guideline)
    assert "guideline-step" in _sd_rules(guideline)


def test_every_rule_has_a_fault_that_shows_it() -> None:
    assert {rule for rule, _resource in MUTATIONS.values()} | {"guideline-step"} == set(rules.RULES)


# --- the package ------------------------------------------------------------------------------------


def test_the_package_unpacks_to_the_fhir_package_layout(tmp_path: Path) -> None:
    guideline = _read(TONSILLECTOMY)
    target = write_package(tmp_path, [guideline])
    assert target == tmp_path / "package.tgz"
    with tarfile.open(target) as archive:
        names = archive.getnames()
        assert all(name.startswith("package/") for name in names)
        manifest = json.load(archive.extractfile("package/package.json"))  # type: ignore[arg-type]
        index = json.load(archive.extractfile("package/.index.json"))  # type: ignore[arg-type]
        files = {entry["filename"]: entry for entry in index["files"]}
        for entry in index["files"]:
            content = json.load(archive.extractfile(f"package/{entry['filename']}"))  # type: ignore[arg-type]
            assert (content["resourceType"], content["id"]) == (entry["resourceType"], entry["id"])
            assert content.get("url") == entry.get("url")
    assert manifest["name"] and manifest["version"] and manifest["fhirVersions"] == ["4.0.1"]
    assert manifest["dependencies"] == {"hl7.fhir.r4.core": "4.0.1"}
    assert index["index-version"] == 1
    assert set(names) == {"package/package.json", "package/.index.json", *(f"package/{n}" for n in files)}
    assert "StructureDefinition-trust-pathway.json" in files
    assert "StructureDefinition-warranted-variation.json" in files
    assert "ValueSet-contact-mode.json" in files and "CodeSystem-contact-mode.json" in files
    assert "PlanDefinition-guideline-tonsillectomy-follow-up.json" in files
    assert write_package(tmp_path / "again", [guideline]).read_bytes() == target.read_bytes()  # reproducible


def test_a_guideline_depends_on_its_profile_extension_value_sets_and_code_systems() -> None:
    found = {(item["resourceType"], item["id"]) for item in dependencies(_read(TONSILLECTOMY))}
    assert {("StructureDefinition", "network-guideline"), ("StructureDefinition", "owning-organization"),
            ("ValueSet", "pathway-topic"), ("CodeSystem", "pathway-step"), ("CodeSystem", "contact-mode"),
            ("CodeSystem", "care-role")} <= found
    assert ("StructureDefinition", "trust-pathway") not in found


# --- $apply, dates worked out by hand ------------------------------------------------------------------


def _actions(plan: dict) -> dict[str, dict]:
    group = next(item for item in plan["contained"] if item["resourceType"] == "RequestGroup")
    return {action["id"]: action for action in group["action"]}


def test_apply_the_tonsillectomy_guideline_from_10_january_2026() -> None:
    plan = apply(_read(TONSILLECTOMY), "Patient/example", INDEX)
    CarePlan.model_validate(plan)
    RequestGroup.model_validate(plan["contained"][0])
    actions = _actions(plan)
    # Days 1-2: 10 January + 1 = 11 January, + 2 = 12 January.
    assert actions["call-day-1"]["timingPeriod"] == {"start": "2026-01-11", "end": "2026-01-12"}
    # Days 4-8: 14 to 18 January.
    assert actions["recovery-call"]["timingPeriod"] == {"start": "2026-01-14", "end": "2026-01-18"}
    # 6 to 16 weeks: day 42 (21 days to 31 January, 21 more to 21 February) to day 112 (2 May).
    assert actions["sleep-review"]["timingPeriod"] == {"start": "2026-02-21", "end": "2026-05-02"}
    assert actions["discharge"]["timingPeriod"] == {"start": "2026-01-24", "end": "2026-05-02"}
    assert actions["call-day-1"]["participant"] == [{"reference": "#role-nurse", "display": "Nurse"}]
    assert [code["coding"][0]["code"] for code in actions["call-day-1"]["code"]] == ["follow-up", "telephone"]
    assert actions["sleep-review"]["condition"][0]["expression"]["expression"] == "SignificantOSA"
    assert "not evaluated" in actions["sleep-review"]["textEquivalent"]
    assert plan["subject"] == {"reference": "Patient/example"}
    assert plan["period"] == {"start": "2026-01-10", "end": "2026-05-02"}
    assert plan["activity"] == [{"reference": {"reference": "#request-group"}}]
    assert plan["instantiatesCanonical"] == [
        "http://harmonise.example.org/fhir/PlanDefinition/guideline-tonsillectomy-follow-up|1.0.0"]


def _timed(**timing) -> dict:
    pathway = minimal_pathway()
    pathway["action"] = pathway["action"][:1]
    for key in ("timingDuration", "timingRange", "timingTiming"):
        pathway["action"][0].pop(key, None)
    pathway["action"][0].update(timing)
    return pathway


def test_a_step_at_6_weeks_falls_on_21_february() -> None:
    plan = apply(_timed(timingDuration={"value": 6, "unit": "wk", "system": c.UCUM_SYSTEM, "code": "wk"}),
                 "Patient/p", INDEX)
    (action,) = _actions(plan).values()
    assert action["timingDateTime"] == "2026-02-21"


def test_every_3_months_4_times_from_week_6_in_mean_months() -> None:
    """Days 42, 42 + 91.3125 = 133.3125 -> 133, 224.625 -> 225, 315.9375 -> 316 (a month is 30.4375 days)."""
    repeat = {"boundsRange": {"low": {"value": 6, "unit": "wk", "system": c.UCUM_SYSTEM, "code": "wk"}},
              "count": 4, "period": 3, "periodUnit": "mo"}
    plan = apply(_timed(timingTiming={"repeat": repeat}), "Patient/p", INDEX)
    (action,) = _actions(plan).values()
    # 10 Jan + 42 = 21 Feb; + 133 = 23 May (21 Jan, 28 Feb, 31 Mar, 30 Apr = 110, + 23);
    # + 225 = 23 Aug (31 May 141, 30 Jun 171, 31 Jul 202, + 23); + 316 = 22 Nov (31 Aug 233, 30 Sep 263,
    # 31 Oct 294, + 22).
    assert [a["timingDateTime"] for a in action["action"]] == ["2026-02-21", "2026-05-23", "2026-08-23", "2026-11-22"]
    assert [a["title"].rsplit("(", 1)[1] for a in action["action"]] == ["1 of 4)", "2 of 4)", "3 of 4)", "4 of 4)"]


def test_the_dates_are_the_comparisons_days() -> None:
    """$apply adds the days the variation report uses (service.timing) to the index date: one arithmetic."""
    resource = _read(TONSILLECTOMY)
    pathway = loader.check_plan_definition(resource)[1]
    assert pathway is not None
    actions = _actions(apply(resource, "Patient/p", INDEX))
    for step in pathway.steps:
        (occurrence,) = step.timing.occurrences
        period = actions[step.action_id]["timingPeriod"]
        assert (date.fromisoformat(period["start"]) - INDEX).days == occurrence.earliest
        assert (date.fromisoformat(period["end"]) - INDEX).days == occurrence.latest


def test_a_step_that_needs_the_patient_has_no_date_and_says_why() -> None:
    plan = apply(_timed(timingAge={"value": 5, "unit": "a", "system": c.UCUM_SYSTEM, "code": "a"}), "Patient/p", INDEX)
    (action,) = _actions(plan).values()
    assert not any(key.startswith("timing") for key in action)
    assert action["description"].startswith("No date: ")


# No subject, or two, is refused by ApplyParameters (tests/test_operation_parameters.py).
@pytest.mark.parametrize("subject", ["Practitioner/1", "1", ""])
def test_subject_must_be_a_patient_reference(subject: str) -> None:
    with pytest.raises(ApplyError):
        patient_reference(subject)
    assert patient_reference("Patient/1") == "Patient/1"
