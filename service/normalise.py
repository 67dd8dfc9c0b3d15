"""A validated R4B PlanDefinition to the normalised ``Pathway`` (see ``pathway.py``).

Reads the Harmonise conventions (docs/profile.md) where they are followed and leaves a field
empty where they are not; saying what is missing is the job of ``rules``.
"""

from collections.abc import Iterable

from fhir.resources.R4B.codeableconcept import CodeableConcept
from fhir.resources.R4B.plandefinition import PlanDefinition, PlanDefinitionAction

from . import conventions as c
from . import timing
from .pathway import Condition, Pathway, PathwayKind, Step
from .problems import Problem


def codes(concepts: Iterable[CodeableConcept | None], system: str) -> list[str]:
    """Every code of ``system`` in these concepts, in order."""
    return [
        coding.code
        for concept in concepts
        if concept is not None
        for coding in concept.coding or []
        if coding.system == system and coding.code
    ]


def pathway_kind(plan: PlanDefinition) -> PathwayKind:
    return PathwayKind.of([p for p in plan.meta.profile or [] if p] if plan.meta else None)


def owning_trust(plan: PlanDefinition) -> str | None:
    for extension in plan.extension or []:
        identifier = extension.valueIdentifier
        if (
            extension.url == c.OWNING_ORGANIZATION_EXTENSION
            and identifier is not None
            and identifier.system == c.ODS_SYSTEM
        ):
            return identifier.value
    return None


def use_context_code(plan: PlanDefinition, context_code: str, system: str) -> str | None:
    for context in plan.useContext or []:
        if context.code is None:  # required by FHIR, yet the models accept an explicit null
            continue
        if context.code.system == c.USAGE_CONTEXT_TYPE_SYSTEM and context.code.code == context_code:
            found = codes([context.valueCodeableConcept], system)
            if found:
                return found[0]
    return None


def adopted_guideline(plan: PlanDefinition) -> str | None:
    for artifact in plan.relatedArtifact or []:
        if artifact.type == "derived-from" and artifact.resource:
            return artifact.resource
    return None


def index_event(plan: PlanDefinition) -> str | None:
    first = plan.action[0] if plan.action else None
    for trigger in (first.trigger or []) if first else []:
        if trigger.type == "named-event" and trigger.name:
            return trigger.name
    return None


def _step(path: str, action: PlanDefinitionAction, step_timing) -> Step:
    roles: list[str] = []
    for participant in action.participant or []:
        coded = codes([participant.role], c.CARE_ROLE_SYSTEM)
        if coded:
            roles.extend(coded)
        elif participant.role is not None and participant.role.text:
            roles.append(participant.role.text)
    conditions = tuple(
        Condition(
            description=cond.expression.description if cond.expression else None,
            expression=cond.expression.expression if cond.expression else None,
            language=cond.expression.language if cond.expression else None,
        )
        for cond in action.condition or []
        if cond.kind == "applicability"
    )
    kinds = codes(action.code or [], c.PATHWAY_STEP_SYSTEM)
    modes = codes(action.code or [], c.CONTACT_MODE_SYSTEM)
    return Step(
        path=path,
        action_id=action.id,
        title=action.title or action.description,
        kind=kinds[0] if kinds else None,
        mode=modes[0] if modes else None,
        roles=tuple(roles),
        conditions=conditions,
        required_behavior=action.requiredBehavior,
        timing=step_timing,
    )


def normalise(plan: PlanDefinition) -> tuple[Pathway, list[Problem]]:
    """The normalised pathway, and the timing problems found while building it."""
    timings, problems = timing.resolve(plan)
    steps = []
    for path, action, _parent in timing.walk_actions(plan):
        if not action.action:  # groups are structure; their leaves are the steps
            steps.append(_step(path, action, timings[path]))
    pathway = Pathway(
        kind=pathway_kind(plan),
        resource_id=plan.id,
        url=plan.url,
        version=plan.version,
        name=plan.name,
        title=plan.title,
        status=plan.status or "unknown",  # status is required (1..1): validation has already refused it missing
        date=str(plan.date) if plan.date else None,
        publisher=plan.publisher,
        experimental=plan.experimental,
        trust=owning_trust(plan),
        topic=use_context_code(plan, "focus", c.PATHWAY_TOPIC_SYSTEM),
        network=use_context_code(plan, "program", c.HOSTED_NETWORK_SYSTEM),
        guideline=adopted_guideline(plan),
        index_event=index_event(plan),
        steps=tuple(steps),
    )
    return pathway, problems
