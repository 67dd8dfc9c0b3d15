"""The command line answers at once: ``--help`` imports none of what the commands use to work.

A command module's top level holds typer, rich's console and the option types; the store, the
loader, the application layer, scipy, SQLAlchemy, MkDocs, pydantic and fhir.resources are imported when a
command runs (service/cli/app.py). Timed in ``make bench`` (docs/performance.md); held here by
what is imported, which does not depend on how busy the machine is.
"""

import json
import os
import subprocess
import sys

import pytest

from service.cli import command_names

pytestmark = pytest.mark.fast  # no database, server process or browser: make test-fast runs it

HEAVY = ("sqlalchemy", "scipy", "numpy", "mkdocs", "fhir", "alembic", "jwt", "fastapi", "pydantic",
         "service.store", "service.loader", "service.application.loading", "service.application.sources",
         "service.variation.report")


COMMANDS = command_names()  # read from the app, so a new command is checked too

PROGRAM = """
import io, json, sys
from contextlib import redirect_stdout
from service.cli import main
sys.argv = ["harmonise", *sys.argv[1:]]
with redirect_stdout(io.StringIO()) as text:
    try:
        main()
    except SystemExit as stop:
        code = stop.code
heavy = [name for name in sys.modules if name.split(".")[0] in {h.split(".")[0] for h in HEAVY} and
         any(name == h or name.startswith(h + ".") for h in HEAVY)]
print(json.dumps({"code": code, "help": text.getvalue(), "heavy": sorted(heavy)}))
"""


def test_every_command_is_checked() -> None:
    assert {"", "compare", "validate", "register add", "user add"} <= set(COMMANDS)


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: c or "harmonise")
def test_help_imports_nothing_heavy(command: str) -> None:
    done = subprocess.run([sys.executable, "-c", f"HEAVY = {HEAVY!r}\n{PROGRAM}", *command.split(), "--help"],
                          capture_output=True, text=True, check=True)
    answer = json.loads(done.stdout.strip().splitlines()[-1])
    assert answer["code"] in (0, None), done.stderr
    assert "Usage:" in answer["help"]
    assert answer["heavy"] == [], f"'harmonise {command} --help' imported {answer['heavy']}"


@pytest.mark.parametrize(("given", "expected"), [(None, "1"), ("4", "4")])
def test_a_command_runs_with_one_openblas_thread_unless_the_user_set_a_number(
        given: str | None, expected: str) -> None:
    """numpy's OpenBLAS reads OPENBLAS_NUM_THREADS as numpy is imported; the command sets it first."""
    environment = {k: v for k, v in os.environ.items() if k != "OPENBLAS_NUM_THREADS"}
    if given is not None:
        environment["OPENBLAS_NUM_THREADS"] = given
    program = ("import importlib, os, sys\ncli = importlib.import_module('service.cli.app')\n"
               "cli.app = lambda: print(os.environ.get('OPENBLAS_NUM_THREADS'))\n"
               "cli.main()\nprint('numpy' in sys.modules)")
    shown = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True, check=True,
                           env=environment).stdout.split()
    assert shown == [expected, "False"]  # set before anything imported numpy
