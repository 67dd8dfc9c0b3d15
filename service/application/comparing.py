"""The comparison use cases: the variation report, and a consensus proposal where nothing is agreed.

The command line, ``$compare`` and the site all call these, on whichever ``Source`` they read, so
the same content gives the same report whichever door it is asked through.
"""

from collections.abc import Collection
from dataclasses import dataclass
from datetime import date

from ..fhirformat import JsonDict
from ..problems import Problem
from ..variation.compare import TrustPathway
from ..variation.network import TopicContent, compare_topics, group_by_topic
from ..variation.proposal import propose as consensus_proposal
from ..variation.report import VariationReport
from .sources import Record, Source


@dataclass(frozen=True)
class Topics:
    """The topics to compare, with the pathways and guidelines chosen for each."""

    content: dict[str, TopicContent]
    #: Every record read, by canonical: the site needs guidelines' other versions and their narratives.
    records: list[Record]
    problems: list[Problem]
    #: What they were read from, in words (``Source.description``).
    source: str


def read_topics(source: Source, topics: Collection[str] | None = None, chosen: Collection[str] = ()) -> Topics:
    """The current pathways and guideline of each topic (or of these topics), ``chosen`` versions instead
    of the current ones where named (``url|version``)."""
    records, problems = source.plan_definitions(topics)
    picked = source.chosen(chosen) if chosen else []
    if picked and topics is not None:
        # A chosen version of another topic brings its topic's current pathways with it.
        extra = {r.pathway.topic for r in picked if r.pathway.topic} - set(topics)
        if extra:
            more, more_problems = source.plan_definitions(extra)
            records, problems = records + more, problems + more_problems
    every = records + [r for r in picked if r not in records]
    content = group_by_topic((TrustPathway(r.pathway, r.origin) for r in every), chosen=chosen)
    return Topics(content, every, problems, source.description)


@dataclass(frozen=True)
class Comparison:
    report: VariationReport
    topics: Topics
    #: Content problems: files or register entries that could not be used.
    problems: list[Problem]


def compare(source: Source, topics: Collection[str] | None, as_of: date, chosen: Collection[str] = ()) -> Comparison:
    """The variation report of these topics (None: every topic with pathways), register checked as of ``as_of``.

    Topics of ``chosen`` versions are compared too.
    """
    read = read_topics(source, topics, chosen)
    entries, register_problems = source.register()
    wanted = None if topics is None else set(topics) | {
        name for name, content in read.content.items()
        if any(t.pathway.canonical in chosen for t in content.trusts)}
    report = compare_topics(read.content, entries, as_of, only=wanted)
    return Comparison(report, read, read.problems + register_problems)


def propose(source: Source, topic: str, as_of: date) -> tuple[JsonDict | None, Topics]:
    """A draft guideline from what most trusts do now; None when no trust has a pathway for ``topic``."""
    read = read_topics(source, [topic])
    content = read.content.get(topic)
    if content is None or not content.trusts:
        return None, read
    return consensus_proposal(topic, content.trusts, as_of), read
