"""The generated pages: each module turns the site's content into one kind of Markdown page.

The Markdown comes from Jinja templates in ``service/site/templates``, autoescaped, because
titles and free text in pathways are written by trusts and must never become markup.

Private to ``service.site``: only its own modules import this one.
"""

from functools import cache
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined

__all__ = ["render"]


@cache
def _environment() -> Environment:
    return Environment(
        loader=PackageLoader("service.site", "templates"), autoescape=True, undefined=StrictUndefined,
        trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True,
    )


def render(template: str, **context: Any) -> str:
    return _environment().get_template(template).render(**context)
