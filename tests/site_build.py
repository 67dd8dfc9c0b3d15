"""One build of the published site per test session, shared by the site tests.

The as-of day is fixed, so the register's expiry flags in the hand-checked values do not
change with the calendar.
"""

from datetime import date
from pathlib import Path

import pytest

from service.site.build import build_site
from service.site.settings import SiteSettings

from .conftest import GUIDELINES, PATHWAYS, REPOSITORY

AS_OF = date(2026, 11, 22)
CONFIG = REPOSITORY / "mkdocs.yml"
SETTINGS = SiteSettings(PATHWAYS, GUIDELINES, AS_OF, root=REPOSITORY)

_built: dict[str, Path] = {}


def built_site(factory: pytest.TempPathFactory) -> Path:
    """The site built from the repository's content, built on first use."""
    if "site" not in _built:
        # A sub-folder, so that the browser tests can serve the site under a sub-path.
        out = factory.mktemp("published") / "harmonise"
        build_site(SETTINGS, out, CONFIG)
        _built["site"] = out
    return _built["site"]
