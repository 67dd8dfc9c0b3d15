"""A little SVG writer for the site's charts: escaped text, fixed number formatting, a time axis.

Charts are drawn at build time as inline SVG, so they need no JavaScript and no other host.
Numbers are written with one decimal at most, so the same input always gives the same bytes.

Private to ``service.site``: only its own modules import this one.
"""

import math
from collections.abc import Iterable
from dataclasses import dataclass
from html import escape
from typing import Final

from ..units import DAYS_PER_UNIT
from . import words

TEXT: Final = "#212b32"
GRID: Final = "#aeb7bd"
FONT_SIZE: Final = 14
#: Roughly how many characters of text fit in one pixel of width at FONT_SIZE.
CHAR_WIDTH: Final = 7.4


def num(value: float) -> str:
    text = f"{value:.1f}"
    return text[:-2] if text.endswith(".0") else text


def text(x: float, y: float, content: str, *, anchor: str = "start", weight: str = "normal",
         size: int = FONT_SIZE, fill: str = TEXT, italic: bool = False) -> str:
    style = ' font-style="italic"' if italic else ""
    return (f'<text x="{num(x)}" y="{num(y)}" font-size="{size}" text-anchor="{anchor}" '
            f'font-weight="{weight}" fill="{fill}"{style}>{escape(content)}</text>')


def wrap(content: str, width: float) -> list[str]:
    """Split text into lines that fit ``width`` pixels (SVG text does not wrap by itself)."""
    limit = max(10, int(width / CHAR_WIDTH))
    lines: list[str] = []
    current = ""
    for word in content.split():
        if current and len(current) + 1 + len(word) > limit:
            lines.append(current)
            current = word
        else:
            current = f"{current} {word}".strip()
    return lines + [current] if current else lines


def marker(shape: str, x: float, y: float, colour: str, size: float = 1.0) -> str:
    """A circle, square or triangle: the shape says the classification as well as the colour does."""
    if shape == "square":
        half = 6 * size
        return (f'<rect x="{num(x - half)}" y="{num(y - half)}" width="{num(2 * half)}" height="{num(2 * half)}" '
                f'fill="{colour}"/>')
    if shape == "triangle":
        tip, side, base = 7.5 * size, 7.5 * size, 6 * size
        points = f"{num(x)},{num(y - tip)} {num(x + side)},{num(y + base)} {num(x - side)},{num(y + base)}"
        return f'<polygon points="{points}" fill="{colour}"/>'
    return f'<circle cx="{num(x)}" cy="{num(y)}" r="{num(6.5 * size)}" fill="{colour}"/>'


def bar(x0: float, x1: float, y: float, colour: str) -> str:
    """A window of days: a bar from its first day to its last, centred on ``y``."""
    return (f'<rect class="hm-window" x="{num(x0)}" y="{num(y - 4)}" width="{num(max(x1 - x0, 2))}" height="8" '
            f'rx="2" fill="{colour}" fill-opacity="0.55" stroke="{colour}"/>')


@dataclass(frozen=True)
class TimeAxis:
    """Days after the index event mapped onto pixels, with ticks in a unit a reader would use."""

    start: float
    end: float
    left: float
    right: float

    def x(self, day: float) -> float:
        span = self.end - self.start or 1
        return self.left + (day - self.start) / span * (self.right - self.left)

    def unit(self) -> tuple[str, float]:
        span = self.end - self.start
        if span <= 28:
            return "day", 1.0
        if span <= 26 * 7:
            return "week", 7.0
        if span <= 3 * 365.25:
            return "month", float(DAYS_PER_UNIT["mo"])
        return "year", float(DAYS_PER_UNIT["a"])

    def ticks(self) -> list[tuple[float, str]]:
        """Up to about ten ticks at whole units (1, 2, 3, 6 or 12 at a time)."""
        name, length = self.unit()
        span_units = (self.end - self.start) / length
        step = next(s for s in (1, 2, 3, 6, 12, 24, 60) if span_units / s <= 10)
        first = math.ceil(self.start / length / step) * step
        result = []
        value = first
        while value * length <= self.end + 1e-9:
            result.append((value * length, str(value)))
            value += step
        return result

    def title(self, index_event: str | None) -> str:
        name, _ = self.unit()
        return f"{name.capitalize()}s after {words.index_event(index_event)}"

    def draw(self, top: float, bottom: float, index_event: str | None) -> list[str]:
        """Grid lines from ``top`` to ``bottom``, tick labels and the axis title under it."""
        parts = [f'<line x1="{num(self.left)}" y1="{num(bottom)}" x2="{num(self.right)}" y2="{num(bottom)}" '
                 f'stroke="{TEXT}" stroke-width="1"/>']
        for day, label in self.ticks():
            x = self.x(day)
            parts.append(f'<line x1="{num(x)}" y1="{num(top)}" x2="{num(x)}" y2="{num(bottom + 4)}" '
                         f'stroke="{GRID}" stroke-width="1" stroke-dasharray="2 3"/>')
            parts.append(text(x, bottom + 18, label, anchor="middle", size=12))
        parts.append(text((self.left + self.right) / 2, bottom + 36, self.title(index_event), anchor="middle", size=12))
        return parts


def figure(chart_id: str, width: float, height: float, title: str, description: str, body: Iterable[str]) -> str:
    """An accessible inline SVG: ``role="img"`` named by its ``<title>`` and described by its ``<desc>``."""
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" class="hm-chart" viewBox="0 0 {num(width)} {num(height)}" '
        f'role="img" aria-labelledby="{chart_id}-title {chart_id}-desc" font-family="inherit">'
        f'<title id="{chart_id}-title">{escape(title)}</title>'
        f'<desc id="{chart_id}-desc">{escape(description)}</desc>'
        + "".join(body) + "</svg>"
    )
