"""Matching one pathway's step occurrences to a reference's, by meaning.

Each side is a list of ``Point``s: one per occurrence of a step (a clinic repeated four times is
four points). The match is an optimal assignment (Hungarian method, scipy's
``linear_sum_assignment``) minimising the total cost below; it never looks at action order, ids or
canonical URLs, so trusts that write their own ids and order still line up.

Cost of pairing a point with a reference point (docs/comparison.md has the reasoning):

- different step kind: not allowed (a wound check is never a follow-up review);
- timing: ``|ln((1 + day) / (1 + ref))|``, where ``ref`` is the nearest day of the reference's
  window (zero inside it). A 6-week clinic against an 8-week review costs 0.28; more than 2.5
  times apart (``MAX_TIMING_COST``) is not allowed;
- different contact mode: ``MODE_COST`` between two scheduled modes (face to face, telephone,
  video), ``UNSCHEDULED_MODE_COST`` when one side is patient-initiated or no contact, a larger
  change for the patient; no shared participant role: ``ROLE_COST``;
- an occurrence left unmatched, on either side: ``UNMATCHED_COST``.
"""

import bisect
import math
from collections.abc import Sequence
from functools import lru_cache
from typing import NamedTuple

import numpy as np
from scipy.optimize import linear_sum_assignment

from ..conventions import SCHEDULED_CONTACT_MODES

MAX_TIMING_COST = math.log(2.5)
MODE_COST = 0.4
UNSCHEDULED_MODE_COST = 0.9
ROLE_COST = 0.2
UNKNOWN_TIMING_COST = 0.5
UNMATCHED_COST = 1.0
_FORBIDDEN = 1e6


class Point(NamedTuple):
    """One occurrence of a step, as the alignment sees it (a named tuple: made and hashed by the thousand)."""

    kind: str | None
    mode: str | None
    roles: frozenset[str]
    #: Nominal day; None when the timing is not statically comparable.
    day: int | None
    #: The window the reference allows (equal to ``day`` for a single day).
    earliest: float | None = None
    latest: float | None = None

    def sort_key(self) -> tuple:
        return (
            self.day if self.day is not None else math.inf,
            self.kind or "",
            self.mode or "",
            tuple(sorted(self.roles)),
        )


def timing_cost(point: Point, reference: Point) -> float:
    if point.day is None or reference.day is None:
        return UNKNOWN_TIMING_COST
    low = reference.earliest if reference.earliest is not None else reference.day
    high = reference.latest if reference.latest is not None else reference.day
    nearest = min(max(point.day, low), high)
    return abs(math.log((1 + point.day) / (1 + nearest)))


def pair_cost(point: Point, reference: Point) -> float:
    if point.kind != reference.kind:
        return _FORBIDDEN
    timing = timing_cost(point, reference)
    if timing > MAX_TIMING_COST:
        return _FORBIDDEN
    cost = timing
    if point.mode != reference.mode:
        both_scheduled = point.mode in SCHEDULED_CONTACT_MODES and reference.mode in SCHEDULED_CONTACT_MODES
        cost += MODE_COST if both_scheduled else UNSCHEDULED_MODE_COST
    if point.roles and reference.roles and not point.roles & reference.roles:
        cost += ROLE_COST
    return cost


def align(points: Sequence[Point], reference: Sequence[Point]) -> list[tuple[int, int]]:
    """The optimal matching as (index in points, index in reference) pairs, sorted.

    Unmatched indices are simply absent. The result depends only on the points' content, not on
    their order: both sides are put in a canonical order before solving.
    """
    if not points or not reference:
        return []
    order_p = sorted(range(len(points)), key=lambda i: points[i].sort_key())
    aligner = Aligner([points[i] for i in order_p])
    pairs = aligner.align(slice(0, len(points)), Reference(aligner, reference))
    return sorted((order_p[i], j) for i, j in pairs)


# --- the same matching, for many lists at once ------------------------------------------------------


class Aligner:
    """``align`` for many lists of points against shared references, with the costs computed once.

    A comparison aligns every trust's occurrences with the same reference steps (and the consensus
    with the same representatives), so the cost of each point against each reference point is
    computed for all points of all trusts at once: one numpy *column* per reference point, with
    exactly the arithmetic of ``pair_cost`` (the logarithms by ``math.log``), so every matrix
    handed to the solver, and so every matching, is the one ``align`` builds pair by pair.

    The rows are the points in the order given; each list aligned is a range (or array) of rows
    already in ``Point.sort_key`` order, as ``reference.occurrences`` returns them.
    """

    def __init__(self, points: Sequence[Point]) -> None:
        self.points = points
        size = len(points)
        self._kinds: dict[str | None, int] = {}
        self._modes: dict[str | None, int] = {}
        self._roles: dict[str, int] = {}
        self.kind = np.fromiter((self._kinds.setdefault(p.kind, len(self._kinds)) for p in points), np.int64, size)
        self.mode = np.fromiter((self._modes.setdefault(p.mode, len(self._modes)) for p in points), np.int64, size)
        self.scheduled = np.fromiter((p.mode in SCHEDULED_CONTACT_MODES for p in points), bool, size)
        self.known = np.fromiter((p.day is not None for p in points), bool, size)
        self.day = np.fromiter((p.day if p.day is not None else 0 for p in points), np.float64, size)
        self.has_roles = np.fromiter((bool(p.roles) for p in points), bool, size)
        for point in points:
            for role in point.roles:
                self._roles.setdefault(role, len(self._roles))
        #: Roles as bits of an int64 while they fit; beyond that, sets (slower, same answer).
        self._role_bits = len(self._roles) <= 62
        if self._role_bits:
            self.roles = np.fromiter((self._bits(p.roles) for p in points), np.int64, size)
        self._columns: dict[Point, np.ndarray] = {}

    def _bits(self, roles: frozenset[str]) -> int:
        bits = 0
        for role in roles:
            index = self._roles.get(role)
            if index is not None:
                bits |= 1 << index
        return bits

    def column(self, reference: Point) -> np.ndarray:
        """``pair_cost(point, reference)`` for every point (read-only, cached)."""
        found = self._columns.get(reference)
        if found is None:
            found = self._columns[reference] = self._column(reference)
            found.flags.writeable = False
        return found

    def _column(self, reference: Point) -> np.ndarray:
        size = len(self.points)
        same_kind = self.kind == self._kinds.get(reference.kind, -1)
        timing = np.full(size, UNKNOWN_TIMING_COST)
        if reference.day is not None:
            low = reference.earliest if reference.earliest is not None else reference.day
            high = reference.latest if reference.latest is not None else reference.day
            # Only where pair_cost computes it (same kind, both days known), so it fails where that would.
            where = same_kind & self.known
            if where.any():
                days = self.day[where]
                nearest = np.minimum(np.maximum(days, low), high)
                if (nearest == -1).any():
                    raise ZeroDivisionError("float division by zero")
                ratios = (1 + days) / (1 + nearest)
                distinct, inverse = np.unique(ratios, return_inverse=True)
                logs = np.array([abs(math.log(ratio)) for ratio in distinct.tolist()])
                timing[where] = logs[inverse]
        cost = timing + np.where(
            self.mode != self._modes.get(reference.mode, -1),
            np.where(self.scheduled & (reference.mode in SCHEDULED_CONTACT_MODES), MODE_COST, UNSCHEDULED_MODE_COST),
            0.0,
        )
        if reference.roles:
            if self._role_bits:
                disjoint = (self.roles & self._bits(reference.roles)) == 0
            else:
                disjoint = np.fromiter((not p.roles & reference.roles for p in self.points), bool, size)
            cost = cost + np.where(self.has_roles & disjoint, ROLE_COST, 0.0)
        return np.where(~same_kind | (timing > MAX_TIMING_COST), _FORBIDDEN, cost)

    def align(self, rows: slice | np.ndarray, reference: "Reference",
              back: Sequence[int] | None = None) -> list[tuple[int, int]]:
        """``align`` of the points at ``rows`` (in sort order) with ``reference``: (position in rows, index) pairs.

        ``back`` maps a position in ``rows`` to the index the caller knows the point by, when the
        caller's list was not in sort order (see ``stack``).
        """
        pairs = self._align(rows, reference)
        return sorted((back[i], j) for i, j in pairs) if back is not None else pairs

    def _align(self, rows: slice | np.ndarray, reference: "Reference") -> list[tuple[int, int]]:
        m = len(reference.points)
        if not m:
            return []
        order = reference.order
        # The rows' costs, columns in sort order (order only names appended columns).
        costs = reference.columns[rows][:, order] if isinstance(rows, slice) else reference.columns[np.ix_(rows, order)]
        n = len(costs)
        if not n:
            return []
        if m == 1:
            single = single_match(costs[:, 0].tolist())
            if single is not None:
                return [(single, reference.order_list[0])] if single >= 0 else []
        cost = _padded(n, m).copy() if n + m <= _CACHED_SIZE else _pad(n, m)
        cost[:n, :m] = costs
        cols = linear_sum_assignment(cost)[1][:n].tolist()  # rows come back as 0 .. n+m-1
        to_index = reference.order_list
        # Already sorted: positions ascend, and each is paired once.
        return [(a, to_index[b]) for a, b in enumerate(cols) if b < m and costs.item(a, b) < _FORBIDDEN]


#: Matrices up to this size are kept once made (at most 32 KB each).
_CACHED_SIZE = 64


@lru_cache(maxsize=1024)
def _padded(n: int, m: int) -> np.ndarray:
    cost = _pad(n, m)
    cost.flags.writeable = False
    return cost


def _pad(n: int, m: int) -> np.ndarray:
    """The matrix ``align`` solves, around an n x m block of pair costs (filled in by the caller).

    A point may be left unmatched (its own column of dummies), so may a reference point (its own
    row); the dummies pair with each other at no cost. Every other cell is forbidden.
    """
    size = n + m
    cost = np.full((size, size), _FORBIDDEN)
    diagonal = np.arange(max(n, m))
    cost[diagonal[:n], m + diagonal[:n]] = UNMATCHED_COST  # point left unmatched
    cost[n + diagonal[:m], diagonal[:m]] = UNMATCHED_COST  # reference point left unmatched
    cost[n:, m:] = 0.0
    return cost


#: A list's rows in an ``Aligner`` (a range, or an array for a subset) and the map back to its indices.
Span = tuple[slice | np.ndarray, list[int] | None]


def stack(lists: Sequence[Sequence[Point]], presorted: bool = False) -> tuple[Aligner, list[Span]]:
    """One ``Aligner`` for several lists of points, and where each list's points are in it.

    Each list's points are put in sort order (a list already in it, like ``occurrences()``, is
    kept as it is); a span is (its rows, the map back to the list's own indices or None).
    ``presorted`` skips the check for callers that know.
    """
    points: list[Point] = []
    spans: list[Span] = []
    for items in lists:
        back = None
        if not presorted:
            keys = [point.sort_key() for point in items]
            if any(keys[k] > keys[k + 1] for k in range(len(keys) - 1)):
                back = sorted(range(len(items)), key=keys.__getitem__)
        spans.append((slice(len(points), len(points) + len(items)), back))
        points.extend(items if back is None else [items[i] for i in back])
    return Aligner(points), spans


#: Cost of leaving one point and the single reference point both unmatched.
_BOTH_UNMATCHED = 2 * UNMATCHED_COST
_CLEAR = 1e-9


def could_pair(costs: np.ndarray) -> np.ndarray:
    """Where a point could be paired with a single reference point: where ``single_match`` of a
    list holding it could return anything but -1 (its cost is not above twice the unmatched cost)."""
    return costs < _BOTH_UNMATCHED + _CLEAR


def single_match(costs: list[float]) -> int | None:
    """``align`` against a single reference point, where it is certain without the solver.

    ``costs`` are the points' pair costs with it, in sort order. Pairing point ``a`` costs
    ``costs[a]`` plus the others left unmatched; pairing none costs one more unmatched point: so
    the cheapest point is paired when it is below twice the unmatched cost. Returns its position,
    -1 for no pair, or None when a tie (or a near one) leaves the choice to the solver's order.
    """
    lowest = min(costs)
    if abs(lowest - _BOTH_UNMATCHED) < _CLEAR:
        return None
    if lowest > _BOTH_UNMATCHED:
        return -1
    best = costs.index(lowest)
    if any(value - lowest < _CLEAR for k, value in enumerate(costs) if k != best):
        return None
    return best


class Reference:
    """Reference points for an ``Aligner``: their columns, and their ``sort_key`` order.

    Points can be appended (the consensus adds representatives as it goes); the order is kept as
    a stable sort would give it, so it is the order ``align`` would use.
    """

    def __init__(self, aligner: Aligner, points: Sequence[Point] = ()) -> None:
        self.aligner = aligner
        self.points: list[Point] = []
        self._keys: list[tuple[tuple, int]] = []
        self._order: np.ndarray | None = None
        #: ``order`` as a list (set with it).
        self.order_list: list[int] = []
        self._matrix = np.empty((len(aligner.points), max(4, len(points))))
        for point in points:
            self.append(point)

    def append(self, point: Point) -> None:
        index = len(self.points)
        bisect.insort(self._keys, (point.sort_key(), index))
        self.points.append(point)
        if index == self._matrix.shape[1]:
            grown = np.empty((self._matrix.shape[0], 2 * index))
            grown[:, :index] = self._matrix
            self._matrix = grown
        self._matrix[:, index] = self.aligner.column(point)
        self._order = None

    @property
    def order(self) -> np.ndarray:
        """Indices of the points in sort order."""
        if self._order is None:
            self.order_list = [index for _key, index in self._keys]
            self._order = np.array(self.order_list, dtype=np.intp)
        return self._order

    @property
    def columns(self) -> np.ndarray:
        """Costs of every aligner point (rows) against the reference points (columns, as appended),
        with room for more columns at the end: index it with ``order``."""
        return self._matrix

    @property
    def matrix(self) -> np.ndarray:
        """Costs of every aligner point (rows) against every reference point (columns, as appended)."""
        return self._matrix[:, : len(self.points)]
