"""Build progress, for whoever is listening (``harmonise publish`` shows a bar; ``mkdocs build`` nobody).

MkDocs has no progress callback of its own, so the hooks report each page here as it is written.

Private to ``service.site``: only its own modules import this one.
"""

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Protocol


class Listener(Protocol):
    def pages(self, total: int) -> None:
        """The number of pages the build will write is now known."""

    def page_done(self, name: str) -> None:
        """One more page was written."""


class _Silent:
    def pages(self, total: int) -> None:
        pass

    def page_done(self, name: str) -> None:
        pass


_listener: Listener = _Silent()


def current() -> Listener:
    return _listener


@contextmanager
def listening(listener: Listener) -> Iterator[None]:
    """Send progress to ``listener`` while the block runs."""
    global _listener
    previous, _listener = _listener, listener
    try:
        yield
    finally:
        _listener = previous
