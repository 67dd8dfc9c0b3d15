"""The normalised pathway model: what the comparison works on, whatever the source looked like.

A ``Pathway`` is immutable and holds plain values only, each with the FHIR element path it came
from, so that every figure a report shows can be traced back (``Step.path``, ``StepTiming.sources``).
"""

from collections.abc import Iterable, Mapping
from enum import StrEnum
from functools import lru_cache
from typing import Any

from packaging.version import InvalidVersion, Version
from pydantic import BaseModel, ConfigDict

from .conventions import NETWORK_GUIDELINE_PROFILE, SCHEDULED_CONTACT_MODES, TRUST_PATHWAY_PROFILE


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class PathwayKind(StrEnum):
    TRUST_PATHWAY = "trust-pathway"
    NETWORK_GUIDELINE = "network-guideline"
    #: Valid FHIR without a Harmonise profile: stored and served, never compared.
    OTHER = "other"

    @classmethod
    def of(cls, profiles: Iterable[str] | None) -> "PathwayKind":
        """The one way to tell a guideline from a trust pathway: the profile it claims (a guideline's wins).

        >>> PathwayKind.of([NETWORK_GUIDELINE_PROFILE]), PathwayKind.of(None)
        (<PathwayKind.NETWORK_GUIDELINE: 'network-guideline'>, <PathwayKind.OTHER: 'other'>)
        """
        claimed = set(profiles or ())
        if NETWORK_GUIDELINE_PROFILE in claimed:
            return cls.NETWORK_GUIDELINE
        return cls.TRUST_PATHWAY if TRUST_PATHWAY_PROFILE in claimed else cls.OTHER

    @classmethod
    def of_resource(cls, resource: Mapping[str, Any] | None) -> "PathwayKind":
        """``of`` for FHIR JSON: OTHER for anything that is not a PlanDefinition."""
        if not resource or resource.get("resourceType") != "PlanDefinition":
            return cls.OTHER
        meta = resource.get("meta")
        profiles = meta.get("profile") if isinstance(meta, dict) else None
        return cls.of(profiles if isinstance(profiles, list) else None)


class Occurrence(_Frozen):
    """One time a step happens, as days after the index event.

    ``earliest`` and ``latest`` differ when the source gives a window (``timingRange``);
    ``day`` is the nominal day: the middle of the window, rounded to the nearest day.
    """

    earliest: float
    latest: float
    day: int


class StepTiming(_Frozen):
    """When a step happens, or why that cannot be known without a patient."""

    occurrences: tuple[Occurrence, ...] = ()
    #: Set when the timing is not statically comparable (docs/profile.md): the reason in words.
    not_comparable: str | None = None
    #: Element paths the timing was computed from, the step's own first.
    sources: tuple[str, ...] = ()
    #: Parts of the source that were read but do not change the days (e.g. ``countMax``).
    notes: tuple[str, ...] = ()

    @property
    def comparable(self) -> bool:
        return self.not_comparable is None

    @property
    def first_day(self) -> int | None:
        return self.occurrences[0].day if self.occurrences else None

    @property
    def last_day(self) -> int | None:
        return self.occurrences[-1].day if self.occurrences else None


class Condition(_Frozen):
    description: str | None
    expression: str | None
    language: str | None


class Step(_Frozen):
    """One leaf action of the PlanDefinition."""

    #: ``PlanDefinition.action[2]`` (nested: ``PlanDefinition.action[0].action[1]``).
    path: str
    action_id: str | None
    title: str | None
    #: Code from the pathway-step code system, or None when the action has none.
    kind: str | None
    #: Code from the contact-mode code system, or None.
    mode: str | None
    #: Codes from the care-role code system (or the role's text when it is not coded there).
    roles: tuple[str, ...] = ()
    conditions: tuple[Condition, ...] = ()
    #: ``must``, ``could``, ``must-unless-documented`` ... as written (guidelines use it).
    required_behavior: str | None = None
    timing: StepTiming

    @property
    def is_scheduled_contact(self) -> bool:
        """A face-to-face, telephone or video step (BRIEF: scheduled patient contacts)."""
        return self.mode in SCHEDULED_CONTACT_MODES


class Pathway(_Frozen):
    """A trust pathway or network guideline, normalised."""

    kind: PathwayKind
    resource_id: str | None
    url: str | None
    version: str | None
    name: str | None
    title: str | None
    status: str
    date: str | None
    publisher: str | None
    experimental: bool | None
    #: ODS code of the owning organisation.
    trust: str | None
    topic: str | None
    network: str | None
    #: The adopted guideline's canonical, ``url|version``.
    guideline: str | None
    #: Name of the index event (the trigger on the first action).
    index_event: str | None
    steps: tuple[Step, ...]

    @property
    def canonical(self) -> str | None:
        """``url|version``: how reports name a pathway."""
        if self.url is None:
            return None
        return f"{self.url}|{self.version}" if self.version else self.url

    @property
    def is_compared(self) -> bool:
        """Only resources that follow the conventions take part in comparison."""
        return self.kind is not PathwayKind.OTHER and self.topic is not None

    @property
    def recency(self) -> tuple[str, "VersionKey"]:
        """How pathway versions are ordered, everywhere: by ``date``, then by ``version`` (``version_key``).

        The latest active version by this order is the one a trust follows now; the site lists a
        guideline's versions, and the drift signal reads a pathway's history, in this order too.
        """
        return self.date or "", version_key(self.version)


#: A business version as a sortable key: ``(1, Version)`` for a semantic or PEP 440 version, else
#: ``(0, text)`` (any readable version sorts after any unreadable one).
VersionKey = tuple[int, Version | str]


@lru_cache(maxsize=4096)
def version_key(version: str | None) -> VersionKey:
    """The one ordering of business versions: numeric where the text is a version, so 1.10.0 follows 1.9.0.

    >>> sorted(["1.10.0", "1.9.0", "2.0"], key=version_key)
    ['1.9.0', '1.10.0', '2.0']
    >>> version_key("draft-b") > version_key("draft-a"), version_key("1.0") > version_key("zzz")
    (True, True)
    """
    try:
        return 1, Version(version or "0")
    except InvalidVersion:
        return 0, version or ""
