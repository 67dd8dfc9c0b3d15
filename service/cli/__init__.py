"""The ``harmonise`` command: one module per group of subcommands, all on one Typer app."""

from . import (  # noqa: F401  (register the commands)
    compare,
    governance,
    history,
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

__all__ = ["app", "command_names", "main"]


def command_names() -> list[str]:
    """Every command and group of ``harmonise`` ("" for the program, "register add" for a subcommand)."""
    import typer.main

    def walk(command: object, path: str) -> list[str]:
        children = getattr(command, "commands", {})
        return [path] + [name for key in sorted(children) for name in walk(children[key], f"{path} {key}".strip())]

    return walk(typer.main.get_command(app), "")
