"""The ``harmonise`` command: one module per group of subcommands, all on one Typer app."""

from . import (  # noqa: F401  (register the commands)
    compare,
    governance,
    monitor,
    package,
    publish,
    spreadsheet,
    store,
    token,
    users,
    validate,
)
from .app import app, main

__all__ = ["app", "main"]
