"""The vectorised alignment gives exactly what the plain, pair-by-pair definition gives.

``Aligner`` computes every pair cost for many trusts at once with numpy, and ``single_match``
skips the solver against a single reference occasion. Both are only speed: these tests hold them
to ``pair_cost`` below (the rule of docs/comparison.md written pair by pair) and to SciPy's
``linear_sum_assignment`` on the matrix written out cell by cell. The service solves with minilsap
(SciPy's solver extracted, to spare ``scipy.optimize``'s import): it is held here to the same answers.
"""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from minilsap import linear_sum_assignment as minilsap_assignment
from scipy.optimize import linear_sum_assignment

from service.conventions import SCHEDULED_CONTACT_MODES
from service.pathway import Step, StepTiming
from service.variation.align import ReferenceColumns, align_trust, members_of
from service.variation.alignment import (
    FORBIDDEN,
    MAX_TIMING_COST,
    MODE_COST,
    ROLE_COST,
    UNKNOWN_TIMING_COST,
    UNMATCHED_COST,
    UNSCHEDULED_MODE_COST,
    Aligner,
    Occasion,
    align,
    aligner_for,
    reach_outside,
    single_match,
)
from service.variation.reference import ReferenceStep, TrustOccurrence

pytestmark = pytest.mark.fast  # no database, server process or browser: make test-fast runs it


def timing_cost(occasion: Occasion, reference: Occasion) -> float:
    """The definition: the log distance between the nearest days of the two intervals (0 if they overlap)."""
    if occasion.day is None or reference.day is None:
        return UNKNOWN_TIMING_COST
    low, high, first, last = occasion.earliest, occasion.latest, reference.earliest, reference.latest
    if low > last:
        return abs(math.log((1 + low) / (1 + last)))
    if high < first:
        return abs(math.log((1 + high) / (1 + first)))
    return 0.0


def pair_cost(occasion: Occasion, reference: Occasion) -> float:
    """The definition of the cost of pairing two occasions (docs/comparison.md, "Alignment")."""
    if occasion.kind != reference.kind:
        return FORBIDDEN
    timing = timing_cost(occasion, reference)
    if timing > MAX_TIMING_COST:
        return FORBIDDEN
    cost = timing
    if occasion.mode != reference.mode:
        both_scheduled = occasion.mode in SCHEDULED_CONTACT_MODES and reference.mode in SCHEDULED_CONTACT_MODES
        cost += MODE_COST if both_scheduled else UNSCHEDULED_MODE_COST
    if occasion.roles and reference.roles and not occasion.roles & reference.roles:
        cost += ROLE_COST
    return cost


days = st.one_of(st.none(), st.integers(0, 800))


@st.composite
def occasions(draw: st.DrawFn, windows: bool = True) -> Occasion:
    """An occasion: a day, a window (when ``windows``), or no comparable time."""
    day = draw(days)
    made = Occasion(
        kind=draw(st.sampled_from([None, "follow-up", "wound-check", "investigation"])),
        mode=draw(st.sampled_from([None, "face-to-face", "telephone", "video", "patient-initiated"])),
        roles=draw(st.frozensets(st.sampled_from(["consultant", "nurse", "gp"]), max_size=2)),
        day=day,
        earliest=0.0 if day is None else day,
        latest=0.0 if day is None else day,
    )
    if windows and made.day is not None and draw(st.booleans()):
        low = draw(st.integers(0, made.day))
        high = draw(st.integers(made.day, made.day + 200))
        return made._replace(earliest=float(low), latest=float(high))
    return made


def padded(pairs: list[list[float]]) -> np.ndarray:
    """The matrix solved, cell by cell: the n x m pair costs; each occasion's own "unmatched" column and
    each reference occasion's own "unmatched" row at ``UNMATCHED_COST``; the dummies pairing freely."""
    n, m = len(pairs), len(pairs[0])
    cost = np.full((n + m, n + m), FORBIDDEN)
    cost[:n, :m] = pairs
    for a in range(n):
        cost[a, m + a] = UNMATCHED_COST
    for b in range(m):
        cost[n + b, b] = UNMATCHED_COST
    cost[n:, m:] = 0.0
    return cost


def plain_align(ps: list[Occasion], rs: list[Occasion]) -> list[tuple[int, int]]:
    """The definition: the padded cost matrix cell by cell, in content order, solved."""
    if not ps or not rs:
        return []
    order_p = sorted(range(len(ps)), key=lambda i: ps[i].sort_key())
    order_r = sorted(range(len(rs)), key=lambda j: rs[j].sort_key())
    n, m = len(ps), len(rs)
    cost = padded([[pair_cost(ps[i], rs[j]) for j in order_r] for i in order_p])
    rows, cols = linear_sum_assignment(cost)
    return sorted((order_p[a], order_r[b]) for a, b in zip(rows, cols)
                  if a < n and b < m and cost[a, b] < FORBIDDEN)


@settings(max_examples=300, deadline=None)
@given(ps=st.lists(occasions(), max_size=12), reference=occasions())
def test_each_column_is_pair_cost_for_every_occasion(ps: list[Occasion], reference: Occasion) -> None:
    column = Aligner(ps).column(reference)
    assert column.tolist() == [pair_cost(p, reference) for p in ps]


@settings(max_examples=300, deadline=None)
@given(ps=st.lists(occasions(), max_size=10), rs=st.lists(occasions(), max_size=8))
def test_align_is_the_optimal_matching_of_the_plain_cost_matrix(ps: list[Occasion], rs: list[Occasion]) -> None:
    assert align(ps, rs) == plain_align(ps, rs)


@settings(max_examples=300, deadline=None)
@given(costs=st.lists(st.sampled_from([0.0, 0.1, 0.5, 1.0, 1.5, 2.0, 2.5, FORBIDDEN]), min_size=1, max_size=6))
def test_single_match_agrees_with_the_solver_whenever_it_decides(costs: list[float]) -> None:
    n = len(costs)
    cost = padded([[value] for value in costs])
    rows, cols = linear_sum_assignment(cost)
    solved = next((a for a, b in zip(rows, cols) if a < n and b == 0 and cost[a, 0] < FORBIDDEN), -1)
    decided = single_match(costs)
    if decided is None:  # a tie: left to the solver, which must then be the one to choose
        lowest = min(costs)
        assert abs(lowest - 2 * UNMATCHED_COST) < 1e-9 or sorted(costs)[1] - lowest < 1e-9
    else:
        assert decided == solved


@settings(max_examples=500, deadline=None)
@given(data=st.data(), n=st.integers(1, 12), m=st.integers(1, 12))
def test_minilsap_gives_scipys_assignment_of_the_matrices_align_solves(data: st.DataObject, n: int, m: int) -> None:
    # Costs from a few values, so that ties (several optimal matchings) are common: the same one must be chosen.
    values = st.sampled_from([0.0, 0.2, 0.4, 0.5, 0.9, 1.1, 1.3, FORBIDDEN])
    cost = padded(data.draw(st.lists(st.lists(values, min_size=m, max_size=m), min_size=n, max_size=n)))
    ours, scipys = minilsap_assignment(cost), linear_sum_assignment(cost)
    assert ours[0].tolist() == scipys[0].tolist() and ours[1].tolist() == scipys[1].tolist()


def test_minilsap_breaks_a_tie_as_scipy_does_worked_by_hand() -> None:
    # Two occasions, each as good a pair for either reference occasion (0.3 each way): both matchings
    # cost 0.6. SciPy's solver pairs them in order (0 with 0, 1 with 1), and so does minilsap.
    cost = padded([[0.3, 0.3], [0.3, 0.3]])
    assert minilsap_assignment(cost)[1].tolist()[:2] == linear_sum_assignment(cost)[1].tolist()[:2] == [0, 1]


def test_single_match_worked_by_hand() -> None:
    # Pairing costs the pair cost; leaving the occasion and the reference both unmatched costs 2.
    assert single_match([0.3, 1.2]) == 0
    assert single_match([2.5, 3.0]) == -1
    assert single_match([0.4, 0.4]) is None


_EXTRA_PATHS = ["PlanDefinition.action[3]", "PlanDefinition.action[4]", "PlanDefinition.action[5]"]


@settings(max_examples=300, deadline=None)
@given(extra=st.lists(st.tuples(st.sampled_from(_EXTRA_PATHS), occasions().map(lambda o: o._replace(kind="review"))),
                      min_size=1, max_size=8),
       reference=occasions().map(lambda o: o._replace(kind="review")))
def test_an_extra_steps_members_are_what_the_solver_matches(
    extra: list[tuple[str, Occasion]], reference: Occasion
) -> None:
    # Windows overlapping the reference all cost the same, so ties within one trust step are common.
    steps = {path: Step(path=path, action_id=None, title=None, kind="review", mode=None, timing=StepTiming())
             for path in _EXTRA_PATHS}
    made = [TrustOccurrence(steps[path], n, occasion) for n, (path, occasion) in enumerate(extra)]
    occs = sorted(made, key=lambda o: o.occasion.sort_key())  # as occurrences() gives them
    aligner, (rows,) = aligner_for([[o.occasion for o in occs]])
    step = ReferenceStep(key="extra-review", title="Review", kind="review", mode=reference.mode, roles=reference.roles,
                         required=None, conditions=(), occasions=(reference,), source=None)
    on_step = ReferenceColumns.of(aligner, [step])
    solved = align_trust(occs, aligner, rows, on_step).matched.get(step.key, [])
    members = members_of(step, occs, on_step.columns.matrix[:, 0].tolist(), aligner, rows, on_step)
    assert sorted(o.nth for o in members) == sorted(o.nth for o, _ in solved)


def _on(day: int, low: float | None = None, high: float | None = None) -> Occasion:
    """A telephone follow-up on ``day``, or in the window ``low``-``high``."""
    earliest, latest = (day, day) if low is None or high is None else (low, high)
    return Occasion("follow-up", "telephone", frozenset(), day, earliest, latest)


def test_a_window_costs_the_distance_between_intervals_not_between_middles() -> None:
    guideline = _on(7, 0.0, 14.0)
    # Days 10-20 overlap days 0-14: no timing cost, although the middles (15 and 7) differ.
    assert Aligner([_on(15, 10.0, 20.0)]).column(guideline).tolist() == [0.0]
    # Days 20-30 start 6 days after the window ends: ln((1 + 20) / (1 + 14)) = ln(1.4) = 0.336.
    assert Aligner([_on(25, 20.0, 30.0)]).column(guideline).tolist() == [pytest.approx(math.log(21 / 15))]
    # A single day is an interval of one day: day 20 against days 0-14 as before, ln(21 / 15).
    assert Aligner([_on(20)]).column(guideline).tolist() == [pytest.approx(math.log(21 / 15))]


def test_how_far_a_window_reaches_outside_worked_by_hand() -> None:
    guideline = _on(7, 0.0, 14.0)
    assert reach_outside(_on(5, 2.0, 10.0), guideline) == 0.0  # inside
    assert reach_outside(_on(14, 0.0, 28.0), guideline) == pytest.approx(math.log(29 / 15))  # 0.659, late side
    assert reach_outside(_on(15, 10.0, 20.0), guideline) == pytest.approx(math.log(21 / 15))  # 0.336
    # Both sides of days 4-8 (a guideline window) from days 2-10: ln(5 / 3) + ln(11 / 9) = 0.511 + 0.201.
    assert reach_outside(_on(6, 2.0, 10.0), _on(6, 4.0, 8.0)) == pytest.approx(math.log(5 / 3) + math.log(11 / 9))
