"""Which pathways are compared: grouping by topic and choosing the current version of each.

By default a trust's current pathway for a topic is its ``active`` one with the latest ``date``
(then the highest ``version``); the agreed guideline is the latest ``active`` network guideline.
A caller can choose versions instead by naming their ``url|version``.
"""

from collections import defaultdict
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date

from ..pathway import Pathway, PathwayKind
from ..register import RegisterEntry
from .compare import TrustPathway, compare_topic
from .report import TopicReport, VariationReport


@dataclass
class TopicContent:
    topic: str
    trusts: list[TrustPathway] = field(default_factory=list)
    guideline: Pathway | None = None
    draft_guideline: Pathway | None = None


def _latest(candidates: Sequence[TrustPathway]) -> TrustPathway | None:
    return max(candidates, key=lambda t: t.pathway.recency, default=None)


def group_by_topic(items: Iterable[TrustPathway], chosen: Collection[str] = ()) -> dict[str, TopicContent]:
    """Topics with the pathways to compare. ``chosen`` canonicals override the default choice."""
    pathways: dict[str, dict[str, list[TrustPathway]]] = defaultdict(lambda: defaultdict(list))
    guidelines: dict[str, list[TrustPathway]] = defaultdict(list)
    for item in items:
        pathway, topic = item.pathway, item.pathway.topic
        if not pathway.is_compared or topic is None:  # is_compared implies a topic; said again for the types
            continue
        if pathway.kind is PathwayKind.NETWORK_GUIDELINE:
            guidelines[topic].append(item)
        elif pathway.trust:
            pathways[topic][pathway.trust].append(item)
    topics: dict[str, TopicContent] = {}
    for topic in sorted(set(pathways) | set(guidelines)):
        content = TopicContent(topic)
        for trust in sorted(pathways[topic]):
            versions = pathways[topic][trust]
            picked = [v for v in versions if v.pathway.canonical in chosen]
            current = _latest(picked) or _latest([v for v in versions if v.pathway.status == "active"])
            if current is not None:
                content.trusts.append(current)
        candidates = guidelines[topic]
        picked = [g for g in candidates if g.pathway.canonical in chosen]
        active = _latest(picked) or _latest([g for g in candidates if g.pathway.status == "active"])
        content.guideline = active.pathway if active else None
        if active is None:
            draft = _latest([g for g in candidates if g.pathway.status == "draft"])
            content.draft_guideline = draft.pathway if draft else None
        topics[topic] = content
    return topics


def compare_topics(
    topics: dict[str, TopicContent], register: Sequence[RegisterEntry], today: date, only: Collection[str] | None = None
) -> VariationReport:
    reports: list[TopicReport] = [
        compare_topic(t.topic, t.trusts, t.guideline, register, today, draft_guideline=t.draft_guideline)
        for name, t in topics.items()
        if (only is None or name in only) and t.trusts
    ]
    return VariationReport(as_of=today, topics=reports)
