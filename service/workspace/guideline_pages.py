"""The guideline page's content: a version beside the one it is read against, what changed in words and by day.

The words are the site's ("what changed" on a guideline page, ``site.changes``) and the drawing is the
site's timeline renderer (``site.charts``), so the workspace and the published site say the same thing.
"""

from dataclasses import dataclass

from ..application import diffing, guidelines
from ..application.guidelines import Approval, SideBySide
from ..site import charts, words
from ..site.changes import describe_changes, pair_steps


@dataclass(frozen=True)
class TimingBeside:
    """A step's timing in the version read against (``before``) and in this one (``after``); blank where absent."""

    title: str
    before: str
    after: str


@dataclass(frozen=True)
class GuidelineView:
    pair: SideBySide
    changes: list[str]
    timeline: str | None
    steps: list[TimingBeside]
    approvals: list[Approval]
    #: Every element changed, as ``$diff`` answers it (type, path); None past the diff budget.
    elements: list[tuple[str, str]] | None = None

    @property
    def id(self) -> str:
        return self.pair.guideline.origin.split("/")[1]


def _label(record_status: str | None, version: str | None) -> str:
    return f"version {version or '(none)'} ({record_status})"


def guideline_view(pair: SideBySide, max_actions: int) -> GuidelineView:
    this, approvals = pair.guideline.pathway, guidelines.approvals(pair.guideline.data)
    if pair.against is None:
        alone = [TimingBeside(s.title or words.step_kind(s.kind), "", words.step_when(s)) for s in this.steps]
        return GuidelineView(pair, [], charts.guideline_timeline(this, "timeline"), alone, approvals)
    against = pair.against.pathway
    labels = (_label(against.status, against.version), _label(this.status, this.version))
    if labels[0] == labels[1]:
        labels = (f"{labels[0]} (earlier)", labels[1])
    paired, removed, added = pair_steps(against, this)
    steps = [TimingBeside(n.title, o.when, n.when) for o, n in paired] \
        + [TimingBeside(n.title, "", n.when) for n in added] + [TimingBeside(o.title, o.when, "") for o in removed]
    try:
        elements = diffing.changed_paths(diffing.diff(pair.against.data, pair.guideline.data, max_actions))
    except diffing.TooCostly:
        elements = None
    return GuidelineView(pair, describe_changes(against, this),
                         charts.versions_timeline(against, this, labels, "timeline"), steps, approvals, elements)
