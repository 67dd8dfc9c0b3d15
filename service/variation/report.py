"""The variation report: the single description of what ``harmonise compare`` says.

These models are the JSON contract (BRIEF, "Report contract"); ``docs/schemas/compare-report.schema.json``
is generated from them. Every figure carries the element path(s) it came from and the pathway's
``url|version``, so a network lead can check it in the source.
"""

from datetime import date
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

from .dimension import Dimension


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Classification(StrEnum):
    WITHIN_TOLERANCE = "within-tolerance"
    WARRANTED = "warranted"
    UNWARRANTED = "unwarranted"


class ComparedAgainst(StrEnum):
    GUIDELINE = "guideline"
    NETWORK_MEDIAN = "network-median"


class RegisterNote(_Model):
    """The register entry that was applied to a difference."""

    rationale: str
    agreed_by: str
    agreed_on: date
    review_by: date
    expired: bool


class Difference(_Model):
    trust: str
    #: The guideline (or consensus) step's key; null for a step only this trust has.
    step: str | None
    dimension: Dimension
    classification: Classification
    detail: str
    #: Element path in the trust's pathway (the step, or its timing element).
    source: str
    #: The trust pathway, ``url|version``.
    pathway: str
    #: Element path in the guideline it was compared with, when there is one.
    reference_source: str | None = None
    justification: RegisterNote | None = None
    #: True when a register entry covered this but its review date has passed.
    expired: bool = False


class Score(_Model):
    """Distance of a pathway from a reference: the sum of its parts (docs/comparison.md)."""

    total: float
    presence: float
    count: float
    timing: float
    mode: float
    participant: float
    condition: float


class TimingSpread(_Model):
    """How the trusts' first occurrences of a step are spread: windows count by their edges."""

    min: int = Field(description="The earliest day any trust's first occurrence may be (a window's first day).")
    median: float = Field(description="The median of the trusts' nominal days (a window counts by its middle).")
    max: int = Field(description="The latest day any trust's first occurrence may be (a window's last day).")
    spread: int = Field(description="max - min, in days.")


class Cell(_Model):
    """One trust's part in one aligned step."""

    days: list[int] = Field(
        description="The nominal day of each occurrence, in order (a window's middle, which only orders "
        "occurrences: the days the trust wrote are in windows and when)."
    )
    modes: list[str]
    roles: list[str]
    sources: list[str]
    #: The most serious classification among this cell's differences; null when none.
    classification: Classification | None = None
    windows: list[tuple[int, int]] | None = Field(
        default=None,
        description="When any occurrence is a window: the first and last day of each occurrence, as the "
        "source gives them (equal for a single day), in the order of days; null when every occurrence is a "
        "single day (then days are the days written).",
    )
    when: str = Field(default="", description='The timing in words, as written: "day 42", "days 0-14".')
    not_comparable: str | None = Field(
        default=None,
        description="Why the timing cannot be compared without a patient (a CQL expression, a dynamicValue, "
        "an age or a date), when it cannot; the timing is then neither a match nor a difference.",
    )


class AlignedStep(_Model):
    key: str
    title: str
    kind: str | None
    mode: str | None
    roles: list[str]
    #: ``must``, ``could``, ``must-unless-documented``; null for steps outside the reference.
    required: str | None
    #: The reference's allowed window in days, when it has one.
    window: tuple[float, float] | None
    #: True for a step of the guideline (or the network consensus); False for extra steps.
    in_reference: bool
    reference_source: str | None
    cells: dict[str, Cell]
    timing: TimingSpread | None
    #: Why the reference step's own timing is not statically comparable, when it is not.
    not_comparable: str | None = None


class TrustSummary(_Model):
    ods: str
    name: str
    pathway: str
    file: str | None
    adopted_guideline: str | None
    contacts: int
    contacts_by_mode: dict[str, int]
    #: Element paths of the steps counted in ``contacts``.
    contacts_sources: list[str]
    length_days: int | None = Field(
        description="The last day any step may be due: the end of a window, else the day."
    )
    length_source: str | None
    missing_steps: list[str]
    extra_steps: list[str]
    not_comparable: list[str]
    distance_from_guideline: Score | None
    distance_from_network: Score
    unwarranted: int


class TopicReport(_Model):
    topic: str
    title: str
    network: str | None
    index_event: str | None
    #: The agreed guideline compared with, ``url|version``; null when none is agreed.
    guideline: str | None
    guideline_title: str | None = None
    #: A draft guideline under discussion: shown, but not used to classify.
    draft_guideline: str | None = None
    compared_against: ComparedAgainst
    steps: list[AlignedStep]
    trusts: list[TrustSummary]
    differences: list[Difference]


class VariationReport(_Model):
    #: The date register review dates were checked against.
    as_of: date
    topics: list[TopicReport] = Field(default_factory=list)
