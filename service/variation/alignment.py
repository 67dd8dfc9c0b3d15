"""The cost of pairing two step occasions, and the optimal matching of two lists of them.

Each side is a list of ``Occasion``s: one per occurrence of a step (a clinic repeated four times is
four occasions; a step due somewhere in a window is one occasion spanning the window). The match
is an optimal assignment (Hungarian method, ``linear_sum_assignment`` of minilsap: SciPy's solver
extracted, so the same answers without importing ``scipy.optimize``, 0.3 s of every ``harmonise compare``)
minimising the total cost below; it never looks at action order, ids or canonical URLs, so trusts that write
their own ids and order still line up.

Cost of pairing an occasion with a reference occasion (docs/comparison.md has the reasoning):

- different step kind: not allowed (a wound check is never a follow-up review);
- timing: the distance between the two intervals of days on a log scale, ``|ln((1 + a) / (1 + b))|``
  where ``a`` and ``b`` are the nearest days of the two (zero when they overlap). A 6-week clinic
  against an 8-week review costs 0.28; more than 2.5 times apart (``MAX_TIMING_COST``) is not
  allowed; a timing that is not statically comparable costs ``UNKNOWN_TIMING_COST``;
- different contact mode: ``MODE_COST`` between two scheduled modes (face to face, telephone,
  video), ``UNSCHEDULED_MODE_COST`` when one side is patient-initiated or no contact, a larger
  change for the patient; no shared participant role: ``ROLE_COST``;
- an occasion left unmatched, on either side: ``UNMATCHED_COST``.

``Aligner`` computes these costs for every occasion of every trust of a topic at once (one numpy
column per reference occasion); tests/test_alignment.py holds it to the same rule written pair by
pair.
"""

import bisect
import math
from collections.abc import Sequence
from functools import lru_cache
from typing import NamedTuple

import numpy as np
from minilsap import linear_sum_assignment

from ..conventions import SCHEDULED_CONTACT_MODES

MAX_TIMING_COST = math.log(2.5)
MODE_COST = 0.4
UNSCHEDULED_MODE_COST = 0.9
ROLE_COST = 0.2
UNKNOWN_TIMING_COST = 0.5
UNMATCHED_COST = 1.0
FORBIDDEN = 1e6


class Occasion(NamedTuple):
    """One occasion on which a step is due, as alignment sees it: what, how, by whom and when.

    A named tuple: made and hashed by the thousand (it keys the cost columns).
    """

    kind: str | None
    mode: str | None
    roles: frozenset[str]
    #: The nominal day (a window's middle), which only orders occasions; None when not comparable.
    day: int | None
    #: First and last day of the window (both ``day`` for a single day); 0 when not comparable.
    earliest: float
    latest: float

    @property
    def is_window(self) -> bool:
        return self.earliest != self.latest

    def sort_key(self) -> tuple:
        return (
            self.day if self.day is not None else math.inf,
            self.kind or "",
            self.mode or "",
            tuple(sorted(self.roles)),
            self.earliest,
            self.latest,
        )


def undated(kind: str | None, mode: str | None, roles: frozenset[str]) -> Occasion:
    """The occasion of a step whose timing is not statically comparable."""
    return Occasion(kind, mode, roles, None, 0.0, 0.0)


def log_distance(a: float, b: float) -> float:
    """``|ln((1 + a) / (1 + b))|`` for days on or after the index event; for a day before it (a pre-operative
    call, say), the same scale continued below day 0 (``sign(d) ln(1 + |d|)``), so such a step is compared
    too instead of failing: no logarithm of a number that is not positive is ever taken.

    >>> log_distance(0, 0), round(log_distance(41, 20), 4), round(log_distance(-2, 2), 4)
    (0.0, 0.6931, 2.1972)
    """
    if a > -1 and b > -1:
        return abs(math.log((1 + a) / (1 + b)))
    return abs(_signed_log(a) - _signed_log(b))


def _signed_log(day: float) -> float:
    return math.copysign(math.log1p(abs(day)), day)


def reach_outside(occasion: Occasion, reference: Occasion) -> float:
    """How far ``occasion``'s days reach outside ``reference``'s, on the timing cost's log scale.

    Each side counts: starting before the reference's first day, and ending after its last day.
    Zero when the occasion is inside the reference; for a single day it is the timing cost.
    """
    low, high, first, last = occasion.earliest, occasion.latest, reference.earliest, reference.latest
    before = log_distance(first, low) if low < first else 0.0
    after = log_distance(high, last) if high > last else 0.0
    return before + after


def align(occasions: Sequence[Occasion], reference: Sequence[Occasion]) -> list[tuple[int, int]]:
    """The optimal matching as (index in occasions, index in reference) pairs, sorted.

    Unmatched indices are simply absent. The result depends only on the occasions' content, not on
    their order: both sides are put in a canonical order before solving.
    """
    if not occasions or not reference:
        return []
    aligner, (rows,) = aligner_for([occasions])
    return aligner.align(rows, Columns(aligner, reference))


# --- the same matching, for many lists at once ------------------------------------------------------


class Aligner:
    """``align`` for many lists of occasions against shared references, with the costs computed once.

    A comparison aligns every trust's occasions with the same reference steps (and the consensus
    with the same representatives), so the cost of each occasion against each reference occasion
    is computed for all occasions of all trusts at once: one numpy *column* per reference occasion
    (the logarithms by ``math.log``, so that equal inputs give equal costs, whichever list they are in).

    The rows are the occasions in the order given; each list aligned is a range (or array) of rows
    already in ``Occasion.sort_key`` order, as ``reference.occurrences`` returns them.
    """

    def __init__(self, occasions: Sequence[Occasion]) -> None:
        self.occasions = occasions
        size = len(occasions)
        self._kinds: dict[str | None, int] = {}
        self._modes: dict[str | None, int] = {}
        self._roles: dict[str, int] = {}
        self.kind = np.fromiter((self._kinds.setdefault(o.kind, len(self._kinds)) for o in occasions), np.int64, size)
        self.mode = np.fromiter((self._modes.setdefault(o.mode, len(self._modes)) for o in occasions), np.int64, size)
        self.scheduled = np.fromiter((o.mode in SCHEDULED_CONTACT_MODES for o in occasions), bool, size)
        self.known = np.fromiter((o.day is not None for o in occasions), bool, size)
        self.earliest = np.fromiter((o.earliest for o in occasions), np.float64, size)
        self.latest = np.fromiter((o.latest for o in occasions), np.float64, size)
        self.has_roles = np.fromiter((bool(o.roles) for o in occasions), bool, size)
        for occasion in occasions:
            for role in occasion.roles:
                self._roles.setdefault(role, len(self._roles))
        #: Roles as bits of an int64 while they fit; beyond that, sets (slower, same answer).
        self._role_bits = len(self._roles) <= 62
        if self._role_bits:
            self.roles = np.fromiter((self._bits(o.roles) for o in occasions), np.int64, size)
        self._columns: dict[Occasion, np.ndarray] = {}

    def _bits(self, roles: frozenset[str]) -> int:
        bits = 0
        for role in roles:
            index = self._roles.get(role)
            if index is not None:
                bits |= 1 << index
        return bits

    def column(self, reference: Occasion) -> np.ndarray:
        """The cost of pairing every occasion with ``reference`` (read-only, cached)."""
        found = self._columns.get(reference)
        if found is None:
            found = self._columns[reference] = self._column(reference)
            found.flags.writeable = False
        return found

    def _column(self, reference: Occasion) -> np.ndarray:
        size = len(self.occasions)
        same_kind = self.kind == self._kinds.get(reference.kind, -1)
        timing = np.full(size, UNKNOWN_TIMING_COST)
        if reference.day is not None:
            first, last = reference.earliest, reference.latest
            where = same_kind & self.known
            if where.any():
                low, high = self.earliest[where], self.latest[where]
                after, before = low > last, high < first
                # The nearest days of the two intervals; equal (a ratio of 1, no cost) when they overlap.
                near = np.where(after, low, np.where(before, high, 0.0))
                far = np.where(after, last, np.where(before, first, 0.0))
                if (near > -1).all() and (far > -1).all():
                    distinct, inverse = np.unique((1 + near) / (1 + far), return_inverse=True)
                    logs = np.array([abs(math.log(ratio)) for ratio in distinct.tolist()])
                else:  # a day before the index event: the pairs themselves, on the scale continued below 0
                    pairs, inverse = np.unique(np.stack([near, far], axis=1), axis=0, return_inverse=True)
                    logs = np.array([log_distance(a, b) for a, b in pairs.tolist()])
                timing[where] = logs[inverse.reshape(-1)]
        cost = timing + np.where(
            self.mode != self._modes.get(reference.mode, -1),
            np.where(self.scheduled & (reference.mode in SCHEDULED_CONTACT_MODES), MODE_COST, UNSCHEDULED_MODE_COST),
            0.0,
        )
        if reference.roles:
            if self._role_bits:
                disjoint = (self.roles & self._bits(reference.roles)) == 0
            else:
                disjoint = np.fromiter((not o.roles & reference.roles for o in self.occasions), bool, size)
            cost = cost + np.where(self.has_roles & disjoint, ROLE_COST, 0.0)
        return np.where(~same_kind | (timing > MAX_TIMING_COST), FORBIDDEN, cost)

    def align(self, rows: "Rows", reference: "Columns") -> list[tuple[int, int]]:
        """``align`` of the occasions at ``rows`` with ``reference``: (index in the list, index in reference) pairs."""
        where, back = rows
        pairs = self._align(where, reference)
        return sorted((back[i], j) for i, j in pairs) if back is not None else pairs

    def _align(self, where: slice | np.ndarray, reference: "Columns") -> list[tuple[int, int]]:
        m = len(reference.occasions)
        if not m:
            return []
        order = reference.order
        # The rows' costs, columns in sort order (order only names appended columns).
        columns = reference.columns
        costs = columns[where][:, order] if isinstance(where, slice) else columns[np.ix_(where, order)]
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
        return [(a, to_index[b]) for a, b in enumerate(cols) if b < m and costs.item(a, b) < FORBIDDEN]


#: Matrices up to this size are kept once made (at most 32 KB each).
_CACHED_SIZE = 64


@lru_cache(maxsize=1024)
def _padded(n: int, m: int) -> np.ndarray:
    cost = _pad(n, m)
    cost.flags.writeable = False
    return cost


def _pad(n: int, m: int) -> np.ndarray:
    """The matrix ``align`` solves, around an n x m block of pair costs (filled in by the caller).

    An occasion may be left unmatched (its own column of dummies), so may a reference occasion (its
    own row); the dummies pair with each other at no cost. Every other cell is forbidden.
    """
    size = n + m
    cost = np.full((size, size), FORBIDDEN)
    diagonal = np.arange(max(n, m))
    cost[diagonal[:n], m + diagonal[:n]] = UNMATCHED_COST  # occasion left unmatched
    cost[n + diagonal[:m], diagonal[:m]] = UNMATCHED_COST  # reference occasion left unmatched
    cost[n:, m:] = 0.0
    return cost


#: Where one list's occasions are in an ``Aligner``: their rows (a range, or an array for a subset),
#: and the map from a position in those rows back to the list's own index (None: the same).
Rows = tuple[slice | np.ndarray, list[int] | None]


def aligner_for(lists: Sequence[Sequence[Occasion]], presorted: bool = False) -> tuple[Aligner, list[Rows]]:
    """One ``Aligner`` for several lists of occasions, and where each list's occasions are in it.

    Each list's occasions are put in sort order (a list already in it, like ``occurrences()``, is
    kept as it is). ``presorted`` skips the check for callers that know.
    """
    occasions: list[Occasion] = []
    rows: list[Rows] = []
    for items in lists:
        back = None
        if not presorted:
            keys = [occasion.sort_key() for occasion in items]
            if any(keys[k] > keys[k + 1] for k in range(len(keys) - 1)):
                back = sorted(range(len(items)), key=keys.__getitem__)
        rows.append((slice(len(occasions), len(occasions) + len(items)), back))
        occasions.extend(items if back is None else [items[i] for i in back])
    return Aligner(occasions), rows


#: Cost of leaving one occasion and the single reference occasion both unmatched.
BOTH_UNMATCHED = 2 * UNMATCHED_COST
#: Costs closer than this are a tie, which the solver's own order decides.
CLEAR = 1e-9


def could_pair(costs: np.ndarray) -> np.ndarray:
    """Where an occasion could be paired with a single reference occasion: where ``single_match`` of a
    list holding it could return anything but -1 (its cost is not above twice the unmatched cost)."""
    return costs < BOTH_UNMATCHED + CLEAR


def single_match(costs: list[float]) -> int | None:
    """``align`` against a single reference occasion, where it is certain without the solver.

    ``costs`` are the occasions' pair costs with it, in sort order. Pairing occasion ``a`` costs
    ``costs[a]`` plus the others left unmatched; pairing none costs one more unmatched occasion: so
    the cheapest is paired when it is below twice the unmatched cost. Returns its position, -1 for
    no pair, or None when a tie (or a near one) leaves the choice to the solver's order.
    """
    lowest = min(costs)
    if abs(lowest - BOTH_UNMATCHED) < CLEAR:
        return None
    if lowest > BOTH_UNMATCHED:
        return -1
    best = costs.index(lowest)
    if any(value - lowest < CLEAR for k, value in enumerate(costs) if k != best):
        return None
    return best


class Columns:
    """Reference occasions on an ``Aligner``: their cost columns, and their ``sort_key`` order.

    Occasions can be appended (the consensus adds representatives as it goes); the order is kept as
    a stable sort would give it, so it is the order ``align`` would use.
    """

    def __init__(self, aligner: Aligner, occasions: Sequence[Occasion] = ()) -> None:
        self.aligner = aligner
        self.occasions: list[Occasion] = []
        self._keys: list[tuple[tuple, int]] = []
        self._order: np.ndarray | None = None
        #: ``order`` as a list (set with it).
        self.order_list: list[int] = []
        self._matrix = np.empty((len(aligner.occasions), max(4, len(occasions))))
        for occasion in occasions:
            self.append(occasion)

    def append(self, occasion: Occasion) -> None:
        index = len(self.occasions)
        bisect.insort(self._keys, (occasion.sort_key(), index))
        self.occasions.append(occasion)
        if index == self._matrix.shape[1]:
            grown = np.empty((self._matrix.shape[0], 2 * index))
            grown[:, :index] = self._matrix
            self._matrix = grown
        self._matrix[:, index] = self.aligner.column(occasion)
        self._order = None

    @property
    def order(self) -> np.ndarray:
        """Indices of the occasions in sort order."""
        if self._order is None:
            self.order_list = [index for _key, index in self._keys]
            self._order = np.array(self.order_list, dtype=np.intp)
        return self._order

    @property
    def columns(self) -> np.ndarray:
        """Costs of every aligner occasion (rows) against the reference occasions (columns, as
        appended), with room for more columns at the end: index it with ``order``."""
        return self._matrix

    @property
    def matrix(self) -> np.ndarray:
        """Costs of every aligner occasion (rows) against every reference occasion (columns, as appended)."""
        return self._matrix[:, : len(self.occasions)]
