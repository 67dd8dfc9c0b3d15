"""The vectorised alignment gives exactly what the plain, pair-by-pair definition gives.

``Aligner`` computes every pair cost for many trusts at once with numpy, and ``single_match``
skips the solver against a single reference point. Both are only speed: these tests hold them to
``pair_cost`` and to ``linear_sum_assignment`` on the matrix written out cell by cell.
"""

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.optimize import linear_sum_assignment

from service.variation.alignment import (
    _FORBIDDEN,
    UNMATCHED_COST,
    Aligner,
    Point,
    align,
    pair_cost,
    single_match,
)

points = st.builds(
    Point,
    kind=st.sampled_from([None, "follow-up", "wound-check", "investigation"]),
    mode=st.sampled_from([None, "face-to-face", "telephone", "video", "patient-initiated"]),
    roles=st.frozensets(st.sampled_from(["consultant", "nurse", "gp"]), max_size=2),
    day=st.one_of(st.none(), st.integers(0, 800)),
    earliest=st.none(),
    latest=st.none(),
)


@st.composite
def references(draw: st.DrawFn) -> Point:
    point = draw(points)
    if point.day is not None and draw(st.booleans()):
        low = draw(st.integers(0, point.day))
        high = draw(st.integers(point.day, point.day + 200))
        return point._replace(earliest=float(low), latest=float(high))
    return point


def plain_align(ps: list[Point], rs: list[Point]) -> list[tuple[int, int]]:
    """The definition: the padded cost matrix cell by cell, in content order, solved."""
    if not ps or not rs:
        return []
    order_p = sorted(range(len(ps)), key=lambda i: ps[i].sort_key())
    order_r = sorted(range(len(rs)), key=lambda j: rs[j].sort_key())
    n, m = len(ps), len(rs)
    cost = np.full((n + m, n + m), _FORBIDDEN)
    for a, i in enumerate(order_p):
        for b, j in enumerate(order_r):
            cost[a, b] = pair_cost(ps[i], rs[j])
        cost[a, m + a] = UNMATCHED_COST
    for b in range(m):
        cost[n + b, b] = UNMATCHED_COST
    cost[n:, m:] = 0.0
    rows, cols = linear_sum_assignment(cost)
    return sorted((order_p[a], order_r[b]) for a, b in zip(rows, cols)
                  if a < n and b < m and cost[a, b] < _FORBIDDEN)


@settings(max_examples=300, deadline=None)
@given(ps=st.lists(points, max_size=12), reference=references())
def test_each_column_is_pair_cost_for_every_point(ps: list[Point], reference: Point) -> None:
    column = Aligner(ps).column(reference)
    assert column.tolist() == [pair_cost(p, reference) for p in ps]


@settings(max_examples=300, deadline=None)
@given(ps=st.lists(points, max_size=10), rs=st.lists(references(), max_size=8))
def test_align_is_the_optimal_matching_of_the_plain_cost_matrix(ps: list[Point], rs: list[Point]) -> None:
    assert align(ps, rs) == plain_align(ps, rs)


@settings(max_examples=300, deadline=None)
@given(costs=st.lists(st.sampled_from([0.0, 0.1, 0.5, 1.0, 1.5, 2.0, 2.5, _FORBIDDEN]), min_size=1, max_size=6))
def test_single_match_agrees_with_the_solver_whenever_it_decides(costs: list[float]) -> None:
    n = len(costs)
    cost = np.full((n + 1, n + 1), _FORBIDDEN)
    cost[:n, 0] = costs
    for a in range(n):
        cost[a, 1 + a] = UNMATCHED_COST
    cost[n, 0] = UNMATCHED_COST
    cost[n:, 1:] = 0.0
    rows, cols = linear_sum_assignment(cost)
    solved = next((a for a, b in zip(rows, cols) if a < n and b == 0 and cost[a, 0] < _FORBIDDEN), -1)
    decided = single_match(costs)
    if decided is None:  # a tie: left to the solver, which must then be the one to choose
        lowest = min(costs)
        assert abs(lowest - 2 * UNMATCHED_COST) < 1e-9 or sorted(costs)[1] - lowest < 1e-9
    else:
        assert decided == solved


def test_single_match_worked_by_hand() -> None:
    # Pairing costs the pair cost; leaving the point and the reference both unmatched costs 2.
    assert single_match([0.3, 1.2]) == 0
    assert single_match([2.5, 3.0]) == -1
    assert single_match([0.4, 0.4]) is None
