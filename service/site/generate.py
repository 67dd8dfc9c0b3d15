"""The generated part of the site: which pages and downloads exist, their Markdown and bytes, and the nav.

Called by the hooks at build time; nothing here is written to the repository.
"""

from typing import Any

from .. import fhirformat
from . import paths, words
from .content import SiteContent
from .pages.guideline import download_paths, guideline_page
from .pages.monitoring import monitored_topics, monitoring_page, signals_page
from .pages.network import network_page
from .pages.overview import overview_page
from .pages.variation import proposal_download, variation_page

NavItem = str | dict[str, Any]


def pages(content: SiteContent) -> dict[str, str]:
    """Markdown of every generated page, by its path in the docs."""
    result = {paths.OVERVIEW: overview_page(content), paths.SIGNALS: signals_page(content)}
    for monitored in monitored_topics(content):
        result[paths.monitoring_page(monitored)] = monitoring_page(content, monitored)
    for network, topics in content.networks():
        result[paths.network_page(network)] = network_page(network, topics)
        for topic in topics:
            if topic.guideline:
                result[paths.guideline_page(topic.topic)] = guideline_page(topic)
            if topic.report:
                result[paths.variation_page(topic.topic)] = variation_page(topic, content.settings.as_of)
    return result


def downloads(content: SiteContent) -> dict[str, bytes]:
    """Every guideline version as FHIR JSON and XML, and each consensus proposal as JSON."""
    result: dict[str, bytes] = {}
    for topic in content.topics.values():
        for version in topic.versions:
            json_path, xml_path = download_paths(topic.topic, version)
            result[json_path] = fhirformat.to_json(version.data)
            result[xml_path] = fhirformat.to_xml(version.data)
        if topic.proposal:
            result[proposal_download(topic.topic)] = fhirformat.to_json(topic.proposal)
    return result


def navigation(content: SiteContent) -> list[NavItem]:
    """The overview, then one section per hosted network with a sub-section per topic."""
    sections: list[NavItem] = [{"All topics at a glance": paths.OVERVIEW}, {"Early-warning signals": paths.SIGNALS}]
    monitored = set(monitored_topics(content))
    for network, topics in content.networks():
        children: list[NavItem] = [paths.network_page(network)]
        for topic in topics:
            entries: list[NavItem] = []
            if topic.guideline:
                entries.append({topic.guideline_label: paths.guideline_page(topic.topic)})
            if topic.report:
                entries.append({"Variation between trusts": paths.variation_page(topic.topic)})
            if topic.topic in monitored:
                entries.append({"Activity and signals": paths.monitoring_page(topic.topic)})
            children.append({topic.title: entries})
        sections.append({words.network(network): children})
    return sections
