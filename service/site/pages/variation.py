"""The network lead's page for one pathway topic: how the trusts differ, and why it matters.

Everything shown is the engine's report for the topic, as ``harmonise compare`` prints it: the
trusts' figures, the aligned-steps matrix, the differences with their classification and register
entry, and, where nothing is agreed, the engine's consensus proposal. Each figure names the
element it came from.
"""

from dataclasses import dataclass
from datetime import date

from ...conventions import CARE_ROLE_SYSTEM, CONTACT_MODE_SYSTEM, SCHEDULED_CONTACT_MODES
from ...fhirformat import JsonDict
from ...variation.report import Classification, Difference, TopicReport
from .. import charts, paths, words
from ..content import TopicSite
from ..matrix import shown_rows
from . import render


@dataclass(frozen=True)
class TrustRow:
    ods: str
    name: str
    pathway: str
    contacts: int
    by_mode: str
    length: str
    unwarranted: int
    warranted: int
    within: int
    distance_guideline: str
    distance_network: str


@dataclass(frozen=True)
class DifferenceGroup:
    classification: Classification
    label: str
    css: str
    rows: list[Difference]


@dataclass(frozen=True)
class ProposalStep:
    title: str
    window: str
    how: str
    who: str
    needed: str
    why: str


def proposal_download(topic: str) -> str:
    return paths.download(f"{topic}-consensus-proposal", None, "json")


def _mode_count(mode: str, count: int) -> str:
    """"3 telephone"; patient-initiated steps are listed but are not scheduled contacts."""
    counted = "" if mode in SCHEDULED_CONTACT_MODES else " (not counted)"
    return f"{count} {words.mode_short(mode).lower()}{counted}"


def _trust_rows(report: TopicReport) -> list[TrustRow]:
    def counted(ods: str, classification: Classification) -> int:
        return sum(d.trust == ods and d.classification is classification for d in report.differences)

    return [
        TrustRow(
            ods=t.ods, name=t.name, pathway=t.pathway.rpartition("|")[2] or t.pathway, contacts=t.contacts,
            by_mode=", ".join(_mode_count(mode, n) for mode, n in t.contacts_by_mode.items()) or "none",
            length=str(t.length_days) if t.length_days is not None else "not known",
            unwarranted=t.unwarranted, warranted=counted(t.ods, Classification.WARRANTED),
            within=counted(t.ods, Classification.WITHIN_TOLERANCE),
            distance_guideline=(f"{t.distance_from_guideline.total:.2f}" if t.distance_from_guideline
                                else "no guideline"),
            distance_network=f"{t.distance_from_network.total:.2f}",
        )
        for t in report.trusts
    ]


def _groups(report: TopicReport) -> list[DifferenceGroup]:
    order = (Classification.UNWARRANTED, Classification.WARRANTED, Classification.WITHIN_TOLERANCE)
    return [
        DifferenceGroup(c, words.style(c).label, words.style(c).css,
                        [d for d in report.differences if d.classification is c])
        for c in order
    ]


def _code(concepts: list[JsonDict], system: str) -> str | None:
    """The code from ``system`` among a list of CodeableConcepts."""
    return next((c["code"] for concept in concepts for c in concept.get("coding", []) if c.get("system") == system),
                None)


def _proposal_steps(proposal: JsonDict) -> list[ProposalStep]:
    """The proposal's actions, read back from the PlanDefinition ``harmonise propose`` writes."""
    steps = []
    for action in proposal.get("action", []):
        window = action.get("timingRange")
        role = _code([p["role"] for p in action.get("participant", []) if "role" in p], CARE_ROLE_SYSTEM)
        steps.append(ProposalStep(
            title=action["title"],
            window=(words.days_range(float(window["low"]["value"]), float(window["high"]["value"])) if window
                    else "not fixed"),
            how=words.mode_short(_code(action.get("code", []), CONTACT_MODE_SYSTEM)),
            who=words.role(role) if role else "Not stated",
            needed=words.required(action.get("requiredBehavior")),
            why=action.get("description", "").removeprefix("How this step was chosen: "),
        ))
    return steps


def variation_page(topic: TopicSite, as_of: date) -> str:
    """The Markdown of the variation page for ``topic`` (which must have a report).

    ``as_of`` is the day the register's review dates were checked against (the report's).
    """
    report = topic.report
    assert report is not None, topic.topic
    page = paths.variation_page(topic.topic)
    steps = {s.key: s.title for s in report.steps}
    return render(
        "variation.md", topic=topic, report=report, trusts=_trust_rows(report),
        matrix=shown_rows(report), groups=_groups(report), step_titles=steps,
        chart=charts.timing_chart(report, "timing"),
        dimension_words=words.DIMENSION_WORDS, styles=words.CLASSIFICATION_STYLES,
        reference=words.reference(report),
        event=words.index_event(report.index_event), as_of=words.long_date(as_of),
        network=words.network(topic.network),
        guideline_link=paths.link(page, paths.guideline_page(topic.topic)) if topic.guideline else None,
        proposal=_proposal_steps(topic.proposal) if topic.proposal else [],
        proposal_href=paths.href(page, proposal_download(topic.topic)) if topic.proposal else None,
        comparison_link=paths.link(page, paths.COMPARISON),
        overview_link=paths.link(page, paths.OVERVIEW),
        long_date=words.long_date,
    )
