"""Each package under ``service/`` says what it offers: an ``__all__``, every name of which resolves.

A name resolves as ``from package import name`` would: an attribute (``application`` hands its
use cases out lazily, PEP 562) or a submodule (``site``, ``monitoring`` and ``conformance`` offer
modules). Importing a package this way may import its dependencies, so this runs in-process with
no database, server or browser.
"""

import importlib
import pkgutil

import pytest

import service

pytestmark = pytest.mark.fast  # no database, server process or browser: make test-fast runs it

#: Alembic's folders of migration scripts, read by alembic, not imported as an API.
NOT_AN_API = {"service.store.migrations"}

PACKAGES = ["service"] + sorted(
    info.name for info in pkgutil.walk_packages(service.__path__, "service.")
    if info.ispkg and not any(info.name == skip or info.name.startswith(skip + ".") for skip in NOT_AN_API)
)


def test_every_package_is_found() -> None:
    assert {"service", "service.application", "service.cli", "service.site", "service.site.pages"} <= set(PACKAGES)


@pytest.mark.parametrize("name", PACKAGES)
def test_package_names_its_public_face(name: str) -> None:
    package = importlib.import_module(name)
    public = getattr(package, "__all__", None)
    assert public, f"{name} has no __all__"
    assert len(set(public)) == len(public), f"{name}.__all__ names something twice"
    unresolved = []
    for attribute in public:
        try:
            exec(f"from {name} import {attribute}", {})  # noqa: S102 (names from the package's own __all__)
        except ImportError:
            unresolved.append(attribute)
    assert unresolved == [], f"{name}.__all__ names {unresolved}, which do not resolve"
