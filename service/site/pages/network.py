"""The page of one hosted network: its host trust and its topics, with each guideline's status and dates."""

from dataclasses import dataclass

from ...terminology import network_host
from .. import paths, words
from ..content import TopicSite
from . import render


@dataclass(frozen=True)
class TopicEntry:
    title: str
    guideline: str
    next_review: str
    trusts: int
    guideline_href: str | None
    guideline_label: str
    variation_href: str | None


def _entry(network: str, topic: TopicSite) -> TopicEntry:
    page = paths.network_page(network)
    guideline = topic.guideline
    return TopicEntry(
        title=topic.title,
        guideline=(f"{words.status(guideline.pathway.status)}, version {guideline.pathway.version}"
                   if guideline else "No guideline"),
        next_review=words.long_date(guideline.next_review) if guideline and guideline.next_review else "Not set",
        trusts=len(topic.report.trusts) if topic.report else 0,
        guideline_href=paths.href(page, paths.guideline_page(topic.topic)) if guideline else None,
        guideline_label=topic.guideline_label,
        variation_href=paths.href(page, paths.variation_page(topic.topic)) if topic.report else None,
    )


def network_page(network: str, topics: list[TopicSite]) -> str:
    return render("network.md", name=words.network(network), host=words.trust(network_host(network)),
                  entries=[_entry(network, t) for t in topics])
