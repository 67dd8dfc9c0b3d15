"""The variation matrix as the site shows it: one cell per aligned step and trust.

It reads the engine's report and never re-judges it: a cell's classification is the report's
(``Cell.classification``); a missing step takes the classification of the report's presence
difference for that trust and step. The variation table and the timing chart both draw from here,
so they cannot disagree. ``shown_rows`` is the matrix as a page draws it (the site's variation page and
the workspace's topic page), a row per aligned step with each cell's colour.
"""

from dataclasses import dataclass

from ..variation.dimension import Dimension
from ..variation.report import AlignedStep, Classification, Difference, TopicReport
from . import words


@dataclass(frozen=True)
class MatrixCell:
    ods: str
    days: tuple[int, ...]
    #: True when the trust has a step matched to this row.
    present: bool
    #: False for an extra-step row the trust simply does not have (nothing to judge).
    judged: bool
    classification: Classification | None
    #: The classification of the report's timing difference alone (None: on the reference's day).
    timing: Classification | None
    #: A register entry covered a difference here but its review date has passed.
    expired: bool
    #: Element paths in the trust's pathway that this cell shows.
    sources: tuple[str, ...]
    #: (first day, last day) of each occurrence, as written: a window is never shown as its middle.
    windows: tuple[tuple[int, int], ...] = ()
    #: Why the timing cannot be compared (with its element), when it cannot: never shown as a match.
    not_comparable: str | None = None

    @property
    def days_text(self) -> str:
        if not self.present:
            return "not done"
        if self.not_comparable:
            return f"not comparable: {self.not_comparable}"
        return words.occurrences(self.windows)

    @property
    def label(self) -> str:
        """The classification in words, shown beside the colour; empty when there is nothing to judge.

        A cell whose timing is not comparable and has no other difference says nothing more: "matches"
        would claim what cannot be known.
        """
        if not self.judged or (self.not_comparable and self.classification is None):
            return ""
        text = words.style(self.classification).label
        return text + " (register entry expired)" if self.expired else text


def cell_differences(report: TopicReport, ods: str, step: AlignedStep) -> list[Difference]:
    """The report's differences a cell shows (a step only the trust has: those of its elements)."""
    if step.in_reference:
        return [d for d in report.differences if d.trust == ods and d.step == step.key]
    sources = set(step.cells[ods].sources) if ods in step.cells else set()
    return [d for d in report.differences if d.trust == ods and d.step is None and d.source in sources]


def cell(report: TopicReport, step: AlignedStep, ods: str) -> MatrixCell:
    found = step.cells.get(ods)
    differences = cell_differences(report, ods, step)
    expired = any(d.expired for d in differences)
    if found is not None:
        timing = next((d.classification for d in differences if d.dimension is Dimension.TIMING), None)
        windows = tuple(found.windows) if found.windows else tuple((d, d) for d in found.days)
        return MatrixCell(ods, tuple(found.days), True, True, found.classification, timing, expired,
                          tuple(found.sources), windows, found.not_comparable)
    presence = next((d for d in differences if d.dimension is Dimension.PRESENCE), None)
    if presence is None:
        return MatrixCell(ods, (), False, False, None, None, False, ())
    return MatrixCell(ods, (), False, True, presence.classification, presence.classification, expired,
                      (presence.source,))


def row(report: TopicReport, step: AlignedStep) -> list[MatrixCell]:
    """The cells of one aligned step, in the report's trust order."""
    return [cell(report, step, t.ods) for t in report.trusts]


@dataclass(frozen=True)
class ShownCell:
    cell: MatrixCell
    css: str


@dataclass(frozen=True)
class MatrixRow:
    #: The aligned step's key: the guideline action's id for a step of the reference.
    key: str
    title: str
    in_reference: bool
    window: str
    needed: str
    how: str
    cells: list[ShownCell]


def shown_row(report: TopicReport, step: AlignedStep) -> MatrixRow:
    cells = [ShownCell(c, words.style(c.classification).css if c.judged else "hm-none") for c in row(report, step)]
    return MatrixRow(
        key=step.key, title=step.title, in_reference=step.in_reference,
        window=words.days_range(*step.window) if step.window and step.in_reference else "",
        needed=words.required(step.required) if step.in_reference else "Not in the reference",
        how=words.mode_short(step.mode), cells=cells,
    )


def shown_rows(report: TopicReport) -> list[MatrixRow]:
    """The matrix as a page shows it: a row per aligned step, in the report's order."""
    return [shown_row(report, step) for step in report.steps]
