"""The words of a workbook's "When" and "Repeats" cells, and the FHIR timing they stand for.

Pure functions, both ways: ``parse_when``/``parse_repeats`` read a cell into FHIR elements (Durations
with UCUM units, so nothing is converted on the way in), and ``write_when``/``write_repeats`` write
FHIR timing back as the same words, or say why it cannot be written in a cell.

When (an offset from the pathway's index event, or from another step):

- one day: ``6 weeks``, ``10 days``, ``day 10``, ``week 6``, ``month 3``, ``1.5 months``;
- a window: ``days 0-14``, ``2 to 4 weeks``, ``2-4 weeks``, ``between 2 and 4 weeks``,
  ``6 weeks to 3 months``, ``up to 2 weeks`` (from the index event to 2 weeks);
- from another step: ``after step clinic``, ``2 weeks after the end of step clinic``,
  ``1 to 2 weeks before the start of step surgery``, ``at the same time as step clinic``.

Repeats: ``every 3 months, 4 times`` (also ``4 times, every 3 months``, ``every month, 6 times``);
the When cell is then the first occurrence.

Units: days (``d``), weeks (``wk``), months (``mo``), years (``a``), hours (``h``): the UCUM codes of
``service.units``, where a month is 30.4375 days. Nothing else is a unit here: "2 fortnights" is
refused, never guessed.
"""

import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from fractions import Fraction
from typing import Any, Final

from .. import units
from ..conventions import UCUM_SYSTEM

JsonDict = dict[str, Any]

#: Words for each UCUM unit a cell may use, singular and plural first (they are what is written back).
UNIT_WORDS: Final[dict[str, tuple[str, ...]]] = {
    "h": ("hour", "hours", "hr", "hrs", "h"),
    "d": ("day", "days", "d"),
    "wk": ("week", "weeks", "wk", "wks"),
    "mo": ("month", "months", "mo", "mos"),
    "a": ("year", "years", "yr", "yrs", "a"),
}
_UNIT_OF: Final = {word: code for code, words in UNIT_WORDS.items() for word in words}
assert set(UNIT_WORDS) <= set(units.DAYS_PER_UNIT)

#: What a pathway lead may write, for messages.
WHEN_EXAMPLES: Final = "'6 weeks', 'day 10', 'days 0-14', '2 to 4 weeks' or '2 weeks after step clinic'"
REPEATS_EXAMPLES: Final = "'every 3 months, 4 times'"

#: relatedAction.relationship, as words (before the step reference).
RELATIONSHIP_WORDS: Final[dict[str, str]] = {
    "after": "after step",
    "after-end": "after the end of step",
    "after-start": "after the start of step",
    "before": "before step",
    "before-start": "before the start of step",
    "before-end": "before the end of step",
    "concurrent": "at the same time as step",
    "concurrent-with-start": "at the start of step",
    "concurrent-with-end": "at the end of step",
}
_CONCURRENT: Final = frozenset({"concurrent", "concurrent-with-start", "concurrent-with-end"})

_NUMBER: Final = r"\d+(?:\.\d+)?"
_UNIT: Final = "|".join(sorted(_UNIT_OF, key=len, reverse=True))
_DURATION: Final = re.compile(rf"(?P<n>{_NUMBER}) ?(?P<u>{_UNIT})")
_ORDINAL: Final = re.compile(rf"(?P<u>{_UNIT}) (?P<n>{_NUMBER})")
_SAME_UNIT_RANGE: Final = re.compile(
    rf"(?:between )?(?P<lo>{_NUMBER}) ?(?:-|to|and) ?(?P<hi>{_NUMBER}) ?(?P<u>{_UNIT})")
_ORDINAL_RANGE: Final = re.compile(rf"(?P<u>{_UNIT}) (?P<lo>{_NUMBER}) ?(?:-|to) ?(?P<hi>{_NUMBER})")
_MIXED_RANGE: Final = re.compile(
    rf"(?:between )?(?P<lo>{_NUMBER}) ?(?P<lu>{_UNIT}) ?(?:-|to|and) ?(?P<hi>{_NUMBER}) ?(?P<hu>{_UNIT})")
_UP_TO: Final = re.compile(rf"(?:up to|within) (?P<n>{_NUMBER}) ?(?P<u>{_UNIT})")
_STEP_ID: Final = r"(?P<step>[A-Za-z0-9][A-Za-z0-9.\-_]{0,63})"
_RELATIVE: Final = re.compile(
    rf"(?:(?P<offset>.+?) )?(?P<rel>{'|'.join(sorted(RELATIONSHIP_WORDS.values(), key=len, reverse=True))}) "
    rf"{_STEP_ID}")
_EVERY_FIRST: Final = re.compile(rf"every (?:(?P<n>{_NUMBER}) ?)?(?P<u>{_UNIT}),? (?:for )?(?P<count>\d+) times?")
_COUNT_FIRST: Final = re.compile(rf"(?P<count>\d+) times?,? every (?:(?P<n>{_NUMBER}) ?)?(?P<u>{_UNIT})")


class CellError(ValueError):
    """A cell's words do not say a timing: the message says why, in words for the pathway lead."""


@dataclass(frozen=True)
class When:
    """A When cell read: exactly one of ``duration``/``window`` (or neither, for "after step X" with no
    offset), and ``related`` when counted from another step."""

    duration: JsonDict | None = None
    window: JsonDict | None = None
    #: (step id, relatedAction.relationship).
    related: tuple[str, str] | None = None


@dataclass(frozen=True)
class Repeats:
    count: int
    period: int | Decimal
    period_unit: str


def _clean(text: str) -> str:
    text = text.replace("\u2013", "-").replace("\u2014", "-").replace("\u00a0", " ").strip().rstrip(".")
    return re.sub(r"\s+", " ", text).lower()


def _number(text: str) -> int | Decimal:
    try:
        value = Decimal(text)
    except InvalidOperation:  # the patterns only let digits through; said for completeness
        raise CellError(f"'{text}' is not a number") from None
    return int(value) if value == value.to_integral_value() else value


def duration(value: int | Decimal, unit: str) -> JsonDict:
    """A FHIR Duration in UCUM (``unit`` is its code)."""
    return {"value": value, "unit": unit, "system": UCUM_SYSTEM, "code": unit}


def _days(quantity: JsonDict) -> Fraction:
    return Fraction(str(quantity["value"])) * units.DAYS_PER_UNIT[quantity["code"]]


def _window(low: JsonDict | None, high: JsonDict) -> JsonDict:
    if low is not None and _days(low) > _days(high):
        raise CellError("is a window that ends before it starts")
    return {"low": low, "high": high} if low is not None else {"high": high}


def _offset(text: str) -> tuple[JsonDict | None, JsonDict | None]:
    """(duration, window) of an offset's words; CellError if they are neither."""
    if re.fullmatch(_NUMBER, text):
        raise CellError("has no unit: write e.g. '6 weeks' or 'day 10'")
    for pattern in (_DURATION, _ORDINAL):
        match = pattern.fullmatch(text)
        if match:
            return duration(_number(match["n"]), _UNIT_OF[match["u"]]), None
    for pattern in (_SAME_UNIT_RANGE, _ORDINAL_RANGE):
        match = pattern.fullmatch(text)
        if match:
            unit = _UNIT_OF[match["u"]]
            return None, _window(duration(_number(match["lo"]), unit), duration(_number(match["hi"]), unit))
    match = _MIXED_RANGE.fullmatch(text)
    if match:
        return None, _window(duration(_number(match["lo"]), _UNIT_OF[match["lu"]]),
                             duration(_number(match["hi"]), _UNIT_OF[match["hu"]]))
    match = _UP_TO.fullmatch(text)
    if match:
        return None, _window(None, duration(_number(match["n"]), _UNIT_OF[match["u"]]))
    raise CellError(f"is not a duration (write e.g. {WHEN_EXAMPLES})")


def parse_when(text: str) -> When:
    """A When cell's words; CellError (its message follows the quoted value) if they say no timing."""
    cleaned = _clean(text)
    if not cleaned:
        raise CellError("is empty")
    relative = _RELATIVE.fullmatch(cleaned)
    if relative:
        relationship = next(code for code, words in RELATIONSHIP_WORDS.items() if words == relative["rel"])
        # Step ids keep their case: take the id as written.
        step = text.strip().rstrip(".").split()[-1]
        offset = relative["offset"]
        if offset is None:
            return When(related=(step, relationship))
        if relationship in _CONCURRENT:
            raise CellError("gives an offset for a step at the same time as another: write "
                            f"'{offset} after step {step}' or 'at the same time as step {step}'")
        found, window = _offset(offset)
        return When(found, window, (step, relationship))
    if " step " in f" {cleaned} ":
        raise CellError("names a step but not how it is timed from it (write e.g. '2 weeks after step clinic')")
    found, window = _offset(cleaned)
    return When(found, window)


def parse_repeats(text: str) -> Repeats:
    cleaned = _clean(text)
    match = _EVERY_FIRST.fullmatch(cleaned) or _COUNT_FIRST.fullmatch(cleaned)
    if not match:
        raise CellError(f"is not a repeat (write e.g. {REPEATS_EXAMPLES}: how often, and how many times in all)")
    count = int(match["count"])
    period = _number(match["n"]) if match["n"] else 1
    if count < 1:
        raise CellError("repeats no times: leave Repeats empty for a step that happens once")
    if period <= 0:
        raise CellError("repeats every 0: the interval must be more than zero")
    return Repeats(count, period, _UNIT_OF[match["u"]])


# Writing FHIR timing back as words.


class NotExpressible(Exception):
    """FHIR timing that no When or Repeats cell can say: the message says what it is, in words."""


def _plain_number(value: Any) -> str:
    number = Decimal(str(value))
    if number == number.to_integral_value():
        return str(int(number))
    return format(number.normalize(), "f")


def _unit_code(quantity: Any, where: str) -> str:
    if not isinstance(quantity, dict) or quantity.get("value") is None:
        raise NotExpressible(f"{where} has no value")
    code = quantity.get("code")
    if code not in UNIT_WORDS or quantity.get("system") not in (None, UCUM_SYSTEM):
        raise NotExpressible(f"{where} is not in days, weeks, months, years or hours (UCUM {code!r})")
    if isinstance(quantity["value"], bool) or Decimal(str(quantity["value"])) < 0:
        raise NotExpressible(f"{where} is negative")
    if set(quantity) - {"value", "unit", "system", "code"}:
        raise NotExpressible(f"{where} has more than a value and a unit")
    return str(code)


def write_duration(quantity: Any, where: str = "the duration") -> str:
    code = _unit_code(quantity, where)
    value = _plain_number(quantity["value"])
    singular, plural = UNIT_WORDS[code][:2]
    return f"{value} {singular if value == '1' else plural}"


def write_window(window: Any, where: str = "the window") -> str:
    if not isinstance(window, dict) or window.get("high") is None or set(window) - {"low", "high"}:
        raise NotExpressible(f"{where} has no end")
    high = window["high"]
    high_code = _unit_code(high, f"{where}'s end")
    if window.get("low") is None:
        return f"up to {write_duration(high)}"
    low = window["low"]
    if _unit_code(low, f"{where}'s start") == high_code:
        return f"{_plain_number(low['value'])} to {write_duration(high)}"
    return f"{write_duration(low)} to {write_duration(high)}"


_OWN_TIMINGS: Final = ("timingDuration", "timingRange", "timingTiming", "timingAge", "timingPeriod",
                       "timingDateTime")


def write_timing(action: JsonDict) -> tuple[str, str]:
    """An action's (When, Repeats) cells; NotExpressible when its timing cannot be said in them."""
    own = [name for name in _OWN_TIMINGS if name in action or f"_{name}" in action]
    related = action.get("relatedAction") or []
    if any(str((d or {}).get("path", "")).startswith("timing") for d in action.get("dynamicValue") or []):
        raise NotExpressible("its timing is set by an expression when the plan is applied (dynamicValue)")
    if len(own) > 1:
        raise NotExpressible("it has more than one timing")
    if related:
        if own:
            raise NotExpressible("it is timed from another step and has a timing of its own as well")
        if len(related) > 1:
            raise NotExpressible("it is timed from more than one step (several relatedAction)")
        return _write_related(related[0]), ""
    if not own:
        raise NotExpressible("it has no timing of its own")
    name = own[0]
    value = action.get(name)
    if name == "timingDuration":
        return write_duration(value, "its timing"), ""
    if name == "timingRange":
        return write_window(value, "its window"), ""
    if name == "timingTiming":
        return _write_repeat(value)
    raise NotExpressible({"timingAge": "its timing is an age (timingAge)",
                          "timingPeriod": "its timing is a calendar period (timingPeriod)"}.get(
        name, "its timing is a calendar date (timingDateTime)"))


def _write_related(related: JsonDict) -> str:
    relationship = related.get("relationship")
    step = related.get("actionId")
    if relationship not in RELATIONSHIP_WORDS:
        raise NotExpressible(f"it is timed from another step with the relationship {relationship!r}")
    if not isinstance(step, str) or not re.fullmatch(_STEP_ID, step):
        raise NotExpressible(f"it is timed from a step whose id {step!r} cannot be written in a cell")
    if set(related) - {"actionId", "relationship", "offsetDuration", "offsetRange"}:
        raise NotExpressible("its relatedAction has more than a step, a relationship and an offset")
    words = f"{RELATIONSHIP_WORDS[relationship]} {step}"
    if "offsetDuration" in related and "offsetRange" in related:
        raise NotExpressible("its relatedAction has two offsets")
    if "offsetDuration" in related:
        offset = write_duration(related["offsetDuration"], "its offset")
    elif "offsetRange" in related:
        offset = write_window(related["offsetRange"], "its offset window")
    else:
        return words
    if relationship in _CONCURRENT:
        raise NotExpressible("it has an offset from a step it is at the same time as")
    return f"{offset} {words}"


_REPEAT_KEYS: Final = {"boundsRange", "count", "period", "periodUnit", "frequency"}


def _write_repeat(timing: Any) -> tuple[str, str]:
    if not isinstance(timing, dict) or set(timing) - {"repeat"} or not isinstance(timing.get("repeat"), dict):
        raise NotExpressible("its Timing is not a plain repeat (events or a code)")
    repeat = timing["repeat"]
    extra = sorted(set(repeat) - _REPEAT_KEYS)
    if extra:
        raise NotExpressible(f"its repeat uses {', '.join(extra)}, which a Repeats cell cannot say")
    if repeat.get("frequency", 1) != 1:
        raise NotExpressible("its repeat happens more than once per period (frequency)")
    if not isinstance(repeat.get("count"), int) or repeat.get("period") is None or repeat.get("periodUnit") \
            not in UNIT_WORDS:
        raise NotExpressible("its repeat has no count, period or unit of days, weeks, months, years or hours")
    bounds = repeat.get("boundsRange")
    if bounds is not None and (not isinstance(bounds, dict) or set(bounds) != {"low"}):
        raise NotExpressible("its repeat has an end bound, which a Repeats cell cannot say")
    first = write_duration(bounds["low"], "its first occurrence") if bounds else "0 days"
    period = _plain_number(repeat["period"])
    singular, plural = UNIT_WORDS[repeat["periodUnit"]][:2]
    every = singular if period == "1" else f"{period} {plural}"
    count = repeat["count"]
    return first, f"every {every}, {count} time{'s' if count != 1 else ''}"
