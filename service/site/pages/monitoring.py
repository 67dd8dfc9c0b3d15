"""The early-warning pages: the signals list, and a page of SPC charts per topic with activity.

Everything shown comes from ``service.monitoring`` (the same signals and charts as
``harmonise monitor``); each chart has its data points as a table beside it, so nothing is
only a picture, and each names the measure and months it was computed from.
"""

from dataclasses import dataclass

from markupsafe import Markup

from ...monitoring.signals import MonitoredSeries, Signal
from .. import paths, spc_chart, words
from ..content import SiteContent
from . import render


@dataclass(frozen=True)
class SignalRow:
    signal: Signal
    where: str
    #: Link to the page to look at (the topic's charts or its variation page), if there is one.
    href: str | None
    href_label: str


@dataclass(frozen=True)
class PointRow:
    period: str
    value: str
    mean: str
    lower: str
    upper: str
    reading: str


@dataclass(frozen=True)
class ChartBlock:
    trust: str
    chart: Markup
    variation: Markup
    variation_words: str
    assurance: Markup | None
    assurance_words: str
    rebases: list[str]
    points: list[PointRow]
    source: str


@dataclass(frozen=True)
class MeasureSection:
    title: str
    direction: str
    target: str | None
    charts: list[ChartBlock]


def _signal_row(signal: Signal, content: SiteContent) -> SignalRow:
    where = " · ".join(part for part in (words.trust(signal.trust) if signal.trust else None,
                                          content.topics[signal.topic].title if signal.topic in content.topics
                                          else signal.topic) if part)
    href, label = None, ""
    if signal.topic and content.charts_for(signal.topic) and signal.kind.value == "special-cause":
        href, label = paths.href(paths.SIGNALS, paths.monitoring_page(signal.topic)), "See the charts"
    elif signal.topic in content.topics and content.topics[signal.topic].report:
        href, label = paths.href(paths.SIGNALS, paths.variation_page(signal.topic)), "See the variation"
    return SignalRow(signal, where, href, label)


def signals_page(content: SiteContent) -> str:
    rows = [_signal_row(signal, content) for signal in content.monitoring.signals]
    return render("signals.md", rows=rows, as_of=words.long_date(content.settings.as_of),
                  topics=[(content.topics[t].title, paths.link(paths.SIGNALS, paths.monitoring_page(t)))
                          for t in monitored_topics(content)])


def monitored_topics(content: SiteContent) -> list[str]:
    """Topics with activity charts, in the site's topic order."""
    charted = {series.topic for series in content.monitoring.charts}
    return [topic.topic for _network, topics in content.networks() for topic in topics if topic.topic in charted]


def _block(series: MonitoredSeries, chart_id: str) -> ChartBlock:
    unit = series.measure.unit
    points = [
        PointRow(period, f"{p.value:g}", f"{p.mean:.1f}", f"{p.lower:.1f}", f"{p.upper:.1f}",
                 p.variation.words + (f" ({', '.join(r.value for r in p.rules)})" if p.rules else ""))
        for period, p in zip(series.periods, series.chart.points)
    ]
    assurance = series.chart.assurance
    badge = spc_chart.assurance_badge(assurance)
    return ChartBlock(
        trust=words.trust(series.trust),
        chart=Markup(spc_chart.xmr_chart(series, chart_id)),
        variation=Markup(spc_chart.variation_badge(series.chart.latest.variation)),
        variation_words=series.chart.latest.variation.words,
        assurance=Markup(badge) if badge else None,
        assurance_words=assurance.words,
        rebases=[f"{series.periods[i]}: {why}" for i, why in series.rebases],
        points=points,
        source=f"MeasureReport for {series.measure.url}, reporter {series.trust}, topic {series.topic}"
               f"{' (' + unit + ')' if unit else ''}",
    )


def monitoring_page(content: SiteContent, topic: str) -> str:
    sections: dict[str, MeasureSection] = {}
    for number, series in enumerate(content.charts_for(topic)):
        measure = series.measure
        section = sections.setdefault(measure.id, MeasureSection(
            title=measure.title,
            direction={"increase": "higher is better", "decrease": "lower is better"}.get(
                measure.direction.value, "neither higher nor lower is better in itself"),
            target=None if measure.target is None else f"{measure.target:g} {measure.unit}".strip(),
            charts=[]))
        section.charts.append(_block(series, f"spc-{number}"))
    site = content.topics[topic]
    return render("monitoring.md", title=site.title, sections=list(sections.values()),
                  signals_link=paths.link(paths.monitoring_page(topic), paths.SIGNALS),
                  variation_link=(paths.link(paths.monitoring_page(topic), paths.variation_page(topic))
                                  if site.report else None))
