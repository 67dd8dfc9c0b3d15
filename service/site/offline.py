"""Keep the site self-contained and relative, so that it works offline, under any sub-path and from disk.

Material's ``offline`` plugin adds the ``iframe-worker`` shim (which lets search run from
``file://``) as a script from a public CDN. The shim is an npm dependency of the project
(``package.json``, installed by ``make install`` into ``node_modules/``); the build copies it
into the site and points the page at that copy, so no page asks another host for anything. If it
is not installed, the polyfill is dropped with a warning: every page still works, only search
from ``file://`` does not (over http it does).

MkDocs writes ``404.html`` with links from the server's root, for a web server to show on any
missing path; under a sub-path or from disk those links break, so the page is not built.

Private to ``service.site``: only its own modules import this one.
"""

import logging
from pathlib import Path
from typing import Final

from mkdocs.config.defaults import MkDocsConfig

LOCAL_SHIM: Final = "assets/javascripts/iframe-worker-shim.js"
SHIM_SOURCE: Final = Path("node_modules") / "iframe-worker" / "shim" / "index.js"

log = logging.getLogger(__name__)


def shim(root: Path) -> bytes | None:
    """The installed shim's bytes, or None when ``npm install`` has not been run."""
    path = root / SHIM_SOURCE
    return path.read_bytes() if path.is_file() else None


def localise_polyfills(config: MkDocsConfig, shim_available: bool) -> None:
    """Swap every ``iframe-worker`` polyfill URL for the local copy, or drop it if there is none."""
    polyfills = config.extra.get("polyfills") or []
    if not shim_available and any("iframe-worker" in str(p) for p in polyfills):
        log.warning("iframe-worker is not installed (run 'npm install'): search will work over http, "
                    "but not from file://")
    replacement = [LOCAL_SHIM] if shim_available else []
    config.extra["polyfills"] = [q for p in polyfills for q in (replacement if "iframe-worker" in str(p) else [p])]


def drop_server_only_pages(config: MkDocsConfig) -> None:
    """Do not build ``404.html``, whose links only work at the root of a web server."""
    config.theme.static_templates.discard("404.html")
