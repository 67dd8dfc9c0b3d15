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

import math
from collections.abc import Sequence
from dataclasses import dataclass

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


@dataclass(frozen=True, slots=True)
class Point:
    """One occurrence of a step, as the alignment sees it."""

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
    order_r = sorted(range(len(reference)), key=lambda j: reference[j].sort_key())
    n, m = len(order_p), len(order_r)
    size = n + m
    cost = np.full((size, size), _FORBIDDEN)
    for a, i in enumerate(order_p):
        for b, j in enumerate(order_r):
            cost[a, b] = pair_cost(points[i], reference[j])
        cost[a, m + a] = UNMATCHED_COST  # point left unmatched
    for b in range(m):
        cost[n + b, b] = UNMATCHED_COST  # reference point left unmatched
    cost[n:, m:] = 0.0
    rows, cols = linear_sum_assignment(cost)
    pairs = [(order_p[a], order_r[b]) for a, b in zip(rows, cols) if a < n and b < m and cost[a, b] < _FORBIDDEN]
    return sorted(pairs)
