"""The XmR chart of one measure at one trust, drawn as inline SVG in Making Data Count's style.

Points are grey for common cause, blue for special-cause improvement and orange for concern, and
each colour has its own shape too (circle, square, triangle), so colour is never the only signal.
The mean is a solid line, the process limits dashed, a target dotted; the limits restart where the
chart was rebased. The variation and assurance icons are drawn as small labelled badges with the
same words beside them, not as the programme's artwork.

Private to ``service.site``: only its own modules import this one.
"""

from typing import Final

from ..monitoring.signals import MonitoredSeries
from ..monitoring.spc import Assurance, Variation
from .svg import GRID, TEXT, figure, marker, num, text

WIDTH: Final = 760
HEIGHT: Final = 280
LEFT, RIGHT, TOP, BOTTOM = 64.0, 740.0, 24.0, 220.0

COMMON: Final = "#768692"
IMPROVEMENT: Final = "#005eb8"
CONCERN: Final = "#b35900"  # a darker orange than the programme's, for contrast on white
NEUTRAL: Final = "#4c6272"

#: Colour, marker shape and the badge letter for each kind of point.
STYLE: Final[dict[Variation, tuple[str, str, str]]] = {
    Variation.COMMON_CAUSE: (COMMON, "circle", ""),
    Variation.IMPROVEMENT_HIGH: (IMPROVEMENT, "square", "H"),
    Variation.IMPROVEMENT_LOW: (IMPROVEMENT, "square", "L"),
    Variation.CONCERN_HIGH: (CONCERN, "triangle", "H"),
    Variation.CONCERN_LOW: (CONCERN, "triangle", "L"),
    Variation.NEUTRAL_HIGH: (NEUTRAL, "square", "H"),
    Variation.NEUTRAL_LOW: (NEUTRAL, "square", "L"),
}
ASSURANCE_BADGE: Final[dict[Assurance, tuple[str, str]]] = {
    Assurance.CONSISTENTLY_PASS: (IMPROVEMENT, "P"),
    Assurance.CONSISTENTLY_FAIL: (CONCERN, "F"),
    Assurance.HIT_AND_MISS: (NEUTRAL, "?"),
}


def _y_scale(series: MonitoredSeries) -> tuple[float, float]:
    points = series.chart.points
    values = [p.value for p in points] + [p.lower for p in points] + [p.upper for p in points]
    if series.measure.target is not None:
        values.append(series.measure.target)
    low, high = min(values), max(values)
    pad = (high - low) * 0.08 or 1.0
    return low - pad, high + pad


def badge(letter: str, colour: str, label: str) -> str:
    """A small round badge with a letter, named for screen readers by ``label``."""
    return (f'<svg xmlns="http://www.w3.org/2000/svg" class="hm-badge" viewBox="0 0 24 24" width="24" height="24" '
            f'role="img" aria-label="{label}"><circle cx="12" cy="12" r="11" fill="{colour}"/>'
            f'<text x="12" y="16.5" font-size="13" text-anchor="middle" font-weight="700" fill="#ffffff">{letter}'
            "</text></svg>")


def variation_badge(variation: Variation) -> str:
    colour, _shape, letter = STYLE[variation]
    return badge(letter or "~", colour, variation.words)


def assurance_badge(assurance: Assurance) -> str | None:
    if assurance is Assurance.NONE:
        return None
    colour, letter = ASSURANCE_BADGE[assurance]
    return badge(letter, colour, assurance.words)


def xmr_chart(series: MonitoredSeries, chart_id: str) -> str:
    points = series.chart.points
    low, high = _y_scale(series)
    n = len(points)

    def x(i: float) -> float:
        return LEFT + (i / max(1, n - 1)) * (RIGHT - LEFT)

    def y(value: float) -> float:
        return BOTTOM - (value - low) / (high - low) * (BOTTOM - TOP)

    unit = series.measure.unit
    body = [f'<line x1="{num(LEFT)}" y1="{num(BOTTOM)}" x2="{num(RIGHT)}" y2="{num(BOTTOM)}" stroke="{TEXT}"/>',
            f'<line x1="{num(LEFT)}" y1="{num(TOP)}" x2="{num(LEFT)}" y2="{num(BOTTOM)}" stroke="{TEXT}"/>']
    for fraction in (0.0, 0.5, 1.0):
        value = low + fraction * (high - low)
        body.append(text(LEFT - 6, y(value) + 4, f"{value:.1f}", anchor="end", size=11))
    if unit:
        body.append(text(LEFT - 6, TOP - 10, unit, anchor="end", size=11, italic=True))
    for i, period in enumerate(series.periods):
        if i % 3 == 0 or i == n - 1:
            body.append(text(x(i), BOTTOM + 16, period, anchor="middle", size=11))
    body.append(text((LEFT + RIGHT) / 2, BOTTOM + 34, "Month", anchor="middle", size=12))
    segments: dict[int, list[int]] = {}
    for i, point in enumerate(points):
        segments.setdefault(point.segment, []).append(i)
    for indices in segments.values():
        first, last = points[indices[0]], indices[-1]
        x1, x2 = x(indices[0]), x(last)
        body.append(f'<line x1="{num(x1)}" y1="{num(y(first.mean))}" x2="{num(x2)}" y2="{num(y(first.mean))}" '
                    f'stroke="{TEXT}" stroke-width="1.5"/>')
        for limit in (first.lower, first.upper):
            body.append(f'<line x1="{num(x1)}" y1="{num(y(limit))}" x2="{num(x2)}" y2="{num(y(limit))}" '
                        f'stroke="{TEXT}" stroke-width="1" stroke-dasharray="6 4"/>')
    for index, _why in series.rebases:
        body.append(f'<line x1="{num(x(index - 0.5))}" y1="{num(TOP)}" x2="{num(x(index - 0.5))}" '
                    f'y2="{num(BOTTOM)}" stroke="{GRID}" stroke-width="2"/>')
        body.append(text(x(index - 0.5) + 4, TOP + 12, "limits recalculated", size=11, italic=True))
    if series.measure.target is not None:
        target = y(series.measure.target)
        body.append(f'<line x1="{num(LEFT)}" y1="{num(target)}" x2="{num(RIGHT)}" y2="{num(target)}" '
                    f'stroke="{CONCERN}" stroke-width="1.5" stroke-dasharray="2 3"/>')
        body.append(text(RIGHT, target - 4, f"target {series.measure.target:g}", anchor="end", size=11))
    path = " ".join(f"{'M' if i == 0 else 'L'}{num(x(i))},{num(y(p.value))}" for i, p in enumerate(points))
    body.append(f'<path d="{path}" fill="none" stroke="{COMMON}" stroke-width="1.5"/>')
    for i, point in enumerate(points):
        colour, shape, _ = STYLE[point.variation]
        body.append(marker(shape, x(i), y(point.value), colour))
    latest = series.chart.latest
    title = f"{series.measure.title} at {series.trust}"
    description = (
        f"{n} months from {series.periods[0]} to {series.periods[-1]}; latest {latest.value:g}"
        f"{' ' + unit if unit else ''} against a mean of {latest.mean:.1f} and process limits {latest.lower:.1f} "
        f"to {latest.upper:.1f}. {latest.variation.words.capitalize()}. The table below lists every point."
    )
    return figure(chart_id, WIDTH, HEIGHT, title, description, body)
