"""The clinician's page for one network guideline.

Title, status and dates, the narrative written beside the guideline, the steps in plain words,
a to-scale timeline, which trusts adopted it and how each conforms (from the variation report),
what changed since the previous version, and the FHIR resource to download.
"""

from dataclasses import dataclass

from ...variation.reference import guideline_steps
from ...variation.report import Classification, TopicReport, TrustSummary
from .. import charts, paths, words
from ..changes import describe_changes
from ..content import GuidelineVersion, TopicSite
from . import render


@dataclass(frozen=True)
class Fact:
    label: str
    value: str
    source: str


@dataclass(frozen=True)
class StepRow:
    what: str
    when: str
    days: str
    who: str
    how: str
    for_whom: str
    needed: str
    source: str


@dataclass(frozen=True)
class TrustRow:
    trust: str
    pathway: str
    adopted: str
    conformance: str
    css: str


@dataclass(frozen=True)
class Download:
    version: str
    status: str
    approved: str
    json: str
    xml: str


def download_paths(topic: str, version: GuidelineVersion) -> tuple[str, str]:
    """Site paths of a guideline version's JSON and XML files."""
    name = f"{topic}-guideline"
    return (paths.download(name, version.pathway.version, "json"), paths.download(name, version.pathway.version, "xml"))


def _facts(version: GuidelineVersion) -> list[Fact]:
    data, pathway = version.data, version.pathway
    draft = pathway.status == "draft"
    return [
        Fact("Status", words.status(pathway.status), "PlanDefinition.status"),
        Fact("Version", pathway.version or "Not recorded", "PlanDefinition.version"),
        Fact("Hosted network", f"{words.network(pathway.network)} network", "PlanDefinition.useContext (program)"),
        Fact("Publisher", pathway.publisher or "Not recorded", "PlanDefinition.publisher"),
        Fact("Host trust", words.trust(pathway.trust), "PlanDefinition.extension (owning-organization)"),
        Fact("Approved", "Not approved: this is a draft" if draft and not data.get("approvalDate")
             else words.long_date(data.get("approvalDate")), "PlanDefinition.approvalDate"),
        Fact("Last reviewed", words.long_date(data.get("lastReviewDate")), "PlanDefinition.lastReviewDate"),
        Fact("Next review due", words.long_date(version.next_review) + (
            " (the end of the period in which this version is in use)" if version.next_review else ""),
             "PlanDefinition.effectivePeriod.end"),
        Fact("In use from", words.long_date(version.in_use_from), "PlanDefinition.effectivePeriod.start"),
    ]


def _steps(version: GuidelineVersion) -> list[StepRow]:
    pathway = version.pathway
    event = words.index_event(pathway.index_event)
    rows = []
    for step, reference in zip(pathway.steps, guideline_steps(pathway), strict=True):
        window = reference.window
        rows.append(StepRow(
            what=step.title or words.step_kind(step.kind),
            when=f"{words.step_when(step)} after {event}" if step.timing.occurrences else words.step_when(step),
            days=words.days_range(*window) if window else "",
            who=words.roles(step.roles), how=words.mode(step.mode),
            for_whom=next((c.description or c.expression or "" for c in step.conditions),
                          "Every patient on this pathway"),
            needed=words.required(step.required_behavior),
            source=step.timing.sources[0] if step.timing.sources else step.path,
        ))
    return rows


def _adopted(summary: TrustSummary, version: GuidelineVersion) -> str:
    adopted = summary.adopted_guideline
    if adopted is None:
        return "Not recorded in the trust's pathway"
    if adopted == version.pathway.canonical:
        return "Yes, this version"
    url, _, other = adopted.partition("|")
    if url == version.pathway.url:
        return f"Version {other} of this guideline"
    return f"Another guideline: {adopted}"


def _conformance(report: TopicReport, summary: TrustSummary) -> tuple[str, str]:
    """How one trust's pathway compares with the agreed guideline, in words, and its CSS class."""
    warranted = sum(d.trust == summary.ods and d.classification is Classification.WARRANTED for d in report.differences)
    if summary.unwarranted:
        text = f"Differs without an agreed reason: {words.count(summary.unwarranted, 'unwarranted difference')}"
        if warranted:
            text += f"; {warranted} more with an agreed reason"
        return text, words.style(Classification.UNWARRANTED).css
    if warranted:
        return (f"Follows the guideline, except {words.count(warranted, 'difference')} the network has agreed",
                words.style(Classification.WARRANTED).css)
    return "Follows the guideline (any differences are within its tolerances)", words.style(None).css


def _judged(topic: TopicSite, version: GuidelineVersion) -> bool:
    """True when the variation report measured the trusts against this very guideline."""
    return topic.report is not None and topic.report.guideline == version.pathway.canonical


def _trusts(topic: TopicSite, version: GuidelineVersion) -> list[TrustRow]:
    report = topic.report
    if report is None:
        return []
    judged = _judged(topic, version)
    rows = []
    for summary in report.trusts:
        if judged:
            conformance, css = _conformance(report, summary)
        else:
            conformance, css = "Not measured: this guideline is not agreed", ""
        rows.append(TrustRow(words.trust(summary.ods), summary.pathway.rpartition("|")[2] or summary.pathway,
                             _adopted(summary, version), conformance, css))
    return rows


def _narrative(version: GuidelineVersion) -> str | None:
    """The narrative without its own first-level title (the page has one)."""
    if version.narrative is None:
        return None
    lines = version.narrative.splitlines()
    if lines and lines[0].startswith("# "):
        lines = lines[1:]
    return "\n".join(lines).strip() + "\n"


def _download_rows(topic: TopicSite, page: str) -> list[Download]:
    rows = []
    for version in topic.versions:
        json_path, xml_path = download_paths(topic.topic, version)
        rows.append(Download(version.pathway.version or "", words.status(version.pathway.status),
                             words.long_date(version.data.get("approvalDate")),
                             paths.href(page, json_path), paths.href(page, xml_path)))
    return rows


def guideline_page(topic: TopicSite) -> str:
    """The Markdown of the guideline page for ``topic`` (which must have a guideline)."""
    version = topic.guideline
    assert version is not None, topic.topic
    page = paths.guideline_page(topic.topic)
    previous = topic.previous
    return render(
        "guideline.md", topic=topic, version=version, pathway=version.pathway, facts=_facts(version),
        narrative=_narrative(version), steps=_steps(version),
        timeline=charts.guideline_timeline(version.pathway, "timeline"),
        trusts=_trusts(topic, version), judged=_judged(topic, version), previous=previous,
        changes=describe_changes(previous.pathway, version.pathway) if previous else [],
        previous_approved=words.long_date(previous.data.get("approvalDate")) if previous else "",
        downloads=_download_rows(topic, page),
        variation_link=paths.link(page, paths.variation_page(topic.topic)) if topic.report else None,
        reading_link=paths.link(page, paths.READING_GUIDE),
        event=words.index_event(version.pathway.index_event),
    )
