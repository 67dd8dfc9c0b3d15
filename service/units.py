"""UCUM time units and their length in days (docs/profile.md, "Units").

Exact fractions, so that adding offsets never accumulates rounding; rounding to whole days
happens once, at the end, in ``round_days``.
"""

from fractions import Fraction
from typing import Final

DAYS_PER_UNIT: Final[dict[str, Fraction]] = {
    "s": Fraction(1, 86400),
    "min": Fraction(1, 1440),
    "h": Fraction(1, 24),
    "d": Fraction(1),
    "wk": Fraction(7),
    "mo": Fraction(487, 16),  # 30.4375 d: a twelfth of the mean Julian year
    "a": Fraction(1461, 4),  # 365.25 d: the mean Julian year
}


def to_days(value: Fraction | int, unit: str) -> Fraction:
    """``value`` of a UCUM time unit, in days. Raises KeyError for any other unit."""
    return Fraction(value) * DAYS_PER_UNIT[unit]


def round_days(days: Fraction) -> int:
    """The nearest whole day, halves rounded up (42.5 -> 43, -0.5 -> 0)."""
    return int((days + Fraction(1, 2)).__floor__())


def describe(days: Fraction | float) -> str:
    """Plain words for an offset in days, for people: '6 weeks', '3 months', '10 days'."""
    d = Fraction(days).limit_denominator(10000)
    whole = round_days(d)
    if whole and whole % 365 == 0 or d in (DAYS_PER_UNIT["a"] * n for n in range(1, 11)):
        years = round(d / DAYS_PER_UNIT["a"])
        return f"{years} year" + ("s" if years != 1 else "")
    if whole >= 28 and (d / DAYS_PER_UNIT["mo"]).denominator == 1:
        months = int(d / DAYS_PER_UNIT["mo"])
        return f"{months} month" + ("s" if months != 1 else "")
    if whole >= 14 and whole % 7 == 0:
        return f"{whole // 7} weeks"
    return f"{whole} day" + ("s" if whole != 1 else "")
