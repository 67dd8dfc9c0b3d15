"""Fixes to Material's own markup that WCAG 2.1 AA needs and the theme has no setting for.

Material's search panel is a ``role="dialog"`` without an accessible name (axe: ``aria-dialog-name``,
serious). Rather than copy the theme's whole search template to add one attribute, each written
page gets the name added here; if the theme's markup changes, the browser tests' axe run says so.

Private to ``service.site``: only its own modules import this one.
"""

from typing import Final

_SEARCH_DIALOG: Final = '<div class="md-search" data-md-component="search" role="dialog">'
_NAMED_SEARCH_DIALOG: Final = '<div class="md-search" data-md-component="search" role="dialog" aria-label="Search">'


def name_search_dialog(html: str) -> str:
    return html.replace(_SEARCH_DIALOG, _NAMED_SEARCH_DIALOG, 1)
