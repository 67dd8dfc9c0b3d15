"""Everything the site shows, read and compared once per build.

The figures come from the variation engine exactly as ``harmonise compare`` computes them
(``group_by_topic`` and ``compare_topics``, the register checked as of the build's day); this
module only gathers them per topic together with what the clinician's pages need besides: every
version of each guideline, its narrative, and a consensus proposal where nothing is agreed.
"""

from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from .. import conventions, terminology
from ..fhirformat import JsonDict
from ..loader import LoadedResource, load
from ..monitoring.activity import ActivityValue, MeasureInfo, parse_csv, read_measures
from ..monitoring.signals import MonitoredSeries, Monitoring, monitor
from ..pathway import Pathway, PathwayKind
from ..problems import Problem, Severity
from ..register import read_register
from ..variation.compare import TrustPathway
from ..variation.network import TopicContent, compare_topics, group_by_topic
from ..variation.proposal import propose
from ..variation.report import TopicReport
from .settings import SiteSettings


@dataclass(frozen=True)
class GuidelineVersion:
    """One version of a network guideline, with the narrative written beside its file."""

    resource: LoadedResource
    narrative: str | None
    #: Where it came from, as the site names it (``SiteSettings.display``), with the Bundle entry if any.
    location: str

    @property
    def pathway(self) -> Pathway:
        return self.resource.pathway

    @property
    def data(self) -> JsonDict:
        return self.resource.data

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
    #: and the activity folder.
    monitoring: Monitoring

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


def _narrative(resource: LoadedResource) -> str | None:
    """The Markdown beside a guideline file (``<topic>.md`` beside ``<topic>.json``)."""
    if resource.entry is not None:
        return None
    path = Path(resource.file).with_suffix(".md")
    return path.read_text("utf-8") if path.is_file() else None


def _versions(resources: list[LoadedResource], current: Pathway,
              settings: SiteSettings) -> tuple[GuidelineVersion, ...]:
    same = [r for r in resources if r.pathway.url == current.url]
    same.sort(key=lambda r: r.pathway.recency, reverse=True)
    return tuple(GuidelineVersion(r, _narrative(r), _location(r, settings)) for r in same)


def _location(resource: LoadedResource, settings: SiteSettings) -> str:
    name = settings.display(resource.file)
    return name if resource.entry is None else f"{name} (Bundle.entry[{resource.entry}])"


def _topic_site(content: TopicContent, report: TopicReport | None, guidelines: list[LoadedResource],
                settings: SiteSettings) -> TopicSite:
    shown = content.guideline or content.draft_guideline
    versions = _versions(guidelines, shown, settings) if shown else ()
    page_guideline = next((v for v in versions if v.pathway.canonical == shown.canonical), None) if shown else None
    proposal = None
    if content.guideline is None and content.trusts:
        proposal = propose(content.topic, content.trusts, settings.as_of)
    return TopicSite(
        topic=content.topic, title=terminology.topics().display(content.topic),
        network=terminology.topic_network(content.topic) or "", report=report,
        guideline=page_guideline, versions=versions, proposal=proposal,
    )


def read_site_content(settings: SiteSettings) -> SiteContent:
    """Load, compare and gather everything the site shows."""
    result = load([settings.pathways, settings.guidelines])
    register, register_problems = read_register(settings.guidelines)
    problems = [p for p in result.problems if p.severity is Severity.ERROR] + register_problems
    topics = group_by_topic([TrustPathway(r.pathway, settings.display(r.file)) for r in result.resources])
    report = compare_topics(topics, register, settings.as_of)
    reports = {r.topic: r for r in report.topics}
    guidelines = [r for r in result.resources if r.pathway.kind is PathwayKind.NETWORK_GUIDELINE]
    # A topic outside the pathway-topic code system has no network to be listed under (and
    # `harmonise validate` warns about it), so it is not published.
    sites = {
        name: _topic_site(content, reports.get(name), guidelines, settings)
        for name, content in topics.items()
        if terminology.topic_network(name)
    }
    activity, activity_problems = _activity(settings)
    monitoring = monitor([(r.pathway, r.data) for r in result.resources], activity.values,
                         activity.measures, register, settings.as_of)
    return SiteContent(settings=settings, topics=sites, problems=problems + activity_problems, monitoring=monitoring)


@dataclass(frozen=True)
class _Activity:
    values: list[ActivityValue]
    measures: dict[str, MeasureInfo]


def _activity(settings: SiteSettings) -> tuple[_Activity, list[Problem]]:
    """Every CSV in the activity folder, read as ``harmonise import-activity`` reads one."""
    folder = settings.activity_folder
    measures = read_measures(folder / "measures") if (folder / "measures").is_dir() else {}
    values: list[ActivityValue] = []
    problems: list[Problem] = []
    for path in sorted(folder.glob("*.csv")) if folder.is_dir() else []:
        found, found_problems = parse_csv(path.read_text("utf-8-sig"), measures, settings.display(str(path)))
        values.extend(found)
        problems.extend(found_problems)
    return _Activity(values, measures), problems
