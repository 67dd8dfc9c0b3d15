"""Plain words for clinical readers: times, modes, roles, requirements, classifications and dates.

Every page and chart takes its wording from here, so that a step is described the same way in a
table, a timeline and a "what changed" sentence.
"""

from dataclasses import dataclass
from datetime import date
from fractions import Fraction
from typing import Final

from .. import conventions, terminology
from ..pathway import Step
from ..units import DAYS_PER_UNIT, describe
from ..variation.report import Classification, ComparedAgainst, TopicReport

#: Units a window can be said in, largest first (docs/profile.md, Units).
_UNITS: Final = (("year", DAYS_PER_UNIT["a"]), ("month", DAYS_PER_UNIT["mo"]), ("week", DAYS_PER_UNIT["wk"]))

MODE_WORDS: Final = {
    "face-to-face": "Face to face",
    "telephone": "Telephone",
    "video": "Video call",
    "patient-initiated": "Patient-initiated: no appointment is booked; the patient can ask for one",
    "none": "No contact with the patient",
}

REQUIRED_WORDS: Final = {
    "must": "Every patient",
    "must-unless-documented": "Every patient, unless a reason not to is recorded",
    "could": "Optional",
}


@dataclass(frozen=True)
class ClassificationStyle:
    """How a classification is shown: words, a CSS class, a colour and a marker shape (never colour alone)."""

    label: str
    css: str
    colour: str
    shape: str


CLASSIFICATION_STYLES: Final = {
    None: ClassificationStyle("matches", "hm-matches", "#00703c", "circle"),
    Classification.WITHIN_TOLERANCE: ClassificationStyle("within tolerance", "hm-within", "#00703c", "circle"),
    Classification.WARRANTED: ClassificationStyle("warranted (agreed reason)", "hm-warranted", "#005eb8", "square"),
    Classification.UNWARRANTED: ClassificationStyle("unwarranted", "hm-unwarranted", "#d5281b", "triangle"),
}

DIMENSION_WORDS: Final = {
    "presence": "Step missing or extra",
    "count": "Number of times",
    "timing": "Timing",
    "mode": "How it is done",
    "participant": "Who does it",
    "condition": "Which patients",
}


def reference(report: TopicReport) -> str:
    """What the trusts were compared with, as the pages say it."""
    return "guideline" if report.compared_against is ComparedAgainst.GUIDELINE else "network consensus"


def style(classification: Classification | None) -> ClassificationStyle:
    return CLASSIFICATION_STYLES[classification]


def _fraction(days: float) -> Fraction:
    return Fraction(days).limit_denominator(10000)


def _unit_for(*values: float) -> tuple[str, Fraction] | None:
    """The largest unit in which every value is a whole number and the largest is at least one."""
    for name, length in _UNITS:
        counts = [_fraction(v) / length for v in values]
        if all(c.denominator == 1 for c in counts) and max(counts) >= 1:
            return name, length
    return None


def _plural(count: Fraction | int, unit: str) -> str:
    return f"{count} {unit}" if count == 1 else f"{count} {unit}s"


def window(low: float, high: float) -> str:
    """A guideline window in the largest whole unit: ``(14, 28)`` -> "2 to 4 weeks", ``(0, 2)`` -> "up to 2 days"."""
    if low == high:
        return describe(low)
    if low == 0:
        return "up to " + describe(high)
    unit = _unit_for(low, high)
    if unit is None:
        return f"{round(low)} to {round(high)} days"
    name, length = unit
    return f"{_fraction(low) / length} to {_plural(_fraction(high) / length, name)}"


def days_range(low: float, high: float) -> str:
    """The exact days, as a figure a reader can check: "days 14-28" or "day 3"."""
    return f"day {low:g}" if low == high else f"days {low:g}\u2013{high:g}"


def occurrences(windows: tuple[tuple[int, int], ...] | list[tuple[int, int]]) -> str:
    """A trust's days as written: "day 42", "days 91, 152", a window as "days 0\u201314" (never its middle)."""
    if not windows:
        return "time not comparable"
    if len(windows) == 1:
        return days_range(*windows[0])
    return "days " + ", ".join(f"{low}" if low == high else f"{low}\u2013{high}" for low, high in windows)


def index_event(code: str | None) -> str:
    """``date-of-discharge`` -> "the date of discharge"."""
    return "the " + code.replace("-", " ") if code else "the start of the pathway"


def mode(code: str | None) -> str:
    return MODE_WORDS.get(code or "none", code or "not stated")


def mode_short(code: str | None) -> str:
    """The contact mode's display name, for tight spaces (tables of trusts, charts)."""
    return terminology.code_system(conventions.CONTACT_MODE_SYSTEM).display(code) if code else "not stated"


def role(code: str) -> str:
    return terminology.code_system(conventions.CARE_ROLE_SYSTEM).display(code)


def roles(codes: list[str] | tuple[str, ...] | frozenset[str]) -> str:
    return ", ".join(role(c) for c in sorted(codes)) or "Not stated"


def step_kind(code: str | None) -> str:
    return terminology.code_system(conventions.PATHWAY_STEP_SYSTEM).display(code) if code else "Step"


def required(code: str | None) -> str:
    return REQUIRED_WORDS.get(code or "", code or "Not stated")


def network(code: str | None) -> str:
    return terminology.code_system(conventions.HOSTED_NETWORK_SYSTEM).display(code) if code else "No network"


def trust(ods: str | None) -> str:
    """"RHQ Sheffield Teaching Hospitals NHS Foundation Trust"."""
    if not ods:
        return "Not stated"
    return f"{ods} {conventions.TRUSTS[ods]}" if ods in conventions.TRUSTS else ods


def long_date(value: str | date | None) -> str:
    """``2025-02-05`` -> "5 February 2025"; partial FHIR dates are kept as written."""
    if value is None:
        return "Not recorded"
    try:
        day = value if isinstance(value, date) else date.fromisoformat(value)
    except ValueError:
        return str(value)
    return f"{day.day} {day:%B %Y}"


def status(code: str) -> str:
    return {
        "active": "Agreed (in use)",
        "draft": "Draft: under discussion, not agreed",
        "retired": "Retired: replaced by a later version",
        "unknown": "Status unknown",
    }.get(code, code)


def count(number: int, thing: str) -> str:
    """``count(1, "difference")`` -> "1 difference"; ``count(2, ...)`` -> "2 differences"."""
    return f"{number} {thing}" if number == 1 else f"{number} {thing}s"


def step_when(step: Step) -> str:
    """When a guideline step is due, in words: "1 to 4 weeks", "4 times, from 6 weeks to 1 year"."""
    occurrences = step.timing.occurrences
    if not occurrences:
        return f"not fixed in advance ({step.timing.not_comparable})" if step.timing.not_comparable else "not stated"
    if len(occurrences) == 1:
        return window(occurrences[0].earliest, occurrences[0].latest)
    return f"{len(occurrences)} times, from {describe(occurrences[0].earliest)} to {describe(occurrences[-1].latest)}"
