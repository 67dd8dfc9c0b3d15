"""Build the site from Python: the one way ``harmonise publish`` and the tests build it.

It loads the repository's ``mkdocs.yml``, puts the settings where the hooks read them
(``extra.harmonise``), pins the build's date to the register's as-of day so that the same input
gives the same bytes (``SOURCE_DATE_EPOCH``: sitemap dates and the gzip header), and runs MkDocs.
"""

import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from mkdocs.commands.build import build
from mkdocs.config import load_config

from . import progress
from .content import SiteContent
from .events import BUILD
from .settings import EXTRA_KEY, SiteSettings, epoch_of


@contextmanager
def _source_date(epoch: int) -> Iterator[None]:
    previous = os.environ.get("SOURCE_DATE_EPOCH")
    os.environ["SOURCE_DATE_EPOCH"] = str(epoch)
    try:
        yield
    finally:
        if previous is None:
            del os.environ["SOURCE_DATE_EPOCH"]
        else:
            os.environ["SOURCE_DATE_EPOCH"] = previous


@contextmanager
def _quiet_mkdocs() -> Iterator[None]:
    """MkDocs logs every step at INFO; a progress bar says it better. Warnings still show."""
    logger = logging.getLogger("mkdocs")
    level = logger.level
    logger.setLevel(logging.WARNING)
    try:
        yield
    finally:
        logger.setLevel(level)


def build_site(settings: SiteSettings, site_dir: Path, config_file: Path,
               listener: progress.Listener | None = None) -> SiteContent:
    """Build the site into ``site_dir``; returns the content it was built from.

    Raises ``events.ContentProblems`` (via MkDocs' ``Abort``) when the content has errors; then
    ``BUILD.content.problems`` says which.
    """
    BUILD.content = None
    config = load_config(str(config_file), site_dir=str(site_dir.resolve()))
    config.extra[EXTRA_KEY] = settings.to_extra()
    with _source_date(epoch_of(settings.as_of)), _quiet_mkdocs(), progress.listening(listener or progress.current()):
        build(config)
    assert BUILD.content is not None
    return BUILD.content
