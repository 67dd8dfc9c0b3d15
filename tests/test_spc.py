"""SPC by Making Data Count's rules, on series worked out by hand (mean, moving range, limits)."""

import pytest

from service.monitoring.spc import Assurance, Direction, Rule, Rules, Variation, assurance, xmr

pytestmark = pytest.mark.fast  # no database, server process or browser: make test-fast runs it


def flagged(chart) -> dict[int, tuple]:
    return {i: p.rules for i, p in enumerate(chart.points) if p.rules}


def test_a_point_outside_the_limits() -> None:
    values = [6, 18] * 6 + [60]
    chart = xmr(values, Direction.DECREASE)
    # mean 204 / 13 = 15.6923; moving ranges 11 x 12 and 42: mean 174 / 12 = 14.5;
    # upper limit 15.6923 + 2.66 x 14.5 = 54.2623, lower -22.8777.
    point = chart.latest
    assert point.mean == pytest.approx(15.6923, abs=1e-4)
    assert (point.lower, point.upper) == (pytest.approx(-22.8777, abs=1e-4), pytest.approx(54.2623, abs=1e-4))
    assert flagged(chart) == {12: (Rule.OUTSIDE_LIMITS,)}
    assert point.variation is Variation.CONCERN_HIGH  # higher is worse for this measure


def test_a_shift_of_seven_points_on_one_side_of_the_mean() -> None:
    values = [10, 13, 11, 12, 10, 13, 16, 18, 17, 19, 16, 18, 17]
    chart = xmr(values, Direction.DECREASE)
    # mean 190 / 13 = 14.615: the first six points are below it (too few for a shift), the last
    # seven above. Mean moving range 25 / 12 = 2.083, limits 9.073-20.157: nothing outside; the
    # near-limit bands (below 10.921, above 18.309) catch 10, 10 and 19, but never two in three.
    assert flagged(chart) == {i: (Rule.SHIFT,) for i in range(6, 13)}
    assert {chart.points[i].variation for i in range(6, 13)} == {Variation.CONCERN_HIGH}
    assert chart.points[0].variation is Variation.COMMON_CAUSE


def test_a_trend_of_seven_points_rising() -> None:
    values = [10, 15, 10, 15, 11, 12, 13, 14, 15, 16, 17, 11, 15, 10]
    chart = xmr(values, Direction.INCREASE)
    # 11, 12, ..., 17 (points 4-10) rise six times in a row: a trend of seven points. Mean 184 / 14
    # = 13.143, mean moving range 40 / 13 = 3.077, limits 4.958-21.327, near bands 7.686 and 18.599:
    # nothing outside or near; the longest run on one side of the mean is four points.
    assert flagged(chart) == {i: (Rule.TREND,) for i in range(4, 11)}
    # A rising trend is "higher", which is improvement for this measure, on either side of the mean.
    assert {chart.points[i].variation for i in range(4, 11)} == {Variation.IMPROVEMENT_HIGH}


def test_two_of_three_points_close_to_a_limit() -> None:
    values = [10, 12] * 8 + [17, 16, 17] + [10, 12]
    chart = xmr(values, Direction.DECREASE)
    # mean 248 / 21 = 11.810, mean moving range 46 / 20 = 2.3, limits 5.692-17.928; two thirds of
    # the way to the upper limit is 15.888, so 17, 16 and 17 are all close to it, on the same side.
    assert flagged(chart) == {16: (Rule.TWO_OF_THREE,), 17: (Rule.TWO_OF_THREE,), 18: (Rule.TWO_OF_THREE,)}


def test_run_lengths_are_configurable() -> None:
    values = [10, 13, 11, 12, 10, 13, 16, 18, 17, 19, 16, 18, 17]
    assert flagged(xmr(values, rules=Rules(shift_length=8))) == {}
    assert set(flagged(xmr(values, rules=Rules(shift_length=6)))) == set(range(13))


def test_rebasing_recalculates_the_limits_from_the_change() -> None:
    before = [9, 11, 10] * 4
    after = [5, 7, 6] * 4
    without = xmr(before + after, Direction.DECREASE)
    assert set(flagged(without)) == set(range(24))  # two shifts either side of the overall mean of 8
    assert {p.variation for p in without.points[12:]} == {Variation.IMPROVEMENT_LOW}
    rebased = xmr(before + after, Direction.DECREASE, rebase=[12])
    assert flagged(rebased) == {}
    assert (rebased.points[0].mean, rebased.points[12].mean) == (10, 6)
    assert rebased.points[12].segment == 1


@pytest.mark.parametrize(
    ("target", "direction", "expected"),
    [
        (20, Direction.INCREASE, Assurance.CONSISTENTLY_FAIL),
        (2, Direction.INCREASE, Assurance.CONSISTENTLY_PASS),
        (20, Direction.DECREASE, Assurance.CONSISTENTLY_PASS),
        (2, Direction.DECREASE, Assurance.CONSISTENTLY_FAIL),
        (10, Direction.INCREASE, Assurance.HIT_AND_MISS),
        (None, Direction.INCREASE, Assurance.NONE),
        (10, Direction.NEUTRAL, Assurance.NONE),
    ],
)
def test_assurance_against_a_target(target, direction, expected) -> None:
    assert assurance(5, 15, target, direction) is expected


def test_a_chart_needs_two_points() -> None:
    with pytest.raises(ValueError):
        xmr([1.0])
