"""The ``harmonise`` command: one module per group of subcommands, all on one Typer app."""

from . import validate  # noqa: F401  (registers the command)
from .app import app, main

__all__ = ["app", "main"]
