"""Statistical process control as NHS England's Making Data Count programme uses it.

An XmR chart of one measure at one trust, month by month: the mean, the moving ranges, and
process limits at mean ± 2.66 × mean moving range. Special causes, by the programme's rules:

- a point outside the process limits;
- a **shift**: ``shift_length`` (7) or more points in a row on one side of the mean;
- a **trend**: ``trend_length`` (7) or more points in a row each higher (or each lower) than
  the one before;
- **two of three** points in a row close to a limit (beyond two thirds of the way from the mean
  to the limit) on the same side of the mean.

A point on the mean breaks a shift. Each special-cause point is an improvement or a concern by
the measure's desired direction (for a trend: by the trend's direction; otherwise by the side of
the mean). Limits are recalculated from each ``rebase`` point on (for example the month a trust
adopted the guideline), and the rules run within each segment. Assurance compares a target with
the latest limits: the process will consistently pass, consistently fail, or hit and miss.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from statistics import fmean

LIMIT_FACTOR = 2.66
NEAR_LIMIT_FACTOR = 2 * LIMIT_FACTOR / 3


class Direction(StrEnum):
    INCREASE = "increase"
    DECREASE = "decrease"
    NEUTRAL = "neutral"


class Variation(StrEnum):
    COMMON_CAUSE = "common-cause"
    IMPROVEMENT_HIGH = "improvement-high"
    IMPROVEMENT_LOW = "improvement-low"
    CONCERN_HIGH = "concern-high"
    CONCERN_LOW = "concern-low"
    NEUTRAL_HIGH = "neutral-high"
    NEUTRAL_LOW = "neutral-low"

    @property
    def is_concern(self) -> bool:
        return self in (Variation.CONCERN_HIGH, Variation.CONCERN_LOW)

    @property
    def words(self) -> str:
        return {
            "common-cause": "common cause variation (no signal)",
            "improvement-high": "special cause variation: improvement (higher)",
            "improvement-low": "special cause variation: improvement (lower)",
            "concern-high": "special cause variation: concern (higher)",
            "concern-low": "special cause variation: concern (lower)",
            "neutral-high": "special cause variation (higher)",
            "neutral-low": "special cause variation (lower)",
        }[self.value]


class Assurance(StrEnum):
    CONSISTENTLY_PASS = "consistently-pass"
    CONSISTENTLY_FAIL = "consistently-fail"
    HIT_AND_MISS = "hit-and-miss"
    NONE = "none"

    @property
    def words(self) -> str:
        return {
            "consistently-pass": "the process will consistently meet the target",
            "consistently-fail": "the process will consistently miss the target without change",
            "hit-and-miss": "the process will sometimes meet and sometimes miss the target",
            "none": "no target",
        }[self.value]


class Rule(StrEnum):
    OUTSIDE_LIMITS = "outside-limits"
    SHIFT = "shift"
    TREND = "trend"
    TWO_OF_THREE = "two-of-three"


@dataclass(frozen=True, slots=True)
class Rules:
    """Run lengths, configurable; the defaults are Making Data Count's."""

    shift_length: int = 7
    trend_length: int = 7


@dataclass(frozen=True, slots=True)
class Point:
    value: float
    mean: float
    lower: float
    upper: float
    rules: tuple[Rule, ...]
    variation: Variation
    segment: int


@dataclass(frozen=True, slots=True)
class Chart:
    points: tuple[Point, ...]
    assurance: Assurance

    @property
    def latest(self) -> Point:
        return self.points[-1]


def _segments(n: int, rebase: Sequence[int]) -> list[range]:
    starts = sorted({0, *(i for i in rebase if 0 < i < n)})
    return [range(start, end) for start, end in zip(starts, starts[1:] + [n])]


def _runs(flags: Sequence[int], length: int) -> set[int]:
    """Indices in runs of at least ``length`` equal non-zero flags."""
    marked: set[int] = set()
    start = 0
    for i in range(1, len(flags) + 1):
        if i == len(flags) or flags[i] != flags[start]:
            if flags[start] != 0 and i - start >= length:
                marked.update(range(start, i))
            start = i
    return marked


def _sign(value: float) -> int:
    return (value > 0) - (value < 0)


def _segment_points(values: Sequence[float], rules: Rules, direction: Direction, segment: int) -> list[Point]:
    mean = fmean(values)
    ranges = [abs(b - a) for a, b in zip(values, values[1:])]
    mean_range = fmean(ranges) if ranges else 0.0
    lower, upper = mean - LIMIT_FACTOR * mean_range, mean + LIMIT_FACTOR * mean_range
    near_lower, near_upper = mean - NEAR_LIMIT_FACTOR * mean_range, mean + NEAR_LIMIT_FACTOR * mean_range
    side = [_sign(v - mean) for v in values]
    outside = {i for i, v in enumerate(values) if v > upper or v < lower}
    shift = _runs(side, rules.shift_length)
    steps = [0] + [_sign(b - a) for a, b in zip(values, values[1:])]
    # A trend of n points is n - 1 steps the same way; the point before the first step is in it.
    trend_steps = _runs(steps, rules.trend_length - 1)
    trend = trend_steps | {i - 1 for i in trend_steps}
    trend_way = {i: steps[i] if i in trend_steps else steps[i + 1] for i in trend}
    close = [i not in outside and (v > near_upper or v < near_lower) for i, v in enumerate(values)]
    two_of_three: set[int] = set()
    for start in range(len(values) - 2):
        window = range(start, start + 3)
        if abs(sum(side[i] for i in window)) == 3 and sum(close[i] for i in window) >= 2:
            two_of_three.update(i for i in window if close[i])
    points = []
    for i, value in enumerate(values):
        found = tuple(
            rule
            for rule, members in (
                (Rule.OUTSIDE_LIMITS, outside),
                (Rule.SHIFT, shift),
                (Rule.TREND, trend),
                (Rule.TWO_OF_THREE, two_of_three),
            )
            if i in members
        )
        high = (trend_way[i] > 0) if found == (Rule.TREND,) else side[i] > 0
        points.append(Point(value, mean, lower, upper, found, _variation(found, high, direction), segment))
    return points


def _variation(found: tuple[Rule, ...], high: bool, direction: Direction) -> Variation:
    if not found:
        return Variation.COMMON_CAUSE
    if direction is Direction.NEUTRAL:
        return Variation.NEUTRAL_HIGH if high else Variation.NEUTRAL_LOW
    improving = high == (direction is Direction.INCREASE)
    if improving:
        return Variation.IMPROVEMENT_HIGH if high else Variation.IMPROVEMENT_LOW
    return Variation.CONCERN_HIGH if high else Variation.CONCERN_LOW


def assurance(lower: float, upper: float, target: float | None, direction: Direction) -> Assurance:
    if target is None or direction is Direction.NEUTRAL:
        return Assurance.NONE
    if target > upper:
        return Assurance.CONSISTENTLY_FAIL if direction is Direction.INCREASE else Assurance.CONSISTENTLY_PASS
    if target < lower:
        return Assurance.CONSISTENTLY_PASS if direction is Direction.INCREASE else Assurance.CONSISTENTLY_FAIL
    return Assurance.HIT_AND_MISS


def xmr(
    values: Sequence[float],
    direction: Direction = Direction.NEUTRAL,
    target: float | None = None,
    rebase: Sequence[int] = (),
    rules: Rules = Rules(),
) -> Chart:
    """The XmR chart of a series (oldest first), with limits recalculated at each rebase index."""
    if len(values) < 2:
        raise ValueError("an XmR chart needs at least two points")
    points: list[Point] = []
    for number, segment in enumerate(_segments(len(values), rebase)):
        points.extend(_segment_points([values[i] for i in segment], rules, direction, number))
    last = points[-1]
    return Chart(points=tuple(points), assurance=assurance(last.lower, last.upper, target, direction))
