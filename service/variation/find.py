"""Stage 2, find: the differences between one trust and the reference, as data.

A ``Finding`` says which reference step, which dimension, which of the trust's occurrences and
elements, whether it is within the guideline's tolerance, and how much it adds to a distance score;
the sentence a person reads is made from it later (``word``), and only for findings that are shown.

Timing compares windows as windows (docs/comparison.md, "Timing"): a trust occasion is within
tolerance when all of its days are inside the reference's window; one that starts earlier or ends
later is a timing difference, and its size is how far it reaches outside (``reach_outside``).
"""

from collections import defaultdict
from collections.abc import Sequence
from typing import NamedTuple

from .align import Alignment
from .alignment import MAX_TIMING_COST, Occasion, reach_outside
from .dimension import Dimension
from .reference import ReferenceStep, TrustOccurrence

#: ``requiredBehavior`` codes that make a missing step a difference rather than within tolerance.
REQUIRED = ("must", "must-unless-documented")


class Finding(NamedTuple):
    """A difference before classification."""

    #: The reference step; None for a step only the trust has.
    step: ReferenceStep | None
    dimension: Dimension
    #: The trust's title for the step (the reference's when the trust's step has none).
    title: str
    #: Element path in the trust's pathway.
    source: str
    #: The trust occurrences it is about (for timing: those whose days differ).
    occurrences: tuple[TrustOccurrence, ...]
    #: For timing: the reference occasion each of ``occurrences`` was compared with.
    compared_with: tuple[Occasion, ...] = ()
    within_tolerance: bool = False
    #: What it adds to its part of a distance score, before weights (docs/comparison.md).
    size: float = 1.0

    @property
    def key(self) -> str | None:
        """The reference step's key, as the report and the register name it."""
        return self.step.key if self.step is not None else None

    @property
    def reference_source(self) -> str | None:
        return self.step.source if self.step is not None else None


def find_differences(reference: Sequence[ReferenceStep], alignment: Alignment) -> list[Finding]:
    """Every difference of one trust from the reference: step by step, then its extra steps."""
    findings: list[Finding] = []
    for step in reference:
        _add_step_differences(findings, step, alignment.matched.get(step.key))
    if alignment.extra:
        findings += extra_steps(alignment.extra)
    return findings


def _add_step_differences(
    findings: list[Finding], step: ReferenceStep, matched: list[tuple[TrustOccurrence, int]] | None
) -> None:
    """What differs between one reference step and the trust occurrences matched to it, added to ``findings``."""
    if not matched:
        optional = step.required not in REQUIRED
        findings.append(Finding(step, Dimension.PRESENCE, step.title, "PlanDefinition.action", (),
                                within_tolerance=optional))
        return
    occs = tuple([o for o, _ in matched])
    steps = {o.step.path: o.step for o in occs}  # the trust's steps, each once (their occurrences share them)
    first = occs[0].step
    title = first.title or step.title
    source = min(steps) if len(steps) > 1 else first.path
    if len(occs) != len(step.occasions):
        size = abs(len(occs) - len(step.occasions)) / len(step.occasions)
        findings.append(Finding(step, Dimension.COUNT, title, source, occs, size=size))
    timing = _timing(step, matched, first.timing.sources[0] if first.timing.sources else source, title)
    if timing is not None:
        findings.append(timing)
    mode = step.mode or "none"
    if any((s.mode or "none") != mode for s in steps.values()):  # the trust's modes are not just the reference's
        findings.append(Finding(step, Dimension.MODE, title, f"{source}.code", occs))
    if step.roles:
        roles = {r for s in steps.values() for r in s.roles}
        if roles and not roles & step.roles:
            findings.append(Finding(step, Dimension.PARTICIPANT, title, f"{source}.participant", occs))
    conditional = any(s.conditions for s in steps.values())
    if step.conditions and not conditional:
        findings.append(Finding(step, Dimension.CONDITION, title, source, occs))
    elif conditional and not step.conditions:
        findings.append(Finding(step, Dimension.CONDITION, title, f"{source}.condition", occs))


def is_inside(occasion: Occasion, reference: Occasion) -> bool:
    """True when every day of ``occasion`` is inside the reference's window (both comparable)."""
    return reference.earliest <= occasion.earliest and occasion.latest <= reference.latest


def same_timing(occasion: Occasion, reference: Occasion) -> bool:
    """A single day on the reference's nominal day, or a window that is the reference's window."""
    if occasion.is_window:
        return occasion.earliest == reference.earliest and occasion.latest == reference.latest
    return occasion.day == reference.day


def _timing(step: ReferenceStep, matched: list[tuple[TrustOccurrence, int]], source: str, title: str) -> Finding | None:
    """One timing finding for the step: its occasions outside the window, else those inside but off it."""
    if len(matched) == 1:  # the commonest case, without the lists below
        occ, k = matched[0]
        reference = step.occasions[k] if k >= 0 else None
        if occ.occasion.day is None or reference is None or reference.day is None or (
            is_inside(occ.occasion, reference) and same_timing(occ.occasion, reference)
        ):
            return None
    outside: list[tuple[TrustOccurrence, Occasion]] = []
    inside_off: list[tuple[TrustOccurrence, Occasion]] = []
    for occ, k in matched:
        if k < 0 or occ.occasion.day is None:
            continue
        reference = step.occasions[k]
        if reference.day is None:
            continue
        if not is_inside(occ.occasion, reference):
            outside.append((occ, reference))
        elif not same_timing(occ.occasion, reference):
            inside_off.append((occ, reference))
    if outside:
        size = sum(min(reach_outside(o.occasion, r), MAX_TIMING_COST) for o, r in outside)
        return Finding(step, Dimension.TIMING, title, source, tuple(o for o, _ in outside),
                       tuple(r for _, r in outside), size=size)
    if inside_off:
        return Finding(step, Dimension.TIMING, title, source, tuple(o for o, _ in inside_off),
                       tuple(r for _, r in inside_off), within_tolerance=True, size=0.0)
    return None


def extra_steps(extra: list[TrustOccurrence]) -> list[Finding]:
    """One presence finding per trust step that nothing in the reference matches."""
    by_step: dict[str, list[TrustOccurrence]] = defaultdict(list)
    for occ in extra:
        by_step[occ.step.path].append(occ)
    return [
        Finding(None, Dimension.PRESENCE, occs[0].step.title or occs[0].step.kind or path, path, tuple(occs))
        for path, occs in sorted(by_step.items())
    ]
