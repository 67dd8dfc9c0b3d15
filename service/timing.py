"""Step timing: every action's occurrences as exact day offsets from the index event.

Pure functions over the R4B PlanDefinition model. The rules are in docs/profile.md ("Timing
forms"); in short, ``timing[x]`` is counted from an anchor, which is the index event, the step a
``relatedAction`` points at (chains followed, cycles and missing targets reported), or the parent
action's timing. Anything that only has a value when the plan is applied to a patient is *not
statically comparable*, with the reason, and never guessed.
"""

from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from fractions import Fraction
from functools import lru_cache
from typing import Any

from fhir.resources.R4B.plandefinition import PlanDefinition, PlanDefinitionAction

from . import units
from .conventions import UCUM_SYSTEM
from .pathway import Occurrence, StepTiming
from .problems import Problem, error, warning

#: Upper bound on expanded repeats, so a hostile ``count`` cannot exhaust memory.
MAX_OCCURRENCES = 1000


#: An exact number of days: an int where the value is whole (most are), else a Fraction. Python
#: mixes the two exactly, and ints are many times faster than Fractions.
Days = int | Fraction


@dataclass(frozen=True, slots=True)
class Window:
    earliest: Days
    latest: Days

    def shift(self, low: Days, high: Days) -> "Window":
        return Window(self.earliest + low, self.latest + high)

    def occurrence(self) -> Occurrence:
        return _occurrence(self.earliest, self.latest)


@lru_cache(maxsize=4096)
def _occurrence(earliest: Days, latest: Days) -> Occurrence:
    """The occurrence of a window; shared, as Occurrences are immutable and pathways repeat the same days.

    An int and a Fraction of equal value are one key, and give the same Occurrence.
    """
    total = earliest + latest
    # The nominal day is the middle, rounded halves up: floor(total / 2 + 1/2), in whole numbers.
    if isinstance(total, int):
        day = (total + 1) // 2
    else:
        day = (total.numerator + total.denominator) // (2 * total.denominator)
    return Occurrence(earliest=round(float(earliest), 4), latest=round(float(latest), 4), day=day)


#: Units whose length in days is whole, as ints (the others stay exact Fractions).
_WHOLE_DAYS: dict[str, int] = {
    unit: int(days) for unit, days in units.DAYS_PER_UNIT.items() if days.denominator == 1
}


def _exact(value: Any) -> Days:
    """A FHIR decimal (or int) as an exact number: an int when it is whole."""
    if isinstance(value, int):
        return value
    if isinstance(value, Decimal) and value == value.to_integral_value():
        return int(value)
    return Fraction(value)


def _to_days(value: Any, unit: str) -> Days:
    """``units.to_days``, exactly, as an int where the result is whole."""
    number = _exact(value)
    whole = _WHOLE_DAYS.get(unit)
    if whole is not None and isinstance(number, int):
        return number * whole
    days = Fraction(number) * units.DAYS_PER_UNIT[unit]
    return days.numerator if days.denominator == 1 else days


def _quotient(a: Days, b: Days) -> Days:
    """``a / b`` exactly (Fraction division, never float)."""
    if isinstance(a, int) and isinstance(b, int) and a % b == 0:
        return a // b
    return Fraction(a) / b


class NotComparable(Exception):
    """Raised inside resolution; becomes ``StepTiming.not_comparable``."""


@dataclass
class _Resolution:
    windows: tuple[Window, ...] = ()
    not_comparable: str | None = None
    sources: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()


@dataclass
class _Context:
    actions: dict[str, PlanDefinitionAction]
    parents: dict[str, str | None]
    ids: dict[str, str]
    problems: list[Problem] = field(default_factory=list)
    done: dict[str, _Resolution] = field(default_factory=dict)
    visiting: list[str] = field(default_factory=list)


def walk_actions(plan: PlanDefinition) -> Iterator[tuple[str, PlanDefinitionAction, str | None]]:
    """Every action, depth first, as (element path, action, parent's path)."""

    def walk(actions: list[PlanDefinitionAction] | None, prefix: str, parent: str | None):
        for index, action in enumerate(actions or []):
            path = f"{prefix}.action[{index}]"
            yield path, action, parent
            yield from walk(action.action, path, path)

    yield from walk(plan.action, "PlanDefinition", None)


def resolve(plan: PlanDefinition) -> tuple[dict[str, StepTiming], list[Problem]]:
    """The timing of every action by element path, and the problems found on the way."""
    context = _Context(actions={}, parents={}, ids={})
    for path, action, parent in walk_actions(plan):
        context.actions[path] = action
        context.parents[path] = parent
        if action.id is not None:
            context.ids.setdefault(action.id, path)
    for path in context.actions:
        _resolve(path, context)
    result = {}
    for path, res in context.done.items():
        result[path] = StepTiming(
            occurrences=tuple(w.occurrence() for w in res.windows),
            not_comparable=res.not_comparable,
            sources=res.sources,
            notes=res.notes,
        )
    return result, context.problems


def _resolve(path: str, context: _Context) -> _Resolution:
    if path in context.done:
        return context.done[path]
    if path in context.visiting:
        cycle = context.visiting[context.visiting.index(path) :] + [path]
        names = " -> ".join(context.actions[p].id or p for p in cycle)
        context.problems.append(
            warning(
                f"relatedAction forms a cycle ({names}): no step in it can be given a time",
                f"{path}.relatedAction[0]",
                rule="related-action",
            )
        )
        return _Resolution(not_comparable=f"its relatedAction forms a cycle ({names})")
    context.visiting.append(path)
    try:
        resolution = _timing_of(path, context)
    except NotComparable as exc:
        resolution = _Resolution(not_comparable=str(exc), sources=(path,))
    finally:
        context.visiting.pop()
    context.done.setdefault(path, resolution)
    return context.done[path]


def _timing_of(path: str, context: _Context) -> _Resolution:
    action = context.actions[path]
    notes: list[str] = []
    for index, dynamic in enumerate(action.dynamicValue or []):
        if dynamic.path and dynamic.path.startswith("timing"):
            expr = dynamic.expression.expression if dynamic.expression else None
            raise NotComparable(
                f"its timing is set when the plan is applied, by the expression '{expr}' ({path}.dynamicValue[{index}])"
            )

    own = _own_timing_element(action)
    sources: tuple[str, ...] = ()
    anchor: tuple[Window, ...]
    if action.relatedAction:
        if len(action.relatedAction) > 1:
            notes.append("only the first relatedAction sets the timing; the others are not used")
        anchor, sources = _related_anchor(path, action, context)
    else:
        parent = context.parents[path]
        parent_res = _resolve(parent, context) if parent else None
        if own is None:
            if parent_res is not None and parent_res.windows:
                return _Resolution(
                    windows=parent_res.windows,
                    sources=parent_res.sources,
                    notes=("timing taken from the enclosing action",),
                )
            if parent_res is not None and parent_res.not_comparable:
                raise NotComparable(parent_res.not_comparable)
            raise NotComparable("the step has no timing")
        anchor = (Window(0, 0),)
    if own is None:
        return _Resolution(windows=anchor[:1], sources=sources, notes=tuple(notes))
    name, value = own
    own_path = f"{path}.{name}"
    windows = _apply_own_timing(name, value, own_path, anchor[0], context, notes)
    return _Resolution(windows=windows, sources=(own_path, *sources), notes=tuple(notes))


_OWN_TIMING = ("timingDuration", "timingRange", "timingTiming", "timingAge", "timingPeriod", "timingDateTime")


def _own_timing_element(action: PlanDefinitionAction) -> tuple[str, Any] | None:
    for name in _OWN_TIMING:
        value = getattr(action, name, None)
        if value is not None:
            return name, value
    if getattr(action, "timingDateTime__ext", None) is not None:
        return "timingDateTime", None
    return None


_RELATIONSHIPS = {
    # relationship: (which end of the target, sign of the offset)
    "before-start": ("start", -1),
    "before": ("start", -1),
    "before-end": ("end", -1),
    "concurrent-with-start": ("start", 0),
    "concurrent": ("start", 0),
    "concurrent-with-end": ("end", 0),
    "after-start": ("start", 1),
    "after-end": ("end", 1),
    "after": ("end", 1),
}


def _related_anchor(
    path: str, action: PlanDefinitionAction, context: _Context
) -> tuple[tuple[Window, ...], tuple[str, ...]]:
    assert action.relatedAction  # the caller comes here only for an action that has one
    related = action.relatedAction[0]
    related_path = f"{path}.relatedAction[0]"
    target = context.ids.get(related.actionId or "")
    if target is None:
        context.problems.append(
            warning(
                f"relatedAction points at action '{related.actionId}', which is not in this PlanDefinition",
                f"{related_path}.actionId",
                rule="related-action",
            )
        )
        raise NotComparable(f"its relatedAction points at a missing action '{related.actionId}'")
    target_res = _resolve(target, context)
    if target_res.not_comparable:
        raise NotComparable(f"it is timed from step '{related.actionId}', which is not statically comparable")
    low: Days = 0
    high: Days = 0
    offset_source: tuple[str, ...] = ()
    if related.offsetDuration is not None:
        low = high = _days(related.offsetDuration, f"{related_path}.offsetDuration", context)
        offset_source = (f"{related_path}.offsetDuration",)
    elif related.offsetRange is not None:
        low, high = _range_days(related.offsetRange, f"{related_path}.offsetRange", context)
        offset_source = (f"{related_path}.offsetRange",)
    end, sign = _RELATIONSHIPS.get(related.relationship or "", ("start", 1))
    base = target_res.windows[0] if end == "start" else target_res.windows[-1]
    if sign < 0:
        window = base.shift(-high, -low)
    elif sign > 0:
        window = base.shift(low, high)
    else:
        window = base
    return (window,), (*offset_source, *target_res.sources)


def _apply_own_timing(
    name: str, value: Any, path: str, anchor: Window, context: _Context, notes: list[str]
) -> tuple[Window, ...]:
    if name == "timingDuration":
        days = _days(value, path, context)
        return (anchor.shift(days, days),)
    if name == "timingRange":
        low, high = _range_days(value, path, context)
        return (anchor.shift(low, high),)
    if name == "timingTiming":
        return tuple(anchor.shift(d, d) for d in _repeat_days(value, path, context, notes))
    if name == "timingAge":
        raise NotComparable("its timing is an age (timingAge), which depends on the patient")
    raise NotComparable(f"its timing is a calendar date ({name}), known only when the plan is applied")


def _days(quantity: Any, path: str, context: _Context) -> Days:
    """A Duration (or Quantity of time) in days; unit problems become errors or warnings."""
    if quantity.value is None:
        context.problems.append(warning("the duration has no value", f"{path}.value", rule="timing"))
        raise NotComparable("its duration has no value")
    code = quantity.code
    if code is None:
        unit = quantity.unit
        if unit in units.DAYS_PER_UNIT:
            context.problems.append(
                warning(
                    f"the duration has unit '{unit}' but no UCUM code (FHIR invariant drt-1); read as UCUM '{unit}'",
                    f"{path}.code",
                    rule="units",
                )
            )
            code = unit
        else:
            context.problems.append(
                error(
                    f"the unit '{unit}' is not a UCUM unit of time (use one of "
                    f"{', '.join(units.DAYS_PER_UNIT)}); FHIR invariant drt-1 needs a UCUM code",
                    f"{path}.unit" if unit is not None else f"{path}.code",
                    rule="units",
                )
            )
            raise NotComparable(f"its unit '{unit}' is not a unit of time")
    elif code not in units.DAYS_PER_UNIT:
        context.problems.append(
            error(
                f"the code '{code}' is not a UCUM unit of time (use one of {', '.join(units.DAYS_PER_UNIT)})",
                f"{path}.code",
                rule="units",
            )
        )
        raise NotComparable(f"its unit '{code}' is not a unit of time")
    if quantity.system is not None and quantity.system != UCUM_SYSTEM:
        context.problems.append(
            error(
                f"the system '{quantity.system}' is not UCUM ({UCUM_SYSTEM}), as FHIR invariant drt-1 requires",
                f"{path}.system",
                rule="units",
            )
        )
        raise NotComparable("its unit is not UCUM")
    return _to_days(quantity.value, code)


def _range_days(value: Any, path: str, context: _Context) -> tuple[Days, Days]:
    if value.high is None:
        raise NotComparable("its window has no upper bound")
    high = _days(value.high, f"{path}.high", context)
    low = _days(value.low, f"{path}.low", context) if value.low is not None else 0
    if low > high:
        context.problems.append(error("the window's low is after its high", path, rule="timing"))
        raise NotComparable("its window ends before it starts")
    return low, high


def _repeat_days(timing: Any, path: str, context: _Context, notes: list[str]) -> list[Days]:
    """The offsets of a ``Timing.repeat``, per docs/profile.md."""
    if timing.event or getattr(timing, "event__ext", None):
        raise NotComparable("its timing lists calendar events (Timing.event), known only when the plan is applied")
    repeat = timing.repeat
    if repeat is None:
        raise NotComparable("its Timing has no repeat (only a code or events), so its days cannot be computed")
    rpath = f"{path}.repeat"
    if repeat.boundsPeriod is not None:
        raise NotComparable("its repeats are bounded by calendar dates (boundsPeriod)")
    start: Days = 0
    end: Days | None = None
    if repeat.boundsRange is not None:
        bounds = repeat.boundsRange
        if bounds.low is not None:
            start = _days(bounds.low, f"{rpath}.boundsRange.low", context)
        if bounds.high is not None:
            end = _days(bounds.high, f"{rpath}.boundsRange.high", context)
    elif repeat.boundsDuration is not None:
        end = start + _days(repeat.boundsDuration, f"{rpath}.boundsDuration", context)
    if repeat.period is None or repeat.periodUnit is None:
        raise NotComparable("its repeat has no period, so the interval between occurrences is unknown")
    if repeat.periodUnit not in units.DAYS_PER_UNIT:
        context.problems.append(
            error(f"'{repeat.periodUnit}' is not a unit of time", f"{rpath}.periodUnit", rule="units")
        )
        raise NotComparable(f"its period unit '{repeat.periodUnit}' is not a unit of time")
    frequency = repeat.frequency or 1
    interval = _quotient(_to_days(repeat.period, repeat.periodUnit), frequency)
    if interval <= 0:
        raise NotComparable("its repeat interval is zero")
    for name in ("countMax", "frequencyMax", "periodMax"):
        if getattr(repeat, name, None) is not None:
            notes.append(f"{name} is given; the lower value is used")
    for name in ("dayOfWeek", "timeOfDay", "when", "duration"):
        if getattr(repeat, name, None):
            notes.append(f"repeat.{name} does not change the day offsets and is not used")
    if repeat.count is None and end is None:
        raise NotComparable("its repeats are open-ended (no count and no end bound)")
    count = repeat.count if repeat.count is not None else MAX_OCCURRENCES
    if end is not None:
        count = min(count, int(_quotient(end - start, interval)) + 1)
    if count > MAX_OCCURRENCES:
        raise NotComparable(f"it repeats more than {MAX_OCCURRENCES} times")
    return [start + i * interval for i in range(max(count, 0))]
