"""Stage 6, score: a trust's distance from a reference, the weighted sum of its findings' sizes.

One scorer for the guideline and the network consensus alike (docs/comparison.md, "Distance
scores"): a missing required step or an extra step adds 1 to presence; a count difference adds the
difference in occurrences over the reference's; a timing difference adds how far its days reach
outside the window on the log scale; mode, participant and condition add 1 each. Findings within
tolerance add nothing.
"""

from collections.abc import Iterable

from .find import Finding
from .report import Score

#: Weights of the parts of a distance score (docs/comparison.md).
SCORE_WEIGHTS = {"presence": 1.0, "count": 1.0, "timing": 1.0, "mode": 0.5, "participant": 0.25, "condition": 0.25}


def score(findings: Iterable[Finding]) -> Score:
    """The distance the findings add up to, each part and the total rounded to 3 places."""
    parts = dict.fromkeys(SCORE_WEIGHTS, 0.0)
    for finding in findings:
        if not finding.within_tolerance:
            parts[finding.dimension.value] += finding.size
    rounded = {k: round(v, 3) for k, v in parts.items()}
    total = round(sum(SCORE_WEIGHTS[k] * v for k, v in rounded.items()), 3)
    return Score(total=total, **rounded)
