"""Stage 4, word: the sentences a person reads, made from the findings' data.

Every timing is said as the source gives it: a day as "day 42", a window as "days 0-14", never as
its middle. A timing difference of a window says on which side it reaches outside the reference's
window, up to which day, and which days are outside ("allows up to day 28; the guideline's window
ends at day 14 (days 15-28 are outside it)").
"""

from collections.abc import Sequence

from .alignment import Occasion
from .dimension import Dimension
from .find import REQUIRED, Finding
from .reference import ReferenceStep, TrustOccurrence


def _day(value: float) -> str:
    return f"{value:g}"


def _days(low: float, high: float) -> str:
    return f"day {_day(low)}" if low == high else f"days {_day(low)}-{_day(high)}"


def when(occasions: Sequence[Occasion]) -> str:
    """The days of some occasions as written: "day 42", "days 91, 152", "days 0-14"."""
    if len(occasions) == 1 and occasions[0].day is not None and not occasions[0].is_window:
        return f"day {occasions[0].day}"  # the commonest cell, said without the general case's lists
    known = [(o.earliest, o.latest) for o in occasions if o.day is not None]
    if not known:
        return "at a time that cannot be compared"
    if len(known) > 1:
        known.sort()
    parts = [_day(low) if low == high else f"{_day(low)}-{_day(high)}" for low, high in known]
    return ("day " if len(parts) == 1 and known[0][0] == known[0][1] else "days ") + ", ".join(parts)


def _at(occs: Sequence[TrustOccurrence]) -> str:
    """Single days as the report has always said them ("at day 365"), windows as "days 0-14"."""
    occasions = [o.occasion for o in occs]
    if any(o.is_window for o in occasions):
        return when(occasions)
    known = sorted(o.day for o in occasions if o.day is not None)
    if not known:
        return "at a time that cannot be compared"
    return "at day " + ", ".join(str(d) for d in known)


def window(step: ReferenceStep) -> str:
    """The reference step's timing: "window days 183-274", or its one day."""
    if step.window is None:
        first = step.occasions[0].day
        return f"day {first}" if first is not None else "no fixed time"
    return f"window {_days(*step.window)}"


def _outside(occasion: Occasion, reference: Occasion, against: str) -> list[str]:
    """On which side a window reaches outside the reference's, and which days are outside."""
    low, high, first, last = occasion.earliest, occasion.latest, reference.earliest, reference.latest
    single = first == last
    sides = []
    if low < first:
        edge = f" says day {_day(first)}" if single else f"'s window starts at day {_day(first)}"
        sides.append(f"allows from day {_day(low)}; the {against}{edge} ({_are_outside(low, min(high, first - 1))})")
    if high > last:
        edge = f" says day {_day(last)}" if single else f"'s window ends at day {_day(last)}"
        sides.append(f"allows up to day {_day(high)}; the {against}{edge} ({_are_outside(max(low, last + 1), high)})")
    return sides


def _are_outside(low: float, high: float) -> str:
    return f"day {_day(low)} is outside it" if low == high else f"days {_day(low)}-{_day(high)} are outside it"


def _timing(finding: Finding, step: ReferenceStep, against: str) -> str:
    if finding.within_tolerance:
        return f"'{finding.title}' {_at(finding.occurrences)}; inside the {against} {window(step)}"
    if not any(o.occasion.is_window for o in finding.occurrences):
        return f"'{finding.title}' {_at(finding.occurrences)}; {against} {window(step)}"
    clauses = []
    for occ, reference in zip(finding.occurrences, finding.compared_with, strict=True):
        if occ.occasion.is_window:
            clauses += _outside(occ.occasion, reference, against)
        else:
            clauses.append(f"day {occ.occasion.day} is outside the {against} {window(step)}")
    return f"'{finding.title}' {when([o.occasion for o in finding.occurrences])}: " + "; ".join(clauses)


def detail(finding: Finding, against: str) -> str:
    """The plain-words detail of a difference; ``against`` is "guideline" or "network consensus"."""
    step = finding.step
    occs = finding.occurrences
    if step is None:
        first = occs[0].step
        return f"Extra step not in the reference: '{finding.title}' ({first.mode}) {_at(occs)}"
    if finding.dimension is Dimension.PRESENCE:
        needed = "required" if step.required in REQUIRED else "optional"
        return f"No step matches the {against}'s '{step.title}' ({needed}, {window(step)})"
    if finding.dimension is Dimension.COUNT:
        return f"{len(occs)} occurrences of '{step.title}' {_at(occs)}; the {against} has {len(step.occasions)}"
    if finding.dimension is Dimension.TIMING:
        return _timing(finding, step, against)
    if finding.dimension is Dimension.MODE:
        modes = sorted({o.step.mode or "none" for o in occs})
        return f"'{finding.title}' is {' / '.join(modes)}; the {against} says {step.mode}"
    if finding.dimension is Dimension.PARTICIPANT:
        roles = sorted({r for o in occs for r in o.step.roles})
        return f"'{finding.title}' by {', '.join(roles)}; the {against} says {', '.join(sorted(step.roles))}"
    condition = next((o.step.conditions[0] for o in occs if o.step.conditions), None)
    if condition is None:
        wanted = step.conditions[0]
        return (f"'{finding.title}' is for every patient; the {against} only when: "
                f"{wanted.description or wanted.expression}")
    return (f"'{finding.title}' only when: {condition.description or condition.expression}; "
            f"the {against} has it for every patient")


def cell_when(occasions: Sequence[Occasion], not_comparable: str | None) -> str:
    """A matrix cell's timing in words: the days as written, or why they cannot be compared."""
    return f"not comparable: {not_comparable}" if not_comparable else when(occasions)
