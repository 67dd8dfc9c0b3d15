"""MkDocs hooks, named in mkdocs.yml: the generated pages are made at build time, never committed.

Each hook hands over to ``service.site.events``; see there for what happens.
"""

from mkdocs.config.defaults import MkDocsConfig
from mkdocs.plugins import event_priority
from mkdocs.structure.files import Files
from mkdocs.structure.pages import Page

from service.site.events import BUILD


@event_priority(-100)  # after the offline plugin has added its remote polyfill, which this replaces
def on_config(config: MkDocsConfig) -> MkDocsConfig:
    return BUILD.on_config(config)


def on_files(files: Files, config: MkDocsConfig) -> Files:
    return BUILD.on_files(files, config)


def on_post_page(output: str, page: Page, config: MkDocsConfig) -> str:
    return BUILD.on_post_page(output, page)
