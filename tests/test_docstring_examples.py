"""The worked examples in the service's docstrings are run, so that an example never goes stale."""

import doctest
import importlib
import pkgutil

import pytest

import service

pytestmark = pytest.mark.fast  # no database, server process or browser: make test-fast runs it

#: Modules that run only inside their framework (MkDocs' hooks, Alembic's environment) are not imported here.
_FRAMEWORK_ONLY = ("service.site.hooks", "service.store.migrations")
MODULES = sorted(info.name for info in pkgutil.walk_packages(service.__path__, "service.")
                 if not info.name.startswith(_FRAMEWORK_ONLY))


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples_hold(name: str) -> None:
    module = importlib.import_module(name)
    failed, _attempted = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert failed == 0
