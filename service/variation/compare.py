"""Compare the trusts' pathways for one topic with the guideline and with each other.

Pure functions: pathways, the guideline, the register and the date in; a ``TopicReport`` out. The
method is written up in docs/comparison.md. ``compare_topic`` is a pipeline of named stages, each
in its own module:

1. ``align``: each trust's step occurrences to the reference steps (the agreed guideline, or the
   network consensus when no guideline is agreed), by optimal assignment;
2. ``find``: the differences (presence, count, timing, mode, participant, condition), as data;
3. ``classify``: within the guideline's tolerance, warranted by a current register entry, or
   unwarranted (an expired entry is flagged);
4. ``word``: the sentences a person reads, made from the data;
5. ``summarise``: each trust's figures and the step matrix;
6. ``score``: each trust's distance from the guideline and from the network consensus.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from .. import terminology
from ..pathway import Pathway
from ..register import RegisterEntry
from .align import ReferenceColumns, TopicOccasions, align_trust, group_extras
from .classify import classify, entries_by_trust
from .collector import own_objects_only
from .find import find_differences
from .reference import consensus_steps, guideline_steps, occurrences
from .report import ComparedAgainst, TopicReport
from .score import score
from .summarise import Cells, difference, extra_classifications, matrix, trust_cells, trust_summary


@dataclass(frozen=True)
class TrustPathway:
    """A trust's pathway as compared: the normalised model and the file it came from."""

    pathway: Pathway
    file: str | None = None

    @property
    def trust(self) -> str:
        """The trust's ODS code: every trust pathway names one (the loader's rules see to it)."""
        if self.pathway.trust is None:
            raise ValueError(f"{self.file or 'a pathway'} names no trust; only trust pathways are compared")
        return self.pathway.trust


@own_objects_only
def compare_topic(
    topic: str,
    trusts: Sequence[TrustPathway],
    guideline: Pathway | None,
    register: Sequence[RegisterEntry],
    today: date,
    draft_guideline: Pathway | None = None,
) -> TopicReport:
    """The variation report for one topic.

    ``guideline`` is the agreed (active) guideline, or None: then each trust is compared with the
    network consensus, and the report says so. A draft guideline is named but not used to
    classify: it has not been agreed, and calling a difference from it unwarranted would mislead.
    The caller's objects are left out of garbage collection meanwhile (``collector``).
    """
    trusts = sorted(trusts, key=lambda t: t.trust)
    topic_occasions = TopicOccasions.of({t.trust: occurrences(t.pathway) for t in trusts})
    aligner, rows = topic_occasions.aligner, topic_occasions.rows
    network = consensus_steps(topic_occasions.occurrences, min_share=0.5, aligner=aligner, rows=rows)
    reference = guideline_steps(guideline) if guideline else network
    against = "guideline" if guideline else "network consensus"
    on_reference = ReferenceColumns.of(aligner, reference)
    on_network = ReferenceColumns.of(aligner, network) if guideline else on_reference
    entries = entries_by_trust(register, topic)

    differences, summaries, cells, extras, extra_classes = [], [], {}, {}, {}
    made: Cells = {}  # the matrix's distinct cells (summarise.cell)
    for trust in trusts:  # each trust's findings live only for its turn
        ods, occs = trust.trust, topic_occasions.occurrences[trust.trust]
        alignment = align_trust(occs, aligner, rows[ods], on_reference)
        findings = find_differences(reference, alignment)
        judged = [classify(f, ods, topic, entries.get(ods, ()), today) for f in findings]
        differences += [difference(j, trust.pathway, against, today) for j in judged]
        from_network = find_differences(network, align_trust(occs, aligner, rows[ods], on_network)) if guideline \
            else findings
        summaries.append(trust_summary(trust.pathway, trust.file, reference, alignment, judged,
                                       score(findings) if guideline else None, score(from_network)))
        cells[ods] = trust_cells(reference, alignment, judged, made)
        extras[ods], extra_classes[ods] = alignment.extra_only(), extra_classifications(judged)
    steps = matrix(reference, cells, group_extras(topic_occasions, extras), extra_classes, made)

    return TopicReport(
        topic=topic,
        title=terminology.topics().display(topic),
        network=terminology.topic_network(topic),
        index_event=terminology.topic_index_event(topic),
        guideline=guideline.canonical if guideline else None,
        guideline_title=guideline.title if guideline else (draft_guideline.title if draft_guideline else None),
        draft_guideline=draft_guideline.canonical if draft_guideline and not guideline else None,
        compared_against=ComparedAgainst.GUIDELINE if guideline else ComparedAgainst.NETWORK_MEDIAN,
        steps=steps,
        trusts=summaries,
        differences=differences,
    )
