"""The two charts: a guideline's timeline drawn to scale, and each trust's timing against the windows.

Both are inline SVG with a ``<title>`` and a ``<desc>``; the same figures are always in a table on
the same page, which the description names, so nothing is only in the picture.

Private to ``service.site``: only its own modules import this one.
"""

from ..pathway import Pathway, Step
from ..units import describe
from ..variation.report import AlignedStep, TopicReport
from . import svg, words
from .matrix import MatrixCell, row

WIDTH = 760.0
MARGIN = 16.0
BAR = "#005eb8"
BAND = "#dbe7f3"


def _step_label(step: Step) -> str:
    notes = []
    if step.required_behavior == "could":
        notes.append("optional")
    elif step.required_behavior == "must-unless-documented":
        notes.append("unless a reason not to is recorded")
    if step.conditions:
        notes.append("only some patients")
    title = step.title or words.step_kind(step.kind)
    return f"{title} ({'; '.join(notes)})" if notes else title


def _bar(axis: svg.TimeAxis, low: float, high: float, y: float, optional: bool) -> str:
    x0, x1 = axis.x(low), axis.x(high)
    if x1 - x0 < 6:
        x0, x1 = (x0 + x1) / 2 - 3, (x0 + x1) / 2 + 3
    if optional:
        return (f'<rect x="{svg.num(x0)}" y="{svg.num(y)}" width="{svg.num(x1 - x0)}" height="14" fill="#ffffff" '
                f'stroke="{BAR}" stroke-width="2" stroke-dasharray="5 3"/>')
    return f'<rect x="{svg.num(x0)}" y="{svg.num(y)}" width="{svg.num(x1 - x0)}" height="14" fill="{BAR}"/>'


def guideline_timeline(guideline: Pathway, chart_id: str) -> str | None:
    """Each step's window as a bar on one to-scale axis of days after the index event.

    Solid bars are steps for every patient; dashed outlines are optional steps, and the label
    says so in words. None when no step has a computable time.
    """
    rows = [(s, s.timing.occurrences) for s in guideline.steps if s.timing.occurrences]
    if not rows:
        return None
    end = max(o.latest for _, occs in rows for o in occs)
    axis = svg.TimeAxis(0, end or 1, MARGIN + 8, WIDTH - MARGIN - 8)
    body: list[str] = []
    y = 12.0
    for step, occurrences in rows:
        lines = svg.wrap(f"{_step_label(step)}: {words.step_when(step)}", WIDTH - 2 * MARGIN)
        for line in lines:
            y += 18
            body.append(svg.text(MARGIN, y, line))
        y += 8
        for occ in occurrences:
            body.append(_bar(axis, occ.earliest, occ.latest, y, step.required_behavior == "could"))
        y += 26
    body.extend(axis.draw(12, y, guideline.index_event))
    height = y + 48
    description = (
        f"The {len(rows)} steps of the guideline drawn to scale, from {words.index_event(guideline.index_event)} "
        f"to {describe(end)} after it. Each bar spans the window in which the step should happen; "
        "solid bars are for every patient, dashed outlines are optional steps. "
        "The same information is in the table of steps on this page.")
    return svg.figure(chart_id, WIDTH, height, f"Timeline of {guideline.title or 'the guideline'}", description, body)


#: The timing chart: trust codes on the left, the panel's axis, then a column of notes in words.
CHART_WIDTH = 900.0
NOTES_LEFT = 590.0


def _panel_axis(step: AlignedStep, days: list[float]) -> svg.TimeAxis:
    values = list(days) + (list(step.window) if step.window else [])
    low, high = min(values), max(values)
    pad = max(1.0, (high - low) * 0.08)
    return svg.TimeAxis(max(0.0, low - pad), high + pad, MARGIN + 64, NOTES_LEFT - 24)


def _note(cell: MatrixCell) -> str:
    """The row's days and the classification of their timing, in words."""
    if not cell.present:
        return f"{cell.days_text}: {cell.label}" if cell.label else cell.days_text
    if cell.not_comparable:  # neither a match nor a difference in timing
        return f"{cell.days_text}; {cell.label}" if cell.label else cell.days_text
    note = f"{cell.days_text}: {words.style(cell.timing).label}"
    return note + "; register entry expired" if cell.expired else note


def _trust_row(axis: svg.TimeAxis, cell: MatrixCell, centre: float) -> list[str]:
    """One trust in a step's panel: its code, a marker per day or a bar per window, and a note in words.

    A window is drawn as a bar from its first to its last day, with the classification's shape at
    each end: never as a dot at its middle, a day the trust did not write.
    """
    parts = [svg.text(MARGIN, centre + 5, cell.ods, weight="bold")]
    look = words.style(cell.timing)
    for low, high in () if cell.not_comparable else cell.windows:
        if low == high:
            parts.append(svg.marker(look.shape, axis.x(low), centre, look.colour))
        else:
            parts.append(svg.bar(axis.x(low), axis.x(high), centre, look.colour))
            parts += [svg.marker(look.shape, axis.x(end), centre, look.colour, size=0.7) for end in (low, high)]
    lines = svg.wrap(_note(cell), CHART_WIDTH - NOTES_LEFT - MARGIN)
    if len(lines) == 1:
        return parts + [svg.text(NOTES_LEFT, centre + 5, lines[0], size=12, italic=not cell.present)]
    return parts + [svg.text(NOTES_LEFT, centre - 1 + 12 * i, line, size=11, italic=not cell.present)
                    for i, line in enumerate(lines[:2])]


def timing_chart(report: TopicReport, chart_id: str) -> str | None:
    """Per step of the reference, a panel with its window as a band and one row per trust.

    Each panel has its own scale in days, so that a 2-day window and a 3-year one are both
    readable; every marker carries its day as text and a shape for its classification.
    """
    steps = [s for s in report.steps if s.in_reference and (s.window or any(c.days for c in s.cells.values()))]
    if not steps:
        return None
    reference = words.reference(report)
    body: list[str] = []
    y = 6.0
    for step in steps:
        cells = row(report, step)
        axis = _panel_axis(step, [d for c in cells for window in c.windows for d in window])
        window = f"{reference} window {words.days_range(*step.window)}" if step.window else f"no {reference} window"
        for line in svg.wrap(f"{step.title} ({window})", CHART_WIDTH - 2 * MARGIN):
            y += 18
            body.append(svg.text(MARGIN, y, line, weight="bold"))
        top = y + 8
        bottom = top + 24 * len(cells)
        if step.window:
            x0, x1 = axis.x(step.window[0]), axis.x(step.window[1])
            body.append(f'<rect x="{svg.num(x0)}" y="{svg.num(top)}" width="{svg.num(max(x1 - x0, 3))}" '
                        f'height="{svg.num(bottom - top)}" fill="{BAND}" stroke="{BAR}" stroke-dasharray="4 3"/>')
        body.extend(axis.draw(top, bottom, report.index_event))
        for index, cell in enumerate(cells):
            body.extend(_trust_row(axis, cell, top + 12 + 24 * index))
        y = bottom + 52
    description = (
        f"For each of the {len(steps)} steps, the shaded band is the {reference}'s window and each row is a trust; "
        "each marker is a day on which that trust does the step, and a bar with a marker at each end is a window "
        "of days the trust allows; the note at the end of the row gives the days as the trust wrote them and the "
        "classification of their timing (other differences are in the table). "
        "Marker shapes give the timing's classification: circle for on the day or within tolerance, square for "
        "warranted, triangle for unwarranted. A timing that cannot be compared without a patient has no marker; "
        "its note says why. "
        "Each step has its own scale in days. The same figures are in the variation table on this page.")
    return svg.figure(chart_id, CHART_WIDTH, y, f"When each trust does each step of {report.title}", description, body)


#: The earlier version's colour in ``versions_timeline`` (NHS mid grey); the later one's is ``BAR``.
EARLIER = "#4c6272"


def _version_row(axis: svg.TimeAxis, step: Step, label: str, centre: float, colour: str, shape: str) -> list[str]:
    """One version of a step: its label, then each occurrence as a bar (a window) or a marker (a day)."""
    parts = [svg.text(MARGIN, centre + 5, label, size=12, weight="bold")]
    for occ in step.timing.occurrences:
        if occ.earliest == occ.latest:
            parts.append(svg.marker(shape, axis.x(occ.earliest), centre, colour))
        else:
            parts.append(svg.bar(axis.x(occ.earliest), axis.x(occ.latest), centre, colour))
            parts += [svg.marker(shape, axis.x(end), centre, colour, size=0.7) for end in (occ.earliest, occ.latest)]
    parts.append(svg.text(NOTES_LEFT, centre + 5, words.step_when(step), size=12))
    return parts


def versions_timeline(earlier: Pathway, later: Pathway, labels: tuple[str, str], chart_id: str) -> str | None:
    """Both versions' steps on one to-scale axis of days, step by step (paired as ``changes.pair_steps`` pairs
    them): a window is a bar with a marker at each end, a day is a marker; circles for ``labels[0]``, squares for
    ``labels[1]``. None when neither has a step with a computable time."""
    from .changes import pair_steps

    pairs, removed, added = pair_steps(earlier, later)
    rows: list[tuple[Step | None, Step | None]] = [(o.step, n.step) for o, n in pairs]
    rows += [(None, n.step) for n in added] + [(o.step, None) for o in removed]
    rows = [(o, n) for o, n in rows if (o and o.timing.occurrences) or (n and n.timing.occurrences)]
    if not rows:
        return None
    end = max(occ.latest for pair in rows for s in pair if s for occ in s.timing.occurrences)
    axis = svg.TimeAxis(0, end or 1, MARGIN + 170, NOTES_LEFT - 24)
    body: list[str] = []
    y = 6.0
    for old, new in rows:
        either = new or old
        assert either is not None
        title = either.title or words.step_kind(either.kind)
        state = " (new step)" if old is None else " (removed)" if new is None else ""
        for line in svg.wrap(f"{title}{state}", CHART_WIDTH - 2 * MARGIN):
            y += 18
            body.append(svg.text(MARGIN, y, line, weight="bold"))
        top = y + 8
        for index, (step, label, colour, shape) in enumerate(((old, labels[0], EARLIER, "circle"),
                                                              (new, labels[1], BAR, "square"))):
            if step is not None:
                body.extend(_version_row(axis, step, label, top + 12 + 24 * index, colour, shape))
        bottom = top + 48
        body.extend(axis.draw(top, bottom, later.index_event))
        y = bottom + 52
    description = (
        f"Each step of {labels[0]} and of {labels[1]} on one scale of days after "
        f"{words.index_event(later.index_event)}: a circle or a bar with circles at its ends is {labels[0]}, a square "
        f"or a bar with squares at its ends is {labels[1]}; a bar is a window of days, a single marker one day. "
        "The timing is also written at the end of each row and in the table of steps on this page.")
    return svg.figure(chart_id, CHART_WIDTH, y, f"The steps of {labels[0]} and {labels[1]} by day", description, body)
