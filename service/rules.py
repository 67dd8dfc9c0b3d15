"""The Harmonise conventions (docs/profile.md), checked on a valid PlanDefinition.

Every finding here is a warning: the resource is valid FHIR and loads; it only falls short of what
comparison needs. Each finding names its rule id, the element path and what to change.
"""

from collections import Counter
from collections.abc import Callable

from fhir.resources.R4B.plandefinition import PlanDefinition

from . import conventions as c
from . import terminology
from .normalise import codes
from .pathway import Pathway, PathwayKind
from .problems import Problem, warning

Check = Callable[[PlanDefinition, Pathway], list[Problem]]

#: What each rule id means, for ``harmonise validate --help`` and the profile page.
RULES: dict[str, str] = {
    "profile": "meta.profile names the trust-pathway or network-guideline profile",
    "metadata": "url, version, name, title, status, date and publisher are present",
    "type": "type is plan-definition-type#clinical-protocol",
    "owning-organization": "the owning-organization extension holds a known ODS code",
    "topic": "a useContext 'focus' carries a known pathway-topic code",
    "hosted-network": "a useContext 'program' carries the topic's hosted network",
    "derived-from": "an adopted guideline is named as url|version",
    "publisher": "the publisher is the owning trust's name",
    "action-id": "every step has an id, unique in the pathway",
    "step-kind": "every step has a pathway-step code",
    "contact-mode": "every step has a contact-mode code",
    "participant": "participant roles are coded in care-role",
    "index-event": "the first step's trigger names the topic's index event",
    "timing": "every step has a timing that can be compared without a patient",
    "related-action": "relatedActions point at steps of the same pathway, without cycles",
    "units": "durations use UCUM units of time with a code",
    "guideline-step": "a guideline step has an allowed window (timingRange) and requiredBehavior",
}

_METADATA = ("url", "version", "name", "title", "status", "date", "publisher")


def _profile(plan: PlanDefinition, pathway: Pathway) -> list[Problem]:
    profiles = set(plan.meta.profile or []) if plan.meta else set()
    if {c.TRUST_PATHWAY_PROFILE, c.NETWORK_GUIDELINE_PROFILE} <= profiles:
        return [
            warning(
                "claims both the trust-pathway and the network-guideline profile; use one",
                "PlanDefinition.meta.profile",
                "profile",
            )
        ]
    return []


def _metadata(plan: PlanDefinition, pathway: Pathway) -> list[Problem]:
    return [
        warning(f"'{name}' is missing", f"PlanDefinition.{name}", "metadata")
        for name in _METADATA
        if getattr(plan, name) in (None, "")
    ]


def _type(plan: PlanDefinition, pathway: Pathway) -> list[Problem]:
    if "clinical-protocol" in codes([plan.type], c.PLAN_DEFINITION_TYPE_SYSTEM):
        return []
    return [
        warning("type should be clinical-protocol from " + c.PLAN_DEFINITION_TYPE_SYSTEM, "PlanDefinition.type", "type")
    ]


def _owning_organization(plan: PlanDefinition, pathway: Pathway) -> list[Problem]:
    if pathway.trust is None:
        return [
            warning(
                f"no owning organisation: add an extension {c.OWNING_ORGANIZATION_EXTENSION} with a "
                f"valueIdentifier in {c.ODS_SYSTEM}",
                "PlanDefinition.extension",
                "owning-organization",
            )
        ]
    if pathway.trust not in c.TRUSTS:
        return [
            warning(
                f"the ODS code '{pathway.trust}' is not one of the network's trusts ({', '.join(c.TRUSTS)})",
                "PlanDefinition.extension",
                "owning-organization",
            )
        ]
    return []


def _topic(plan: PlanDefinition, pathway: Pathway) -> list[Problem]:
    if pathway.topic is None:
        return [
            warning(
                f"no pathway topic: add a useContext with code 'focus' coded in {c.PATHWAY_TOPIC_SYSTEM}",
                "PlanDefinition.useContext",
                "topic",
            )
        ]
    if pathway.topic not in terminology.topics():
        return [
            warning(
                f"'{pathway.topic}' is not a known pathway topic (service/terminology/pathway-topic.json)",
                "PlanDefinition.useContext",
                "topic",
            )
        ]
    return []


def _hosted_network(plan: PlanDefinition, pathway: Pathway) -> list[Problem]:
    expected = terminology.topic_network(pathway.topic) if pathway.topic else None
    if pathway.network is None:
        return [
            warning(
                f"no hosted network: add a useContext with code 'program' coded in {c.HOSTED_NETWORK_SYSTEM}",
                "PlanDefinition.useContext",
                "hosted-network",
            )
        ]
    if pathway.network not in terminology.code_system(c.HOSTED_NETWORK_SYSTEM):
        return [warning(f"'{pathway.network}' is not a hosted network", "PlanDefinition.useContext", "hosted-network")]
    if expected and expected != pathway.network:
        return [
            warning(
                f"topic '{pathway.topic}' belongs to the {expected} network, not {pathway.network}",
                "PlanDefinition.useContext",
                "hosted-network",
            )
        ]
    return []


def _derived_from(plan: PlanDefinition, pathway: Pathway) -> list[Problem]:
    problems = []
    for index, artifact in enumerate(plan.relatedArtifact or []):
        if artifact.type == "derived-from" and artifact.resource and "|" not in artifact.resource:
            problems.append(
                warning(
                    f"the adopted guideline '{artifact.resource}' has no version: write url|version",
                    f"PlanDefinition.relatedArtifact[{index}].resource",
                    "derived-from",
                )
            )
    return problems


def _publisher(plan: PlanDefinition, pathway: Pathway) -> list[Problem]:
    owner = c.TRUSTS.get(pathway.trust or "")
    if pathway.kind is PathwayKind.TRUST_PATHWAY and owner and plan.publisher and plan.publisher != owner:
        return [
            warning(
                f"publisher '{plan.publisher}' is not the owning trust's name '{owner}'",
                "PlanDefinition.publisher",
                "publisher",
            )
        ]
    return []


def _steps(plan: PlanDefinition, pathway: Pathway) -> list[Problem]:
    problems: list[Problem] = []
    ids = Counter(step.action_id for step in pathway.steps if step.action_id)
    kinds = terminology.code_system(c.PATHWAY_STEP_SYSTEM)
    modes = terminology.code_system(c.CONTACT_MODE_SYSTEM)
    roles = terminology.code_system(c.CARE_ROLE_SYSTEM)
    for step in pathway.steps:
        if step.action_id is None:
            problems.append(warning("the step has no id", f"{step.path}.id", "action-id"))
        elif ids[step.action_id] > 1:
            problems.append(
                warning(f"the id '{step.action_id}' is used by more than one step", f"{step.path}.id", "action-id")
            )
        if step.kind is None:
            problems.append(
                warning(f"no step kind: add a code from {c.PATHWAY_STEP_SYSTEM}", f"{step.path}.code", "step-kind")
            )
        elif step.kind not in kinds:
            problems.append(warning(f"'{step.kind}' is not a pathway-step code", f"{step.path}.code", "step-kind"))
        if step.mode is None:
            problems.append(
                warning(
                    f"no contact mode: add a code from {c.CONTACT_MODE_SYSTEM}", f"{step.path}.code", "contact-mode"
                )
            )
        elif step.mode not in modes:
            problems.append(warning(f"'{step.mode}' is not a contact-mode code", f"{step.path}.code", "contact-mode"))
        for role in step.roles:
            if role not in roles:
                problems.append(
                    warning(
                        f"the role '{role}' is not coded in {c.CARE_ROLE_SYSTEM}",
                        f"{step.path}.participant",
                        "participant",
                    )
                )
        if not step.timing.comparable:
            problems.append(
                warning(f"timing is not statically comparable: {step.timing.not_comparable}", step.path, "timing")
            )
        if pathway.kind is PathwayKind.NETWORK_GUIDELINE:
            if not step.timing.sources or not step.timing.sources[0].endswith("timingRange"):
                problems.append(
                    warning("a guideline step gives its allowed window as timingRange", step.path, "guideline-step")
                )
            if step.required_behavior is None:
                problems.append(
                    warning(
                        "a guideline step says whether it is required (requiredBehavior)",
                        f"{step.path}.requiredBehavior",
                        "guideline-step",
                    )
                )
    return problems


def _index_event(plan: PlanDefinition, pathway: Pathway) -> list[Problem]:
    expected = terminology.topic_index_event(pathway.topic) if pathway.topic else None
    if not plan.action:
        return []
    if pathway.index_event is None:
        hint = f" '{expected}'" if expected else ""
        return [
            warning(
                f"the first step has no named-event trigger naming the index event{hint}",
                "PlanDefinition.action[0].trigger",
                "index-event",
            )
        ]
    if expected and pathway.index_event != expected:
        return [
            warning(
                f"the index event '{pathway.index_event}' differs from the topic's '{expected}': "
                "timings would not be comparable",
                "PlanDefinition.action[0].trigger",
                "index-event",
            )
        ]
    return []


_CHECKS: tuple[Check, ...] = (
    _profile,
    _metadata,
    _type,
    _owning_organization,
    _topic,
    _hosted_network,
    _derived_from,
    _publisher,
    _steps,
    _index_event,
)


def check(plan: PlanDefinition, pathway: Pathway) -> list[Problem]:
    """Convention warnings for one PlanDefinition.

    A PlanDefinition without a Harmonise profile gets one warning saying it will not be compared,
    not a warning per missing convention: it was written for another purpose.
    """
    if pathway.kind is PathwayKind.OTHER:
        return [
            warning(
                "no Harmonise profile (trust-pathway or network-guideline) in meta.profile: "
                "it loads and is served, but takes no part in comparison",
                "PlanDefinition.meta.profile",
                "profile",
            )
        ]
    return [problem for check_ in _CHECKS for problem in check_(plan, pathway)]
