"""Where each generated page and download lives in the site, and links between them.

Pages are named by the docs-relative Markdown path MkDocs knows them by. Every link is relative to
the linking page, so the site works under any sub-path and from ``file://``: Markdown links name
the ``.md`` page (MkDocs checks them), links inside raw HTML (tables) the ``.html`` MkDocs writes
(``use_directory_urls: false``).

Private to ``service.site``: only its own modules import this one.
"""

import posixpath
from typing import Final

OVERVIEW: Final = "overview.md"
SIGNALS: Final = "signals.md"
#: Hand-written pages the generated ones link to.
PROFILE: Final = "profile.md"
COMPARISON: Final = "comparison.md"
READING_GUIDE: Final = "reading-a-guideline.md"


def network_page(network: str) -> str:
    return f"networks/{network}/index.md"


def guideline_page(topic: str) -> str:
    return f"guidelines/{topic}.md"


def variation_page(topic: str) -> str:
    return f"variation/{topic}.md"


def monitoring_page(topic: str) -> str:
    return f"monitoring/{topic}.md"


def download(resource_id: str, version: str | None, suffix: str) -> str:
    """A FHIR file for download, e.g. ``downloads/guideline-x-1.1.0.json``."""
    name = f"{resource_id}-{version}" if version else resource_id
    return f"downloads/{name}.{suffix}"


def _relative(from_page: str, target: str, anchor: str) -> str:
    relative = posixpath.relpath(target, posixpath.dirname(from_page) or ".")
    return relative + (f"#{anchor}" if anchor else "")


def link(from_page: str, to_page: str, anchor: str = "") -> str:
    """A relative link for Markdown, to the ``.md`` page: MkDocs checks it and makes it ``.html``."""
    return _relative(from_page, to_page, anchor)


def href(from_page: str, to_path: str, anchor: str = "") -> str:
    """A relative link for raw HTML, which MkDocs leaves alone: Markdown pages become ``.html``."""
    target = to_path[:-3] + ".html" if to_path.endswith(".md") else to_path
    return _relative(from_page, target, anchor)
