"""Everything the site shows, read and compared once per build.

The figures come from the application layer exactly as ``harmonise compare`` computes them (the
register checked as of the build's day), from the store or from folders (``SiteSettings``); this
module only gathers them per topic together with what the clinician's pages need besides: every
version of each guideline, its narrative, and a consensus proposal where nothing is agreed.
"""

from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from .. import application, conventions, terminology
from ..application import FolderSource, Record, Source, StoreSource
from ..fhirformat import JsonDict
from ..monitoring.signals import MonitoredSeries, Monitoring
from ..pathway import Pathway, PathwayKind
from ..problems import Problem
from ..store import Store
from ..variation.network import TopicContent
from ..variation.proposal import propose
from ..variation.report import TopicReport
from .settings import SiteSettings


@dataclass(frozen=True)
class GuidelineVersion:
    """One version of a network guideline, with the narrative it carries (or its authoring file)."""

    record: Record
    narrative: str | None

    @property
    def pathway(self) -> Pathway:
        return self.record.pathway

    @property
    def data(self) -> JsonDict:
        return self.record.data

    @property
    def location(self) -> str:
        """Where it came from, as the site names it: a file, or the stored version."""
        return self.record.origin

    @property
    def in_use_from(self) -> str | None:
        return (self.data.get("effectivePeriod") or {}).get("start")

    @property
    def next_review(self) -> str | None:
        """The end of the period this version is in use (``effectivePeriod.end``): when it must be reviewed.

        The profile has no element of its own for a review date; this is the one FHIR offers.
        """
        return (self.data.get("effectivePeriod") or {}).get("end")


@dataclass(frozen=True)
class TopicSite:
    """One pathway topic as the site shows it."""

    topic: str
    title: str
    network: str
    #: The variation report; None when no trust has a pathway for the topic.
    report: TopicReport | None
    #: The guideline the clinicians' page is about: the agreed one, else the latest draft.
    guideline: GuidelineVersion | None
    #: Every version of that guideline (same canonical url), newest first.
    versions: tuple[GuidelineVersion, ...]
    #: The engine's consensus proposal (FHIR JSON), when no guideline is agreed.
    proposal: JsonDict | None

    @property
    def agreed(self) -> bool:
        """True when trusts are judged against this topic's guideline (an active one)."""
        return self.report is not None and self.report.guideline is not None

    @property
    def guideline_label(self) -> str:
        """How links name the guideline page: a draft is never called just "Guideline"."""
        return "Draft guideline" if self.guideline and self.guideline.pathway.status == "draft" else "Guideline"

    @property
    def previous(self) -> GuidelineVersion | None:
        """The version before the page's guideline, for "what changed"."""
        if self.guideline is None:
            return None
        current = self.guideline.pathway.recency
        earlier = [v for v in self.versions if v.pathway.recency < current]
        return earlier[0] if earlier else None


@dataclass(frozen=True)
class SiteContent:
    settings: SiteSettings
    topics: dict[str, TopicSite]
    #: Errors in the input: files or register entries that could not be used.
    problems: list[Problem]
    #: Early-warning signals and SPC charts (``service.monitoring``), from every pathway version
    #: and the activity.
    monitoring: Monitoring
    #: What the content was read from, in words.
    source: str = ""

    def charts_for(self, topic: str) -> list[MonitoredSeries]:
        return [series for series in self.monitoring.charts if series.topic == topic]

    def networks(self) -> Iterator[tuple[str, list[TopicSite]]]:
        """Hosted networks in code-system order, each with its topics in code-system order."""
        by_network: dict[str, list[TopicSite]] = defaultdict(list)
        for topic in terminology.topics().concepts:
            if topic in self.topics:
                by_network[self.topics[topic].network].append(self.topics[topic])
        for network in terminology.code_system(conventions.HOSTED_NETWORK_SYSTEM).concepts:
            if by_network.get(network):
                yield network, by_network[network]


def _versions(source: Source, records: list[Record], current: Pathway) -> tuple[GuidelineVersion, ...]:
    same = sorted((r for r in records if r.pathway.url == current.url), key=lambda r: r.pathway.recency, reverse=True)
    return tuple(GuidelineVersion(r, source.narrative(r)) for r in same)


def _topic_site(source: Source, content: TopicContent, report: TopicReport | None, guidelines: list[Record],
                settings: SiteSettings) -> TopicSite:
    shown = content.guideline or content.draft_guideline
    versions = _versions(source, guidelines, shown) if shown else ()
    page_guideline = next((v for v in versions if v.pathway.canonical == shown.canonical), None) if shown else None
    proposal = None
    if content.guideline is None and content.trusts:
        proposal = propose(content.topic, content.trusts, settings.as_of)
    return TopicSite(
        topic=content.topic, title=terminology.topics().display(content.topic),
        network=terminology.topic_network(content.topic) or "", report=report,
        guideline=page_guideline, versions=versions, proposal=proposal,
    )


@contextmanager
def site_source(settings: SiteSettings) -> Iterator[Source]:
    """What the site is built from: the store when the settings name one, else the folders."""
    if settings.database is None:
        yield FolderSource(settings.pathways, settings.guidelines, settings.activity_folder, display=settings.display)
        return
    store = Store.open(settings.database, operator=None)
    try:
        yield StoreSource(store)
    finally:
        store.close()


def site_content(source: Source, settings: SiteSettings) -> SiteContent:
    """Compare and gather everything the site shows from ``source``."""
    comparison = application.compare(source, None, settings.as_of)
    watched = application.watch(source, settings.as_of)
    guidelines = [r for r in watched.records if r.pathway.kind is PathwayKind.NETWORK_GUIDELINE]
    reports = {r.topic: r for r in comparison.report.topics}
    # A topic outside the pathway-topic code system has no network to be listed under (and
    # `harmonise validate` warns about it), so it is not published.
    sites = {
        name: _topic_site(source, content, reports.get(name), guidelines, settings)
        for name, content in comparison.topics.content.items()
        if terminology.topic_network(name)
    }
    problems = comparison.problems + [p for p in watched.problems if p not in comparison.problems]
    return SiteContent(settings=settings, topics=sites, problems=problems, monitoring=watched.monitoring,
                       source=source.description)


def read_site_content(settings: SiteSettings) -> SiteContent:
    """Read, compare and gather everything the site shows."""
    with site_source(settings) as source:
        return site_content(source, settings)
