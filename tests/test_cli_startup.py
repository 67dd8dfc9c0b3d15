"""The command line answers at once: ``--help`` imports none of what the commands use to work.

A command module's top level holds typer, rich's console and the option types; the store, the
loader, the application layer, scipy, SQLAlchemy, MkDocs, pydantic and fhir.resources are imported when a
command runs (service/cli/app.py). Timed in ``make bench`` (docs/performance.md); held here by
what is imported, which does not depend on how busy the machine is.
"""

import json
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
