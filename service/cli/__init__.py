"""The ``harmonise`` command: one module per group of subcommands, all on one Typer app."""

from . import compare, monitor, package, publish, spreadsheet, store, token, validate  # noqa: F401  (register the commands)
from .app import app, main

__all__ = ["app", "main"]
