"""Stage 5, summarise: each trust's figures, and the cells and rows of the step matrix.

Every figure names the elements it came from. A timing is shown as the source gives it (a
window's first and last day); a timing that is not statically comparable is said to be so, with
the reason, and is never shown as a day.
"""

import statistics
from collections import defaultdict
from collections.abc import Mapping, Sequence
from datetime import date
from operator import attrgetter

from ..conventions import SCHEDULED_CONTACT_MODES, TRUSTS
from ..pathway import Pathway
from . import word
from .align import Alignment, ExtraRow
from .classify import Judged, most_serious, worse
from .reference import ReferenceStep, TrustOccurrence, whole_days
from .report import AlignedStep, Cell, Classification, Difference, RegisterNote, Score, TimingSpread, TrustSummary


def contacts(pathway: Pathway) -> tuple[int, dict[str, int], list[str]]:
    """Scheduled contacts (each repeat counted), occurrences by mode, and the elements counted."""
    by_mode: dict[str, int] = {}
    sources = []
    for step in pathway.steps:
        if step.mode is None or step.mode == "none":
            continue
        by_mode[step.mode] = by_mode.get(step.mode, 0) + max(1, len(step.timing.occurrences))
        if step.mode in SCHEDULED_CONTACT_MODES:
            sources.append(step.timing.sources[0] if step.timing.sources else step.path)
    scheduled = sum(n for mode, n in by_mode.items() if mode in SCHEDULED_CONTACT_MODES)
    return scheduled, dict(sorted(by_mode.items())), sources


def length(pathway: Pathway) -> tuple[int | None, str | None]:
    """The last day any step may be due (a window's end, not its middle), and the element it comes from."""
    last: tuple[int, str] | None = None
    for step in pathway.steps:
        if not step.timing.occurrences:
            continue
        day = whole_days(0, max(o.latest for o in step.timing.occurrences))[1]
        if last is None or day > last[0]:
            last = (day, step.timing.sources[0] if step.timing.sources else step.path)
    return last if last else (None, None)


def trust_summary(
    pathway: Pathway,
    file: str | None,
    reference: Sequence[ReferenceStep],
    alignment: Alignment,
    judged: Sequence[Judged],
    distance_from_guideline: Score | None,
    distance_from_network: Score,
) -> TrustSummary:
    """One trust's row of the report: its figures, what it lacks and adds, and its distances."""
    ods = pathway.trust or ""
    scheduled, by_mode, contact_sources = contacts(pathway)
    last_day, last_source = length(pathway)
    return TrustSummary(
        ods=ods,
        name=TRUSTS.get(ods, pathway.publisher or ods),
        pathway=pathway.canonical or "",
        file=file,
        adopted_guideline=pathway.guideline,
        contacts=scheduled,
        contacts_by_mode=by_mode,
        contacts_sources=contact_sources,
        length_days=last_day,
        length_source=last_source,
        missing_steps=[s.key for s in reference if not alignment.matched.get(s.key)],
        extra_steps=sorted({o.step.path for o in alignment.extra}),
        not_comparable=[s.path for s in pathway.steps if not s.timing.comparable],
        distance_from_guideline=distance_from_guideline,
        distance_from_network=distance_from_network,
        unwarranted=sum(j.classification is Classification.UNWARRANTED for j in judged),
    )


def _not_comparable(occs: Sequence[TrustOccurrence], step: ReferenceStep) -> str | None:
    """Why this cell's timing cannot be compared: the trust's step's reason, or the reference's."""
    for occ in occs:
        timing = occ.step.timing
        if timing.not_comparable:
            return f"{timing.not_comparable} ({timing.sources[0] if timing.sources else occ.step.path})"
    if step.not_comparable:
        return f"the reference's timing: {step.not_comparable} ({step.source})"
    return None


#: A topic's matrix cells by their content, so that each distinct cell is made once (``cell``).
Cells = dict[tuple, Cell]

#: Occasions in the order of their days (a window by its middle, then its edges).
_BY_DAYS = attrgetter("day", "earliest", "latest")


def cell(occs: Sequence[TrustOccurrence], classification: Classification | None, step: ReferenceStep,
         made: Cells | None = None) -> Cell:
    """One trust's part in one row of the matrix.

    Many trusts' cells are alike (the same days, modes, roles, elements and words): with ``made``,
    the topic's cells so far, an alike cell is the one already made (a frozen model, so it can be
    shared), which keeps the report small.
    """
    dated = [o.occasion for o in occs if o.occasion.day is not None]
    if len(dated) > 1:
        dated.sort(key=_BY_DAYS)
    not_comparable = _not_comparable(occs, step) if len(dated) < len(occs) or step.not_comparable else None
    days = tuple([o.day for o in dated if o.day is not None])
    windows = tuple([(int(o.earliest), int(o.latest)) for o in dated]) \
        if any(o.earliest != o.latest for o in dated) else None
    steps = {o.step.path: o.step for o in occs}  # the trust's steps, each once (their occurrences share them)
    modes = tuple(sorted({s.mode or "none" for s in steps.values()}))
    roles = tuple(sorted({r for s in steps.values() for r in s.roles}))
    sources = tuple(sorted(steps))
    key = (days, windows, modes, roles, sources, classification, not_comparable)
    found = made.get(key) if made is not None else None
    if found is None:
        found = Cell(
            days=list(days),
            modes=list(modes),
            roles=list(roles),
            sources=list(sources),
            classification=classification,
            windows=list(windows) if windows is not None else None,
            when=word.cell_when(dated, not_comparable),
            not_comparable=not_comparable,
        )
        if made is not None:
            made[key] = found
    return found


def _spread(cells: dict[str, Cell]) -> TimingSpread | None:
    """The spread of the trusts' first occurrences, windows by their edges."""
    first = [(c.days[0], c.windows[0] if c.windows else (c.days[0], c.days[0])) for c in cells.values() if c.days]
    if not first:
        return None
    low = min(w[0] for _, w in first)
    high = max(w[1] for _, w in first)
    return TimingSpread(min=low, median=float(statistics.median(d for d, _ in first)), max=high, spread=high - low)


def step_row(step: ReferenceStep, in_reference: bool, cells: dict[str, Cell]) -> AlignedStep:
    """One row of the matrix: a reference step (or an extra step some trusts have) and its cells."""
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
        timing=_spread(cells),
        not_comparable=step.not_comparable,
    )


def trust_cells(
    reference: Sequence[ReferenceStep], alignment: Alignment, judged: Sequence[Judged], made: Cells | None = None
) -> dict[str, Cell]:
    """One trust's cells in the reference steps' rows, by step key: the steps it has.

    A cell's classification is the most serious of the trust's differences about that step.
    """
    worst: dict[str | None, Classification] = {}
    for item in judged:
        worst[item.finding.key] = worse(worst.get(item.finding.key), item.classification)
    cells = {}
    for step in reference:
        matched = alignment.matched.get(step.key)
        if matched:
            cells[step.key] = cell([o for o, _ in matched], worst.get(step.key), step, made)
    return cells


def extra_classifications(judged: Sequence[Judged]) -> dict[str, list[Classification]]:
    """The classifications of a trust's extra-step differences, by the trust step's element path."""
    by_source: dict[str, list[Classification]] = defaultdict(list)
    for item in judged:
        if item.finding.step is None:
            by_source[item.finding.source].append(item.classification)
    return by_source


def matrix(
    reference: Sequence[ReferenceStep],
    cells: Mapping[str, dict[str, Cell]],
    extras: Sequence[ExtraRow],
    extra_classes: Mapping[str, dict[str, list[Classification]]],
    made: Cells | None = None,
) -> list[AlignedStep]:
    """The step matrix: a row per reference step (``cells`` by trust, from ``trust_cells``), then a
    row per group of extra steps, each cell classified by the trust's differences about its steps."""
    rows = [step_row(step, True, {ods: by_step[step.key] for ods, by_step in cells.items() if step.key in by_step})
            for step in reference]
    for step, members in extras:
        extra_cells = {}
        for ods, occs in members.items():
            about = {o.step.path for o in occs}
            found = extra_classes[ods]
            extra_cells[ods] = cell(occs, most_serious(c for path in about for c in found.get(path, ())), step, made)
        rows.append(step_row(step, False, extra_cells))
    return rows


def difference(judged: Judged, pathway: Pathway, against: str, today: date) -> Difference:
    """A classified finding as the report lists it, in words, with the register entry applied."""
    finding, entry = judged.finding, judged.entry
    return Difference(
        trust=pathway.trust or "",
        step=finding.key,
        dimension=finding.dimension,
        classification=judged.classification,
        detail=word.detail(finding, against),
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
