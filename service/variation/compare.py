"""Compare the trusts' pathways for one topic with the guideline and with each other.

Pure functions: pathways, the guideline, the register and the date in; a ``TopicReport`` out.
The method is written up in docs/comparison.md; the short version:

1. Each trust's step occurrences are aligned to the reference steps (the agreed guideline, or
   the network consensus when no guideline is agreed) by optimal assignment (``alignment``).
2. Occurrences of a trust step beyond the reference's count are kept with that step (a count
   difference), not reported as new steps; steps with nothing matched are extra steps.
3. Each difference (presence, count, timing, mode, participant, condition) is classified:
   within the guideline's tolerance, warranted by a current register entry, or unwarranted.
"""

import bisect
import statistics
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import NamedTuple

import numpy as np

from .. import terminology
from ..conventions import SCHEDULED_CONTACT_MODES, TRUSTS
from ..pathway import Pathway
from ..register import Dimension, RegisterEntry
from .alignment import MAX_TIMING_COST, Aligner, Reference, Span, could_pair, single_match, stack, timing_cost
from .reference import Occurrence, ReferenceStep, consensus_steps, guideline_steps, occurrences
from .report import (
    AlignedStep,
    Cell,
    Classification,
    ComparedAgainst,
    Difference,
    RegisterNote,
    Score,
    TimingSpread,
    TopicReport,
    TrustSummary,
)

#: Weights of the parts of a distance score (docs/comparison.md).
SCORE_WEIGHTS = {"presence": 1.0, "count": 1.0, "timing": 1.0, "mode": 0.5, "participant": 0.25, "condition": 0.25}
_SEVERITY = {Classification.WITHIN_TOLERANCE: 0, Classification.WARRANTED: 1, Classification.UNWARRANTED: 2}
_REQUIRED = ("must", "must-unless-documented")


@dataclass(frozen=True)
class TrustPathway:
    """A trust's pathway as compared: the normalised model and the file it came from."""

    pathway: Pathway
    file: str | None = None

    @property
    def trust(self) -> str:
        """The trust's ODS code: every trust pathway names one (the loader's rules see to it)."""
        if self.pathway.trust is None:
            raise ValueError(f"{self.file or 'a pathway'} names no trust; only trust pathways are compared")
        return self.pathway.trust


class Finding(NamedTuple):
    """A difference before classification."""

    step: str | None
    dimension: Dimension
    detail: str
    source: str
    reference_source: str | None
    within_tolerance: bool = False


@dataclass
class Alignment:
    """One trust against the reference: which occurrences went where."""

    matched: dict[str, list[tuple[Occurrence, int]]] = field(default_factory=lambda: defaultdict(list))
    extra: list[Occurrence] = field(default_factory=list)
    #: Where each of ``extra`` is in the occurrences aligned.
    extra_positions: list[int] = field(default_factory=list)


@dataclass(frozen=True)
class Prepared:
    """Reference steps made ready for one ``Aligner``: every occurrence of every step, in order."""

    flat: list[tuple[ReferenceStep, int]]
    reference: Reference

    @classmethod
    def of(cls, aligner: Aligner, reference: Sequence[ReferenceStep]) -> "Prepared":
        flat = [(step, k) for step in reference for k in range(len(step.points))]
        return cls(flat, Reference(aligner, [step.points[k] for step, k in flat]))


def align_to_reference(
    occs: Sequence[Occurrence],
    reference: Sequence[ReferenceStep],
    *,
    aligner: Aligner | None = None,
    rows: Span | None = None,
    prepared: Prepared | None = None,
) -> Alignment:
    """Align a trust's occurrences with the reference steps (by default on an ``Aligner`` of their own)."""
    if aligner is None or rows is None or prepared is None:
        aligner, (rows,) = stack([[o.point for o in occs]])
        prepared = Prepared.of(aligner, reference)
    flat = prepared.flat
    pairs = aligner.align(rows[0], prepared.reference, rows[1])
    result = Alignment()
    matched = {}
    for i, j in pairs:
        step, k = flat[j]
        result.matched[step.key].append((occs[i], k))
        matched[i] = step.key
    # Occurrences of a step that is already matched stay with it (a count difference), with the
    # reference step holding the occurrence nearest in days (the first such step on a tie).
    by_step: dict[str, list[str]] = defaultdict(list)
    for i, key in matched.items():
        by_step[occs[i].step.path].append(key)
    days: dict[str, list[int]] = {}  # each reference step's matched days, sorted, as they grow
    for i, occ in enumerate(occs):
        if i in matched:
            continue
        keys = by_step.get(occ.step.path)
        if keys:
            day = occ.point.day or 0
            nearest, distance = keys[0], None
            for key in keys:
                held = days.get(key)
                if held is None:
                    held = days[key] = sorted(o.point.day or 0 for o, _ in result.matched[key])
                here = _distance(held, day)
                if distance is None or here < distance:
                    nearest, distance = key, here
            result.matched[nearest].append((occ, -1))
            bisect.insort(days[nearest], day)
        else:
            result.extra.append(occ)
            result.extra_positions.append(i)
    return result


def _distance(ordered: list[int], day: int) -> int:
    """The least ``abs(d - day)`` over the sorted days ``ordered`` (never empty)."""
    position = bisect.bisect_left(ordered, day)
    if position == len(ordered):
        return day - ordered[-1]
    if position == 0:
        return ordered[0] - day
    return min(ordered[position] - day, day - ordered[position - 1])


def _days_text(days: Sequence[int | None]) -> str:
    known = sorted(d for d in days if d is not None)
    if not known:
        return "at a time that cannot be compared"
    return "at day " + ", ".join(str(d) for d in known) if len(known) > 1 else f"at day {known[0]}"


def _window_text(step: ReferenceStep) -> str:
    window = step.window
    if window is None:
        return f"day {step.points[0].day}" if step.points[0].day is not None else "no fixed time"
    return f"window days {window[0]:g}-{window[1]:g}"


def _findings(step: ReferenceStep, matched: list[tuple[Occurrence, int]], against: str) -> list[Finding]:
    """What differs between one reference step and the trust occurrences matched to it."""
    if not matched:
        optional = step.required not in _REQUIRED
        words = "optional" if optional else "required"
        return [
            Finding(
                step.key,
                Dimension.PRESENCE,
                f"No step matches the {against}'s '{step.title}' ({words}, {_window_text(step)})",
                "PlanDefinition.action",
                step.source,
                within_tolerance=optional,
            )
        ]
    findings: list[Finding] = []
    first = matched[0][0]
    trust_steps = sorted({o.step.path for o, _ in matched})
    source = trust_steps[0]
    if len(matched) != len(step.points):
        findings.append(
            Finding(
                step.key,
                Dimension.COUNT,
                f"{len(matched)} occurrences of '{step.title}' {_days_text([o.point.day for o, _ in matched])}; "
                f"the {against} has {len(step.points)}",
                source,
                step.source,
            )
        )
    outside, inside_off = [], []
    for occ, k in matched:
        if k < 0 or occ.point.day is None or step.points[k].day is None:
            continue
        ref = step.points[k]
        if timing_cost(occ.point, ref) > 0:
            outside.append((occ, ref))
        elif occ.point.day != ref.day:
            inside_off.append((occ, ref))
    timing_source = first.step.timing.sources[0] if first.step.timing.sources else source
    if outside:
        findings.append(
            Finding(
                step.key,
                Dimension.TIMING,
                f"'{first.step.title or step.title}' {_days_text([o.point.day for o, _ in outside])}; "
                f"{against} {_window_text(step)}",
                timing_source,
                step.source,
            )
        )
    elif inside_off:
        findings.append(
            Finding(
                step.key,
                Dimension.TIMING,
                f"'{first.step.title or step.title}' {_days_text([o.point.day for o, _ in inside_off])}; "
                f"inside the {against} {_window_text(step)}",
                timing_source,
                step.source,
                within_tolerance=True,
            )
        )
    modes = sorted({o.step.mode or "none" for o, _ in matched})
    if modes != [step.mode or "none"]:
        findings.append(
            Finding(
                step.key,
                Dimension.MODE,
                f"'{first.step.title or step.title}' is {' / '.join(modes)}; the {against} says {step.mode}",
                f"{source}.code",
                step.source,
            )
        )
    roles = sorted({r for o, _ in matched for r in o.step.roles})
    if roles and step.roles and not set(roles) & step.roles:
        findings.append(
            Finding(
                step.key,
                Dimension.PARTICIPANT,
                f"'{first.step.title or step.title}' by {', '.join(roles)}; "
                f"the {against} says {', '.join(sorted(step.roles))}",
                f"{source}.participant",
                step.source,
            )
        )
    conditional = any(o.step.conditions for o, _ in matched)
    if step.conditions and not conditional:
        findings.append(
            Finding(
                step.key,
                Dimension.CONDITION,
                f"'{first.step.title or step.title}' is for every patient; the {against} only when: "
                f"{step.conditions[0].description or step.conditions[0].expression}",
                source,
                step.source,
            )
        )
    elif conditional and not step.conditions:
        cond = next(o.step.conditions[0] for o, _ in matched if o.step.conditions)
        findings.append(
            Finding(
                step.key,
                Dimension.CONDITION,
                f"'{first.step.title or step.title}' only when: {cond.description or cond.expression}; "
                f"the {against} has it for every patient",
                f"{source}.condition",
                step.source,
            )
        )
    return findings


def _extra_findings(extra: list[Occurrence]) -> list[Finding]:
    by_step: dict[str, list[Occurrence]] = defaultdict(list)
    for occ in extra:
        by_step[occ.step.path].append(occ)
    return [
        Finding(
            None,
            Dimension.PRESENCE,
            f"Extra step not in the reference: '{occs[0].step.title or occs[0].step.kind}' "
            f"({occs[0].step.mode}) {_days_text([o.point.day for o in occs])}",
            path,
            None,
        )
        for path, occs in sorted(by_step.items())
    ]


def classify(
    finding: Finding, trust: str, topic: str, register: Sequence[RegisterEntry], today: date
) -> tuple[Classification, RegisterEntry | None]:
    """Within tolerance first; then a register entry for this step (or the whole pathway)."""
    if finding.within_tolerance:
        return Classification.WITHIN_TOLERANCE, None
    covering = [e for e in register if e.covers(trust, topic, finding.step, finding.dimension)]
    covering.sort(key=lambda e: (e.step == "", e.expired(today), -e.review_by.toordinal()))
    if not covering:
        return Classification.UNWARRANTED, None
    entry = covering[0]
    return (Classification.UNWARRANTED if entry.expired(today) else Classification.WARRANTED), entry


def score(findings: Sequence[Finding], alignment: Alignment, reference: Sequence[ReferenceStep]) -> Score:
    """Distance from a reference: differences counted, timing by how far outside the window."""
    parts = dict.fromkeys(SCORE_WEIGHTS, 0.0)
    steps = {s.key: s for s in reference}
    for finding in findings:
        if finding.within_tolerance:
            continue
        if finding.dimension is Dimension.PRESENCE:
            parts["presence"] += 1
        elif finding.dimension is Dimension.COUNT:
            assert finding.step is not None  # a count is always of a reference step
            step = steps[finding.step]
            parts["count"] += abs(len(alignment.matched[finding.step]) - len(step.points)) / len(step.points)
        elif finding.dimension is not Dimension.TIMING:
            parts[finding.dimension.value] += 1
    return _with_timing(parts, alignment, steps)


def _with_timing(parts: dict[str, float], alignment: Alignment, steps: dict[str, ReferenceStep]) -> Score:
    """The score from its counted parts, with timing added: how far outside each window."""
    for key, matched in alignment.matched.items():
        for occ, k in matched:
            if k >= 0 and occ.point.day is not None and steps[key].points[k].day is not None:
                parts["timing"] += min(timing_cost(occ.point, steps[key].points[k]), MAX_TIMING_COST)
    rounded = {k: round(v, 3) for k, v in parts.items()}
    total = round(sum(SCORE_WEIGHTS[k] * v for k, v in rounded.items()), 3)
    return Score(total=total, **rounded)


def alignment_score(alignment: Alignment, reference: Sequence[ReferenceStep]) -> Score:
    """``score`` of the findings ``_findings`` and ``_extra_findings`` make for this alignment.

    The same parts, added in the same order, without writing the findings' words: for the
    distance from the network consensus, which no report lists difference by difference.
    """
    parts = dict.fromkeys(SCORE_WEIGHTS, 0.0)
    steps = {s.key: s for s in reference}
    for step in reference:
        matched = alignment.matched.get(step.key, [])
        if not matched:
            if step.required in _REQUIRED:  # a missing optional step is within tolerance
                parts["presence"] += 1
            continue
        if len(matched) != len(step.points):
            counted = steps[step.key]
            parts["count"] += abs(len(alignment.matched[step.key]) - len(counted.points)) / len(counted.points)
        if {o.step.mode or "none" for o, _ in matched} != {step.mode or "none"}:
            parts["mode"] += 1
        roles = {r for o, _ in matched for r in o.step.roles}
        if roles and step.roles and not roles & step.roles:
            parts["participant"] += 1
        conditional = any(o.step.conditions for o, _ in matched)
        if (step.conditions and not conditional) or (conditional and not step.conditions):
            parts["condition"] += 1
    parts["presence"] += len({occ.step.path for occ in alignment.extra})
    return _with_timing(parts, alignment, steps)


def _contacts(pathway: Pathway) -> tuple[int, dict[str, int], list[str]]:
    by_mode: dict[str, int] = defaultdict(int)
    sources = []
    for step in pathway.steps:
        if step.mode is None or step.mode == "none":
            continue
        by_mode[step.mode] += max(1, len(step.timing.occurrences))
        if step.mode in SCHEDULED_CONTACT_MODES:
            sources.append(step.timing.sources[0] if step.timing.sources else step.path)
    contacts = sum(n for mode, n in by_mode.items() if mode in SCHEDULED_CONTACT_MODES)
    return contacts, dict(sorted(by_mode.items())), sources


def _length(pathway: Pathway) -> tuple[int | None, str | None]:
    """The last day any step is due, and the element it comes from."""
    last: tuple[int, str] | None = None
    for step in pathway.steps:
        day = step.timing.last_day
        if day is not None and (last is None or day > last[0]):
            last = (day, step.timing.sources[0] if step.timing.sources else step.path)
    return last if last else (None, None)


def _spread(days: list[int]) -> TimingSpread | None:
    if not days:
        return None
    return TimingSpread(
        min=min(days), median=float(statistics.median(days)), max=max(days), spread=max(days) - min(days)
    )


def _row(step: ReferenceStep, in_reference: bool, cells: dict[str, Cell]) -> AlignedStep:
    first_days = [c.days[0] for c in cells.values() if c.days]
    return AlignedStep(
        key=step.key,
        title=step.title,
        kind=step.kind,
        mode=step.mode,
        roles=sorted(step.roles),
        required=step.required if in_reference else None,
        window=step.window,
        in_reference=in_reference,
        reference_source=step.source,
        cells=cells,
        timing=_spread(first_days),
    )


def _cell(occs: list[Occurrence], classification: Classification | None) -> Cell:
    return Cell(
        days=sorted(o.point.day for o in occs if o.point.day is not None),
        modes=sorted({o.step.mode or "none" for o in occs}),
        roles=sorted({r for o in occs for r in o.step.roles}),
        sources=sorted({o.step.path for o in occs}),
        classification=classification,
    )


def compare_topic(
    topic: str,
    trusts: Sequence[TrustPathway],
    guideline: Pathway | None,
    register: Sequence[RegisterEntry],
    today: date,
    draft_guideline: Pathway | None = None,
) -> TopicReport:
    """The variation report for one topic.

    ``guideline`` is the agreed (active) guideline, or None: then each trust is compared with the
    network consensus, and the report says so. A draft guideline is named but not used to
    classify: it has not been agreed, and calling a difference from it unwarranted would mislead.
    """
    trusts = sorted(trusts, key=lambda t: t.trust)
    occs = {t.trust: occurrences(t.pathway) for t in trusts}
    # One aligner for every occurrence of the topic: each cost is computed once for all trusts.
    aligner, spans = stack([[o.point for o in trust_occs] for trust_occs in occs.values()], presorted=True)
    rows = dict(zip(occs, spans))
    network = consensus_steps(occs, min_share=0.5, aligner=aligner, rows=rows)
    reference = guideline_steps(guideline) if guideline else network
    against = "guideline" if guideline else "network consensus"
    prepared = Prepared.of(aligner, reference)
    prepared_network = Prepared.of(aligner, network) if guideline else prepared

    # The register entries that can cover this topic, by trust, in the register's order.
    entries: dict[str, list[RegisterEntry]] = defaultdict(list)
    for item in register:
        if item.topic == topic:
            entries[item.trust].append(item)

    differences: list[Difference] = []
    summaries: list[TrustSummary] = []
    cells: dict[str, dict[str, Cell]] = defaultdict(dict)
    extras: dict[str, list[Occurrence]] = {}
    extra_rows: dict[str, tuple[np.ndarray, None]] = {}
    #: Unwarranted differences so far, and the classifications of extra-step differences, by trust.
    unwarranted: Counter[str] = Counter()
    extra_classes: dict[str, dict[str, list[Classification]]] = defaultdict(lambda: defaultdict(list))
    for trust in trusts:
        pathway, ods = trust.pathway, trust.trust
        aligned = align_to_reference(occs[ods], reference, aligner=aligner, rows=rows[ods], prepared=prepared)
        findings = [f for step in reference for f in _findings(step, aligned.matched.get(step.key, []), against)]
        findings += _extra_findings(aligned.extra)
        worst: dict[str | None, Classification] = {}
        for finding in findings:
            classification, entry = classify(finding, ods, topic, entries.get(ods, ()), today)
            differences.append(
                Difference(
                    trust=ods,
                    step=finding.step,
                    dimension=finding.dimension,
                    classification=classification,
                    detail=finding.detail,
                    source=finding.source,
                    pathway=pathway.canonical or "",
                    reference_source=finding.reference_source,
                    justification=RegisterNote(
                        rationale=entry.rationale,
                        agreed_by=entry.agreed_by,
                        agreed_on=entry.agreed_on,
                        review_by=entry.review_by,
                        expired=entry.expired(today),
                    )
                    if entry
                    else None,
                    expired=bool(entry and entry.expired(today)),
                )
            )
            if classification is Classification.UNWARRANTED:
                unwarranted[ods] += 1
            if finding.step is None:
                extra_classes[ods][finding.source].append(classification)
            previous = worst.get(finding.step)
            if finding.step is not None and (previous is None or _SEVERITY[classification] >= _SEVERITY[previous]):
                worst[finding.step] = classification
        for step in reference:
            matched = [o for o, _ in aligned.matched.get(step.key, [])]
            if matched:
                cells[step.key][ods] = _cell(matched, worst.get(step.key))
        extras[ods] = aligned.extra
        span = rows[ods][0]
        assert isinstance(span, slice)  # stack() gives each trust a range of rows
        extra_rows[ods] = (np.asarray(aligned.extra_positions, dtype=np.intp) + span.start, None)

        if guideline:
            network_alignment = align_to_reference(
                occs[ods], network, aligner=aligner, rows=rows[ods], prepared=prepared_network
            )
            distance_from_network = alignment_score(network_alignment, network)
        else:
            # The reference is the network consensus: the same alignment and the same findings
            # (worded for the consensus, which the score does not read), so the same score.
            distance_from_network = score(findings, aligned, reference)
        contacts, by_mode, contact_sources = _contacts(pathway)
        length, length_source = _length(pathway)
        summaries.append(
            TrustSummary(
                ods=ods,
                name=TRUSTS.get(ods, pathway.publisher or ods),
                pathway=pathway.canonical or "",
                file=trust.file,
                adopted_guideline=pathway.guideline,
                contacts=contacts,
                contacts_by_mode=by_mode,
                contacts_sources=contact_sources,
                length_days=length,
                length_source=length_source,
                missing_steps=[s.key for s in reference if not aligned.matched.get(s.key)],
                extra_steps=sorted({o.step.path for o in aligned.extra}),
                not_comparable=[s.path for s in pathway.steps if not s.timing.comparable],
                distance_from_guideline=score(findings, aligned, reference) if guideline else None,
                distance_from_network=distance_from_network,
                unwarranted=unwarranted[ods],
            )
        )

    rows_ = [_row(step, True, cells.get(step.key, {})) for step in reference]
    with_extras = {ods: e for ods, e in extras.items() if e}
    extra_steps = consensus_steps(
        with_extras, min_share=0, key_prefix="extra-", aligner=aligner,
        rows={ods: extra_rows[ods] for ods in with_extras},
    )
    # Every trust's extra occurrences, as rows of the aligner and as a span of one array.
    names = list(with_extras)
    extra_index = np.concatenate([extra_rows[ods][0] for ods in names]) if names else np.empty(0, np.intp)
    bounds = np.cumsum([0] + [len(with_extras[ods]) for ods in names]).tolist()
    owner = np.repeat(np.arange(len(names)), np.diff(bounds)) if names else np.empty(0, np.intp)
    for step in extra_steps:
        step_cells = {}
        prepared_step = Prepared.of(aligner, [step])
        costs = prepared_step.reference.matrix[extra_index, 0]
        # Only a trust with an occurrence that could pair gets a cell (a trust without extra
        # steps has none here); for the others align_to_reference(extra, [step]) pairs nothing.
        for t in np.unique(owner[could_pair(costs)]).tolist():
            ods, extra = names[t], with_extras[names[t]]
            # align_to_reference(extra, [step]): against one point, the cheapest occurrence (if
            # cheap enough) pairs, and the other occurrences of its step stay with it.
            single = single_match(costs[bounds[t]:bounds[t + 1]].tolist())
            if single is None:  # a tie: the solver's own order decides
                aligned = align_to_reference(
                    extra, [step], aligner=aligner, rows=extra_rows[ods], prepared=prepared_step
                )
                matched = [o for o, _ in aligned.matched.get(step.key, [])]
            elif single < 0:
                matched = []
            else:
                path = extra[single].step.path
                matched = [extra[single]] + [o for i, o in enumerate(extra) if i != single and o.step.path == path]
            if matched:
                step_cells[ods] = _cell(matched, _extra_classification(extra_classes[ods], matched))
        rows_.append(_row(step, False, step_cells))
    return TopicReport(
        topic=topic,
        title=terminology.topics().display(topic),
        network=terminology.topic_network(topic),
        index_event=terminology.topic_index_event(topic),
        guideline=guideline.canonical if guideline else None,
        guideline_title=guideline.title if guideline else (draft_guideline.title if draft_guideline else None),
        draft_guideline=draft_guideline.canonical if draft_guideline and not guideline else None,
        compared_against=ComparedAgainst.GUIDELINE if guideline else ComparedAgainst.NETWORK_MEDIAN,
        steps=rows_,
        trusts=summaries,
        differences=differences,
    )


def _extra_classification(
    by_source: dict[str, list[Classification]], matched: list[Occurrence]
) -> Classification | None:
    """The most serious classification of the trust's extra-step differences about these steps."""
    paths = {o.step.path for o in matched}
    found = [c for path in paths for c in by_source.get(path, ())]
    return max(found, key=_SEVERITY.__getitem__) if found else None
