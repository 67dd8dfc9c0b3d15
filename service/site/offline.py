"""Keep the site self-contained and relative, so that it works offline, under any sub-path and from disk.

Material's ``offline`` plugin adds the ``iframe-worker`` shim (which lets search run from
``file://``) as a script from a public CDN. The same shim (MIT licence, iframe-worker 1.0.4 from
the npm registry) ships in this package's theme folder, and is used instead, so that no page asks
another host for anything.

MkDocs writes ``404.html`` with links from the server's root, for a web server to show on any
missing path; under a sub-path or from disk those links break, so the page is not built.
"""

from typing import Final

from mkdocs.config.defaults import MkDocsConfig

LOCAL_SHIM: Final = "assets/javascripts/iframe-worker-shim.js"


def localise_polyfills(config: MkDocsConfig) -> None:
    """Swap every ``iframe-worker`` polyfill URL for the local shim."""
    polyfills = config.extra.get("polyfills") or []
    config.extra["polyfills"] = [LOCAL_SHIM if "iframe-worker" in str(p) else p for p in polyfills]


def drop_server_only_pages(config: MkDocsConfig) -> None:
    """Do not build ``404.html``, whose links only work at the root of a web server."""
    config.theme.static_templates.discard("404.html")
