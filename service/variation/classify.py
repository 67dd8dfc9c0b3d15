"""Stage 3, classify: each finding is within tolerance, warranted by the register, or unwarranted.

In this order (docs/comparison.md, "Classification"): within the guideline's tolerance; else
warranted by a current register entry for this trust, topic, step (or the whole pathway) and
dimension; else unwarranted. A covering entry whose ``review_by`` date has passed leaves the
difference unwarranted, and the entry is returned so that the report flags it as expired.
"""

from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import date
from typing import NamedTuple

from ..register import RegisterEntry
from .find import Finding
from .report import Classification

#: How serious each classification is, to show the worst of several in one cell.
SEVERITY = {Classification.WITHIN_TOLERANCE: 0, Classification.WARRANTED: 1, Classification.UNWARRANTED: 2}


class Judged(NamedTuple):
    """A finding with its classification, and the register entry that was applied (if any)."""

    finding: Finding
    classification: Classification
    entry: RegisterEntry | None


def entries_by_trust(register: Sequence[RegisterEntry], topic: str) -> dict[str, list[RegisterEntry]]:
    """The register entries that can cover this topic, by trust, in the register's order."""
    entries: dict[str, list[RegisterEntry]] = defaultdict(list)
    for entry in register:
        if entry.topic == topic:
            entries[entry.trust].append(entry)
    return entries


def classify(finding: Finding, trust: str, topic: str, register: Sequence[RegisterEntry], today: date) -> Judged:
    """Within tolerance first; then a register entry for this step (or the whole pathway)."""
    if finding.within_tolerance:
        return Judged(finding, Classification.WITHIN_TOLERANCE, None)
    covering = [e for e in register if e.covers(trust, topic, finding.key, finding.dimension)]
    covering.sort(key=lambda e: (e.step == "", e.expired(today), -e.review_by.toordinal()))
    if not covering:
        return Judged(finding, Classification.UNWARRANTED, None)
    entry = covering[0]
    return Judged(finding, Classification.UNWARRANTED if entry.expired(today) else Classification.WARRANTED, entry)


def worse(previous: Classification | None, found: Classification) -> Classification:
    """The more serious of two classifications (``found`` of equals)."""
    return found if previous is None or SEVERITY[found] >= SEVERITY[previous] else previous


def most_serious(classifications: Iterable[Classification]) -> Classification | None:
    """The most serious of some classifications; None when there are none."""
    worst: Classification | None = None
    for classification in classifications:
        worst = worse(worst, classification)
    return worst
