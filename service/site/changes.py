""""What changed" between two versions of a guideline, in sentences a clinician can read.

Steps are paired first by their action ``id`` (a guideline keeps its ids across versions: the
register refers to them), then, for the steps left, by the variation engine's own alignment
(``reference.guideline_steps`` and ``alignment.align``), so that a renamed step with a new id is
still recognised as the same step. Anything not paired is a step added or removed.
"""

from dataclasses import dataclass

from ..pathway import Pathway, Step
from ..variation.alignment import align
from ..variation.reference import ReferenceStep, guideline_steps
from . import words


@dataclass(frozen=True)
class _Step:
    """A guideline step with the engine's view of it (same order as ``Pathway.steps``)."""

    step: Step
    reference: ReferenceStep

    @property
    def title(self) -> str:
        return self.step.title or words.step_kind(self.step.kind)

    @property
    def when(self) -> str:
        return words.step_when(self.step)

    @property
    def condition(self) -> str | None:
        return next((c.description or c.expression for c in self.step.conditions), None)


def _steps(guideline: Pathway) -> list[_Step]:
    return [_Step(s, r) for s, r in zip(guideline.steps, guideline_steps(guideline), strict=True)]


def pair_steps(previous: Pathway, current: Pathway) -> tuple[list[tuple[_Step, _Step]], list[_Step], list[_Step]]:
    """(pairs of the same step, steps removed, steps added)."""
    old, new = _steps(previous), _steps(current)
    new_ids = {s.step.action_id: s for s in new if s.step.action_id}
    pairs = [(o, new_ids[o.step.action_id]) for o in old if o.step.action_id in new_ids]
    paired_old = {id(o) for o, _ in pairs}
    paired_new = {id(n) for _, n in pairs}
    old_left = [o for o in old if id(o) not in paired_old]
    new_left = [n for n in new if id(n) not in paired_new]
    matches = align([o.reference.occasions[0] for o in old_left], [n.reference.occasions[0] for n in new_left])
    pairs += [(old_left[i], new_left[j]) for i, j in matches]
    matched_old = {i for i, _ in matches}
    matched_new = {j for _, j in matches}
    removed = [o for i, o in enumerate(old_left) if i not in matched_old]
    added = [n for j, n in enumerate(new_left) if j not in matched_new]
    order = {id(n): k for k, n in enumerate(new)}
    pairs.sort(key=lambda pair: order[id(pair[1])])
    return pairs, removed, added


def _step_changes(old: _Step, new: _Step, event: str) -> list[str]:
    name = f"\u201c{new.title}\u201d"
    sentences = []
    if old.title != new.title:
        sentences.append(f"\u201c{old.title}\u201d is now called {name}.")
    if old.when != new.when or old.step.timing.occurrences != new.step.timing.occurrences:
        sentences.append(f"{name} is now due {new.when} after {event} (was {old.when}).")
    if old.step.required_behavior != new.step.required_behavior:
        now, was = new.step.required_behavior, old.step.required_behavior
        sentences.append(f"{name} is now: {words.required(now).lower()} ({now}); "
                         f"it was: {words.required(was).lower()} ({was}).")
    if old.step.mode != new.step.mode:
        sentences.append(f"{name} is now {words.mode_short(new.step.mode).lower()} "
                         f"(was {words.mode_short(old.step.mode).lower()}).")
    if set(old.step.roles) != set(new.step.roles):
        sentences.append(f"{name} is now done by: {words.roles(new.step.roles)} (was: {words.roles(old.step.roles)}).")
    if old.condition != new.condition:
        now = f"to some patients only: {_lower(new.condition)}" if new.condition else "to every patient"
        was = f"some patients only: {_lower(old.condition)}" if old.condition else "every patient"
        sentences.append(f"{name} now applies {now} (was {was}).")
    if old.step.kind != new.step.kind:
        sentences.append(f"{name} is now a {words.step_kind(new.step.kind).lower()} "
                         f"(was a {words.step_kind(old.step.kind).lower()}).")
    return sentences


def _lower(text: str) -> str:
    return text[:1].lower() + text[1:]


def _describe_step(step: _Step) -> str:
    parts = [f"\u201c{step.title}\u201d, {step.when}", words.mode_short(step.step.mode).lower(),
             words.required(step.step.required_behavior).lower()]
    if step.condition:
        parts.append(_lower(step.condition))
    return "; ".join(parts)


def describe_changes(previous: Pathway, current: Pathway) -> list[str]:
    """Every difference in the steps, one sentence each, in the order of the current version."""
    pairs, removed, added = pair_steps(previous, current)
    event = words.index_event(current.index_event)
    sentences = [s for old, new in pairs for s in _step_changes(old, new, event)]
    sentences += [f"New step: {_describe_step(s)}." for s in added]
    sentences += [f"Removed step: {_describe_step(s)}." for s in removed]
    return sentences
