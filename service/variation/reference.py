"""What a trust pathway is compared with: the agreed guideline's steps, or the network consensus.

The consensus is built by progressive alignment (docs/comparison.md): trusts are taken largest
first (then by ODS code), each is aligned to the steps found so far, unmatched occurrences start
new steps, and the whole is done twice so that early choices are revisited once the medians are
known. A step stays in the consensus when at least ``min_share`` of the trusts have it.
"""

import statistics
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction
from functools import lru_cache
from operator import itemgetter
from typing import NamedTuple

from .. import units
from ..pathway import Condition, Occurrence, Pathway, Step
from .alignment import Aligner, Columns, Occasion, Rows, aligner_for, undated

#: Mode order used to break ties, from most to least intensive for the patient.
MODE_ORDER = ("face-to-face", "video", "telephone", "patient-initiated", "none")
#: Without an agreed window, a step is within tolerance within max(7 days, 25% of the median)
#: of the network median, or inside the central half of trusts, whichever is wider.
MIN_TOLERANCE_DAYS = 7
RELATIVE_TOLERANCE = 0.25


class TrustOccurrence(NamedTuple):
    """One occurrence of a trust's step, as it takes part in alignment."""

    step: Step
    #: Which occurrence of the step's timing this is (0 for the first).
    nth: int
    occasion: Occasion


@dataclass(frozen=True, slots=True)
class ReferenceStep:
    key: str
    title: str
    kind: str | None
    mode: str | None
    roles: frozenset[str]
    required: str | None
    conditions: tuple[Condition, ...]
    occasions: tuple[Occasion, ...]
    source: str | None
    #: For consensus steps: the trusts that have it, and why each choice was made.
    support: tuple[str, ...] = ()
    explanation: tuple[str, ...] = ()
    #: Why the step's own timing is not statically comparable, when it is not (docs/profile.md).
    not_comparable: str | None = None

    @property
    def window(self) -> tuple[float, float] | None:
        first = self.occasions[0] if self.occasions else None
        if first is None or first.day is None:
            return None
        return (first.earliest, first.latest)


@lru_cache(maxsize=4096)
def whole_days(earliest: float, latest: float) -> tuple[int, int]:
    """A window's edges in whole days, rounded like every day in a report (halves up)."""
    return units.round_days(Fraction(earliest)), units.round_days(Fraction(latest))


def occasion(step: Step, timing: Occurrence | None) -> Occasion:
    """The occasion of one occurrence of a step (None: its timing is not statically comparable).

    A window is kept as a window, its edges rounded to whole days like the guideline's, so that
    "9 months" in a trust pathway is inside a guideline window that ends at 9 months.
    """
    roles = frozenset(step.roles)
    if timing is None:
        return undated(step.kind, step.mode, roles)
    if timing.earliest == timing.latest:
        return Occasion(step.kind, step.mode, roles, timing.day, timing.day, timing.day)
    return Occasion(step.kind, step.mode, roles, timing.day, *whole_days(timing.earliest, timing.latest))


def occurrences(pathway: Pathway) -> list[TrustOccurrence]:
    """Every occurrence of every step; a step whose timing is unknown counts once, undated.

    The list is in an order given by content alone (day, kind, mode, roles, title), so that the
    order of actions in the file never changes a result, not even which of two alike steps is named.
    """
    # Sorted by _content_order, with the parts every occurrence of a step shares computed once.
    keyed: list[tuple[tuple, TrustOccurrence]] = []
    for step in pathway.steps:
        title = step.title or ""
        conditions = tuple((c.description or "", c.expression or "") for c in step.conditions)
        timings = step.timing.occurrences if step.timing.comparable else (None,)
        for index, timing in enumerate(timings):
            made = occasion(step, timing)
            keyed.append(((made.sort_key(), title, conditions, index), TrustOccurrence(step, index, made)))
    keyed.sort(key=itemgetter(0))
    return [occurrence for _key, occurrence in keyed]


def guideline_steps(guideline: Pathway) -> list[ReferenceStep]:
    """The guideline's steps, each occurrence carrying its allowed window (in whole days, like a trust's)."""
    steps = []
    for step in guideline.steps:
        occasions = tuple(
            Occasion(step.kind, step.mode, frozenset(step.roles), occ.day, *whole_days(occ.earliest, occ.latest))
            for occ in step.timing.occurrences
        ) or (undated(step.kind, step.mode, frozenset(step.roles)),)
        steps.append(
            ReferenceStep(
                key=step.action_id or step.path,
                title=step.title or step.kind or step.path,
                kind=step.kind,
                mode=step.mode,
                roles=frozenset(step.roles),
                required=step.required_behavior,
                conditions=step.conditions,
                occasions=occasions,
                source=step.timing.sources[0] if step.timing.sources else step.path,
                not_comparable=step.timing.not_comparable,
            )
        )
    return steps


def _most_common(values: Sequence[str], order: Sequence[str] = ()) -> str | None:
    if not values:
        return None
    counts = Counter(values)
    rank = {v: i for i, v in enumerate(order)}
    return min(counts, key=lambda v: (-counts[v], rank.get(v, len(rank)), v))


def tolerance_window(days: Sequence[int]) -> tuple[int, float, float]:
    """(median day, window low, window high) for days without an agreed window."""
    ordered = sorted(days)
    median = units.round_days(Fraction(statistics.median(ordered))) if ordered else 0
    if len(ordered) >= 2:
        q1, _, q3 = statistics.quantiles(ordered, n=4, method="inclusive")
    else:
        q1 = q3 = median
    margin = max(MIN_TOLERANCE_DAYS, RELATIVE_TOLERANCE * median)
    low = units.round_days(Fraction(max(0, min(q1, median - margin))))
    high = units.round_days(Fraction(max(q3, median + margin)))
    return median, float(low), float(high)


def _cluster_step(members: list[tuple[str, TrustOccurrence]], n_trusts: int, key: str) -> ReferenceStep:
    kind = members[0][1].occasion.kind
    modes = [m.occasion.mode or "none" for _, m in members]
    roles = [r for _, m in members for r in sorted(m.step.roles)]
    mode = _most_common(modes, MODE_ORDER) or "none"  # never None: every member has a mode or "none"
    role = _most_common(roles)
    trusts = tuple(sorted({ods for ods, _ in members}))
    days = [m.occasion.day for _, m in members if m.occasion.day is not None]
    share = len(trusts) / n_trusts if n_trusts else 0
    titles = [m.step.title for _, m in members if m.step.title]
    title = _most_common(titles) or kind or key
    conditional = sum(bool(m.step.conditions) for _, m in members)
    conditions = (
        next((m.step.conditions for _, m in members if m.step.conditions), ()) if conditional * 2 > len(members) else ()
    )
    explanation = [
        f"present at {len(trusts)} of {n_trusts} trusts ({', '.join(trusts)})",
        f"contact mode {mode}: used by {modes.count(mode)} of {len(modes)}",
    ]
    if role:
        explanation.append(f"role {role}: named by {roles.count(role)} of {len(members)}")
    if days:
        median, low, high = tolerance_window(days)
        explanation.append(
            f"day {median}: the median of {sorted(days)}; window days {low:g}-{high:g} covers the central "
            f"trusts and at least {MIN_TOLERANCE_DAYS} days or {RELATIVE_TOLERANCE:.0%} either side"
        )
        occasions: tuple[Occasion, ...] = (Occasion(kind, mode, frozenset([role] if role else []), median, low, high),)
    else:
        occasions = (undated(kind, mode, frozenset([role] if role else [])),)
    required = "must" if share >= 0.75 else "could"
    explanation.append(f"requiredBehavior {required}: {share:.0%} of trusts have it (must from 75%)")
    return ReferenceStep(
        key=key,
        title=title,
        kind=kind,
        mode=mode,
        roles=frozenset([role] if role else []),
        required=required,
        conditions=conditions,
        occasions=occasions,
        source=None,
        support=trusts,
        explanation=tuple(explanation),
    )


def consensus_steps(
    by_trust: Mapping[str, list[TrustOccurrence]],
    min_share: float = 0.5,
    key_prefix: str = "",
    *,
    aligner: Aligner | None = None,
    rows: Mapping[str, Rows] | None = None,
) -> list[ReferenceStep]:
    """The network's own steps, from the trusts' occurrences (see the module docstring).

    ``aligner`` and ``rows`` (each trust's occasions in it) let a caller share one ``Aligner`` with
    other alignments of the same occasions; by default one is made here.
    """
    if aligner is None or rows is None:
        aligner, found = aligner_for([[o.occasion for o in occs] for occs in by_trust.values()])
        rows = dict(zip(by_trust, found))
    order = sorted(by_trust, key=lambda ods: (-len(by_trust[ods]), ods))
    representatives = Columns(aligner)
    clusters: list[list[tuple[str, TrustOccurrence]]] = []
    for _pass in range(2):
        clusters = [[] for _ in representatives.occasions]
        for ods in order:
            occs = by_trust[ods]
            pairs = aligner.align(rows[ods], representatives)
            matched = {i for i, _ in pairs}
            for i, j in pairs:
                clusters[j].append((ods, occs[i]))
            for i, occ in enumerate(occs):
                if i not in matched:
                    clusters.append([(ods, occ)])
                    representatives.append(occ.occasion)
        clusters = [c for c in clusters if c]
        if _pass == 0:
            representatives = Columns(aligner, [_representative(c) for c in clusters])
    n_trusts = len(by_trust)
    kept = [c for c in clusters if len({ods for ods, _ in c}) > min_share * n_trusts]
    shown = {id(c): _representative(c) for c in kept}
    kept.sort(key=lambda c: shown[id(c)].sort_key())
    steps: list[ReferenceStep] = []
    seen: Counter[str] = Counter()
    for cluster in kept:
        rep = shown[id(cluster)]
        base = f"{key_prefix}{rep.kind or 'step'}-day-{rep.day if rep.day is not None else 'unknown'}"
        seen[base] += 1
        key = base if seen[base] == 1 else f"{base}-{seen[base]}"
        steps.append(_cluster_step(cluster, n_trusts, key))
    return steps


def _representative(cluster: list[tuple[str, TrustOccurrence]]) -> Occasion:
    """The occasion that stands for a cluster while the consensus is built: median day, commonest mode and role."""
    days = [m.occasion.day for _, m in cluster if m.occasion.day is not None]
    modes = [m.occasion.mode or "none" for _, m in cluster]
    roles = [r for _, m in cluster for r in m.occasion.roles]
    day = units.round_days(Fraction(statistics.median(days))) if days else None
    role = _most_common(roles)
    kind, mode, kept = cluster[0][1].occasion.kind, _most_common(modes, MODE_ORDER), frozenset([role] if role else [])
    return undated(kind, mode, kept) if day is None else Occasion(kind, mode, kept, day, day, day)
