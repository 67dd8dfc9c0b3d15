"""Stage 1, align: which of a trust's step occurrences stand for which reference step.

Every trust's occurrences of a topic sit on one ``Aligner`` (``TopicOccasions``), so each cost is
computed once for all trusts. A trust is aligned to the reference (``align_trust``) by optimal
assignment; occurrences of a trust step that is already matched but left over (a fourth clinic
where the guideline has one) stay with that step, as a count difference; a trust step with
nothing matched is an extra step. Extra steps that several trusts have are grouped into rows of
their own (``group_extras``).
"""

import bisect
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from .alignment import BOTH_UNMATCHED, CLEAR, Aligner, Columns, Rows, aligner_for, could_pair, single_match
from .reference import ReferenceStep, TrustOccurrence, consensus_steps


@dataclass(frozen=True)
class TopicOccasions:
    """Every trust's occurrences of one topic, and where their occasions are on the topic's ``Aligner``."""

    occurrences: Mapping[str, list[TrustOccurrence]]
    aligner: Aligner
    rows: Mapping[str, Rows]

    @classmethod
    def of(cls, occurrences: Mapping[str, list[TrustOccurrence]]) -> "TopicOccasions":
        """``occurrences`` by trust, each list in ``occurrences()`` order (sorted by occasion)."""
        aligner, rows = aligner_for([[o.occasion for o in occs] for occs in occurrences.values()], presorted=True)
        return cls(occurrences, aligner, dict(zip(occurrences, rows)))


@dataclass(frozen=True)
class ReferenceColumns:
    """A reference's steps as columns of one ``Aligner``: every occasion of every step, in order."""

    #: (reference step, which of its occasions) for each column.
    flat: list[tuple[ReferenceStep, int]]
    columns: Columns

    @classmethod
    def of(cls, aligner: Aligner, reference: Sequence[ReferenceStep]) -> "ReferenceColumns":
        flat = [(step, k) for step in reference for k in range(len(step.occasions))]
        return cls(flat, Columns(aligner, [step.occasions[k] for step, k in flat]))


@dataclass
class Alignment:
    """One trust against the reference: which occurrences went where."""

    #: Reference step key -> (trust occurrence, which reference occasion it is paired with, or -1
    #: for a left-over occurrence kept with its step).
    matched: dict[str, list[tuple[TrustOccurrence, int]]] = field(default_factory=lambda: defaultdict(list))
    extra: list[TrustOccurrence] = field(default_factory=list)
    #: Where each of ``extra`` is in the occurrences aligned.
    extra_positions: list[int] = field(default_factory=list)

    def extra_only(self) -> "Alignment":
        """The same alignment reduced to its extra steps: all that ``group_extras`` reads, kept for
        every trust until the matrix is made (the rest need not outlive the trust's turn)."""
        return Alignment(extra=self.extra, extra_positions=self.extra_positions)


def align_trust(
    occs: Sequence[TrustOccurrence], aligner: Aligner, rows: Rows, reference: ReferenceColumns
) -> Alignment:
    """Align one trust's occurrences (at ``rows`` of ``aligner``) with the reference steps."""
    pairs = aligner.align(rows, reference.columns)
    result = Alignment()
    matched = {}
    for i, j in pairs:
        step, k = reference.flat[j]
        result.matched[step.key].append((occs[i], k))
        matched[i] = step.key
    # Occurrences of a step that is already matched stay with it (a count difference), with the
    # reference step holding the occurrence nearest in days (the first such step on a tie).
    by_step: dict[str, list[str]] = defaultdict(list)
    for i, key in matched.items():
        by_step[occs[i].step.path].append(key)
    days: dict[str, list[int]] = {}  # reference steps' matched days, sorted, from the first choice between them
    for i, occ in enumerate(occs):
        if i in matched:
            continue
        keys = by_step.get(occ.step.path)
        if not keys:
            result.extra.append(occ)
            result.extra_positions.append(i)
            continue
        day = occ.occasion.day or 0
        nearest, distance = keys[0], None
        for key in keys if len(keys) > 1 else ():  # one step: no choice to make
            held = days.get(key)
            if held is None:
                held = days[key] = sorted(o.occasion.day or 0 for o, _ in result.matched[key])
            here = _distance(held, day)
            if distance is None or here < distance:
                nearest, distance = key, here
        result.matched[nearest].append((occ, -1))
        if nearest in days:
            bisect.insort(days[nearest], day)
    return result


def _distance(ordered: list[int], day: int) -> int:
    """The least ``abs(d - day)`` over the sorted days ``ordered`` (never empty)."""
    position = bisect.bisect_left(ordered, day)
    if position == len(ordered):
        return day - ordered[-1]
    if position == 0:
        return ordered[0] - day
    return min(ordered[position] - day, day - ordered[position - 1])


#: An extra-step row: the step that stands for it, and each trust's occurrences in it.
ExtraRow = tuple[ReferenceStep, dict[str, list[TrustOccurrence]]]


def group_extras(topic: TopicOccasions, alignments: Mapping[str, Alignment]) -> list[ExtraRow]:
    """The extra steps of all trusts, grouped like the consensus groups steps (any share of trusts).

    A trust's part in a group is what ``align_trust(its extras, [the group's step])`` matches; against
    one occasion that is the cheapest occurrence when it is cheap enough (``single_match``, without
    the solver), and the other occurrences of its step stay with it.
    """
    with_extras = {ods: a.extra for ods, a in alignments.items() if a.extra}
    rows: dict[str, Rows] = {}
    for ods in with_extras:
        where = topic.rows[ods][0]
        assert isinstance(where, slice)  # TopicOccasions gives each trust a range of rows
        rows[ods] = (np.asarray(alignments[ods].extra_positions, dtype=np.intp) + where.start, None)
    steps = consensus_steps(with_extras, min_share=0, key_prefix="extra-", aligner=topic.aligner, rows=rows)
    # Every trust's extra occurrences, as rows of the aligner and as a range of one array.
    names = list(with_extras)
    extra_index = np.concatenate([rows[ods][0] for ods in names]) if names else np.empty(0, np.intp)
    bounds = np.cumsum([0] + [len(with_extras[ods]) for ods in names]).tolist()
    owner = np.repeat(np.arange(len(names)), np.diff(bounds)) if names else np.empty(0, np.intp)
    grouped: list[ExtraRow] = []
    for step in steps:
        members: dict[str, list[TrustOccurrence]] = {}
        on_step = ReferenceColumns.of(topic.aligner, [step])
        costs = on_step.columns.matrix[extra_index, 0]
        # Only a trust with an occurrence that could pair takes part; for the others nothing pairs. (A set, not
        # np.unique: its first plain call imports numpy.ma, about 10 ms of every compare command.)
        for t in sorted(set(owner[could_pair(costs)].tolist())):
            ods = names[t]
            matched = members_of(step, with_extras[ods], costs[bounds[t]:bounds[t + 1]].tolist(),
                                 topic.aligner, rows[ods], on_step)
            if matched:
                members[ods] = matched
        grouped.append((step, members))
    return grouped


def members_of(
    step: ReferenceStep, extra: Sequence[TrustOccurrence], costs: list[float], aligner: Aligner, rows: Rows,
    on_step: ReferenceColumns,
) -> list[TrustOccurrence]:
    """A trust's part in the group of one extra step: what ``align_trust(extra, [step])`` matches.

    ``costs`` are the pair costs of ``extra`` (its rows of ``aligner``) with the step's one occasion.
    The solver pairs the cheapest occurrence when it is cheap enough (``single_match``), and the other
    occurrences of its trust step stay with it. On a tie between occurrences of one trust step, any
    of them gives the same part (that step's occurrences, in another order), so only a tie between
    different steps, or between pairing and not, is left to the solver's own order.
    """
    single = single_match(costs)
    if single is None:
        single = _tied_within_one_step(extra, costs)
    if single is None:
        return [o for o, _ in align_trust(extra, aligner, rows, on_step).matched.get(step.key, [])]
    if single < 0:
        return []
    path = extra[single].step.path
    return [extra[single]] + [o for i, o in enumerate(extra) if i != single and o.step.path == path]


def _tied_within_one_step(extra: Sequence[TrustOccurrence], costs: list[float]) -> int | None:
    """The first of the cheapest occurrences, when they are all of one trust step and pairing is clear."""
    lowest = min(costs)
    if lowest > BOTH_UNMATCHED - CLEAR:  # pairing or not is itself the tie
        return None
    tied = [i for i, value in enumerate(costs) if value - lowest < CLEAR]
    return tied[0] if len({extra[i].step.path for i in tied}) == 1 else None
