"""``PlanDefinition/$apply``: a pathway or guideline as one patient's dated schedule.

The days come from ``service.timing`` — the arithmetic the comparison uses, not a second one —
and become dates by adding them to the index date: a step at day 42 after an index event on
2026-01-10 falls on 2026-02-21. A month is therefore 30.4375 days here too (docs/profile.md,
"Units"): "every 3 months from week 6" gives days 42, 133, 225 and 316, and so the dates the
variation report judged against the guideline's windows. Calendar months would move those dates
by a day or two depending on the month the patient starts in, and a date could then fall outside
a window the report said it was inside; docs/integrators.md says why this reading was chosen.

The result follows FHIR R4: a CarePlan whose one activity references a RequestGroup, both
contained in it with the PractitionerRoles that say who delivers each step (R4's
RequestGroup.action.participant is a Reference, so a role becomes a contained PractitionerRole
coded in care-role). Conditions are kept as conditions and never evaluated: Harmonise does not
read the patient's record, so every conditional step is in the schedule, marked as conditional.
"""

import re
from dataclasses import dataclass
from datetime import date, timedelta
from fractions import Fraction
from typing import Any, Final

from . import conventions as c
from . import loader, terminology, units
from .fhirformat import JsonDict
from .pathway import Occurrence, Pathway, Step

#: A reference to the Patient the plan is applied to: relative (``Patient/123``) or absolute.
_PATIENT: Final = re.compile(r"^(?:https?://\S+/)?Patient/[A-Za-z0-9\-.]{1,64}$")
REQUEST_GROUP_ID: Final = "request-group"
CONDITIONS_NOT_EVALUATED: Final = ("Conditions are not evaluated: Harmonise does not read the patient's record. "
                                   "Each conditional step is listed with its condition; book it only if the "
                                   "condition holds.")


class ApplyError(ValueError):
    """The plan cannot be applied as asked (a missing or unreadable parameter, or a plan with errors)."""


@dataclass(frozen=True)
class Dated:
    """When one occurrence of a step falls: a day, or a window of days, as dates."""

    start: date
    end: date
    day: int

    @property
    def window(self) -> bool:
        return self.start != self.end


def _whole_days(value: float) -> int:
    """A day offset from the timing (exact to 1/10,000 of a day) rounded as the comparison rounds it."""
    return units.round_days(Fraction(str(value)))


def dated(index: date, occurrence: Occurrence) -> Dated:
    """The dates of one occurrence, counted from the index date."""
    return Dated(index + timedelta(days=_whole_days(occurrence.earliest)),
                 index + timedelta(days=_whole_days(occurrence.latest)), occurrence.day)


def patient_reference(subject: str) -> str:
    """``subject`` if it is a Patient reference (that there is exactly one is the operation's parameters' to say)."""
    if not _PATIENT.match(subject):
        raise ApplyError(f"the subject must be a Patient reference (Patient/[id]), not '{subject}'")
    return subject


def _coding(system: str, code: str) -> JsonDict:
    return {"system": system, "code": code, "display": terminology.code_system(system).display(code)}


def _when_words(when: Dated, index: date, index_event: str) -> str:
    event = index_event.replace("-", " ")
    if when.window:
        return (f"between {when.start.isoformat()} and {when.end.isoformat()} (days {(when.start - index).days} "
                f"to {(when.end - index).days} after the {event})")
    return f"on {when.start.isoformat()} (day {when.day} after the {event})"


def _timing(when: Dated) -> JsonDict:
    if when.window:
        return {"timingPeriod": {"start": when.start.isoformat(), "end": when.end.isoformat()}}
    return {"timingDateTime": when.start.isoformat()}


def _roles(step: Step, roles: dict[str, JsonDict]) -> list[JsonDict]:
    references = []
    for role in step.roles:
        if role not in terminology.code_system(c.CARE_ROLE_SYSTEM):
            references.append({"display": role})  # a role in words only: kept as words
            continue
        identifier = f"role-{role}"
        roles.setdefault(identifier, {"resourceType": "PractitionerRole", "id": identifier, "active": True,
                                      "code": [{"coding": [_coding(c.CARE_ROLE_SYSTEM, role)]}]})
        references.append({"reference": f"#{identifier}", "display": terminology.code_system(
            c.CARE_ROLE_SYSTEM).display(role)})
    return references


def _action(step: Step, source: JsonDict, index: date, index_event: str, roles: dict[str, JsonDict]) -> JsonDict:
    action: JsonDict = {}
    if step.action_id:
        action["id"] = step.action_id
    action["title"] = step.title or "Step"
    codes = []
    if step.kind:
        codes.append({"coding": [_coding(c.PATHWAY_STEP_SYSTEM, step.kind)]})
    if step.mode:
        codes.append({"coding": [_coding(c.CONTACT_MODE_SYSTEM, step.mode)]})
    if codes:
        action["code"] = codes
    if source.get("condition"):
        action["condition"] = source["condition"]
    participants = _roles(step, roles)
    if participants:
        action["participant"] = participants
    if step.required_behavior:
        action["requiredBehavior"] = step.required_behavior
    occurrences = [dated(index, occurrence) for occurrence in step.timing.occurrences]
    notes = []
    if step.conditions:
        notes.append("Only if: " + "; ".join(cond.description or cond.expression or "a condition"
                                             for cond in step.conditions) + " (not evaluated).")
    if not step.timing.comparable:
        action["description"] = f"No date: {step.timing.not_comparable}. " + " ".join(notes)
        return action
    if len(occurrences) == 1:
        action.update(_timing(occurrences[0]))
        action["textEquivalent"] = " ".join([f"{action['title']}: {_when_words(occurrences[0], index, index_event)}.",
                                             *notes])
        return action
    action["textEquivalent"] = " ".join([f"{action['title']}: {len(occurrences)} times.", *notes])
    action["action"] = []
    for number, when in enumerate(occurrences, start=1):
        occurrence: JsonDict = {"id": f"{step.action_id or 'step'}-{number}",
                                "title": f"{action['title']} ({number} of {len(occurrences)})"}
        occurrence.update(_timing(when))
        occurrence["textEquivalent"] = f"{occurrence['title']}: {_when_words(when, index, index_event)}."
        action["action"].append(occurrence)
    return action


def _sources(plan: JsonDict) -> dict[str, JsonDict]:
    """Each action's JSON by its element path (``PlanDefinition.action[0].action[1]``)."""
    found: dict[str, JsonDict] = {}

    def walk(actions: Any, prefix: str) -> None:
        for number, action in enumerate(actions or []):
            path = f"{prefix}.action[{number}]"
            found[path] = action
            walk(action.get("action"), path)

    walk(plan.get("action"), "PlanDefinition")
    return found


def apply(plan: JsonDict, subject: str, index: date) -> JsonDict:
    """The CarePlan of ``plan`` (a PlanDefinition's JSON) for ``subject``, counted from ``index``."""
    _model, pathway, problems = loader.check_plan_definition(plan)
    errors = [p for p in problems if p.severity.value == "error"]
    if pathway is None or errors:
        raise ApplyError("the PlanDefinition has errors and cannot be applied: " +
                         "; ".join(f"{p.path}: {p.message}" for p in errors[:5]))
    return care_plan(plan, pathway, subject, index)


def care_plan(plan: JsonDict, pathway: Pathway, subject: str, index: date) -> JsonDict:
    sources = _sources(plan)
    roles: dict[str, JsonDict] = {}
    index_event = pathway.index_event or "index event"
    actions = [_action(step, sources.get(step.path, {}), index, index_event, roles) for step in pathway.steps]
    canonical = [pathway.canonical] if pathway.canonical else []
    days = [occurrence for step in pathway.steps for occurrence in step.timing.occurrences]
    last = max((dated(index, o).end for o in days), default=index)
    group: JsonDict = {"resourceType": "RequestGroup", "id": REQUEST_GROUP_ID}
    if canonical:
        group["instantiatesCanonical"] = canonical
    group.update({"status": "draft", "intent": "proposal", "subject": {"reference": subject},
                  "note": [{"text": CONDITIONS_NOT_EVALUATED}], "action": actions})
    result: JsonDict = {"resourceType": "CarePlan", "contained": [group, *roles.values()]}
    if canonical:
        result["instantiatesCanonical"] = canonical
    result.update({
        "status": "draft",
        "intent": "proposal",
        "title": pathway.title or pathway.name or "Care plan",
        "description": (f"{pathway.title or 'The plan'} applied from the {index_event.replace('-', ' ')} on "
                        f"{index.isoformat()}. Dates are counted from that day in whole days; a month is "
                        "30.4375 days, as in the variation report."),
        "subject": {"reference": subject},
        "period": {"start": index.isoformat(), "end": last.isoformat()},
        "activity": [{"reference": {"reference": f"#{REQUEST_GROUP_ID}"}}],
        "note": [{"text": CONDITIONS_NOT_EVALUATED}],
    })
    return result
