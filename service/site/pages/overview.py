"""The overview of every topic: each trust's count of unwarranted differences, network by network.

The counts are the report's own (``TrustSummary.unwarranted``); a dash means the trust has no
pathway for the topic.
"""

from dataclasses import dataclass

from ...conventions import TRUSTS
from .. import paths, words
from ..content import SiteContent, TopicSite
from . import render


@dataclass(frozen=True)
class TopicRow:
    title: str
    variation_href: str | None
    guideline_href: str | None
    guideline_label: str
    compared_with: str
    #: Unwarranted differences by ODS code; None where the trust has no pathway.
    counts: list[int | None]


@dataclass(frozen=True)
class NetworkTable:
    network: str
    name: str
    network_link: str
    trusts: list[str]
    rows: list[TopicRow]
    totals: list[int]


def _compared_with(topic: TopicSite) -> str:
    if topic.report is None:
        return "No trust pathways"
    if topic.agreed:
        return f"Agreed guideline, version {topic.guideline.pathway.version}" if topic.guideline else "Agreed guideline"
    return "Network consensus (no agreed guideline)"


def _table(network: str, topics: list[TopicSite]) -> NetworkTable:
    present = {t.ods for topic in topics if topic.report for t in topic.report.trusts}
    trusts = [ods for ods in TRUSTS if ods in present]
    rows = []
    for topic in topics:
        unwarranted = {t.ods: t.unwarranted for t in topic.report.trusts} if topic.report else {}
        rows.append(TopicRow(
            title=topic.title,
            variation_href=paths.href(paths.OVERVIEW, paths.variation_page(topic.topic)) if topic.report else None,
            guideline_href=paths.href(paths.OVERVIEW, paths.guideline_page(topic.topic)) if topic.guideline else None,
            guideline_label=topic.guideline_label,
            compared_with=_compared_with(topic),
            counts=[unwarranted.get(ods) for ods in trusts],
        ))
    totals = [sum(r.counts[i] or 0 for r in rows) for i in range(len(trusts))]
    return NetworkTable(network, words.network(network), paths.link(paths.OVERVIEW, paths.network_page(network)),
                        trusts, rows, totals)


def overview_page(content: SiteContent) -> str:
    return render("overview.md", tables=[_table(n, topics) for n, topics in content.networks()],
                  trust_names=TRUSTS, as_of=words.long_date(content.settings.as_of),
                  comparison_link=paths.link(paths.OVERVIEW, paths.COMPARISON))
