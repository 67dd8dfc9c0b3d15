"""The ``harmonise`` command (BRIEF: command line contract).

Exit codes: 0 success, 1 the input has problems, 2 usage errors (click's own).
Output for people goes through rich; ``--format json`` prints one JSON document on stdout.

Every module of this package keeps its top level light (typer, rich's console, the option types):
``harmonise --help`` imports them all, so a command imports what it needs (the store, the loader,
the application layer) when it runs. ``tests/test_cli_startup.py`` holds them to it.
"""

import json
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from typer._coercion import PassThroughRuntimeParam
from typer.core import TyperGroup, TyperOption

from .. import __version__

if TYPE_CHECKING:
    from rich.progress import Progress, TaskID
    from typer import _click

    from .. import loader

REPOSITORY = Path(__file__).resolve().parents[2]


class CommandGroup(TyperGroup):
    """A group whose own ``--help``, when not given, costs nothing.

    typer (0.29) coerces every option's value through a pydantic ``TypeAdapter`` built on first use,
    even a group's ``--help`` flag left out of ``harmonise X --help``: that imports pydantic, 60 ms
    of the 0.3 s a subcommand's help may take. A flag's value is already a bool or None, so it needs
    no adapter; ``tests/test_cli_startup.py`` fails if pydantic comes back.
    """

    def get_help_option(self, ctx: "_click.Context") -> "TyperOption | None":
        option = super().get_help_option(ctx)
        if option is not None and option._runtime_param is None:
            option._runtime_param = PassThroughRuntimeParam(option.type_descriptor.parameter_info, bool)
        return option


app = typer.Typer(
    name="harmonise",
    cls=CommandGroup,
    help="Compare NHS trusts' care pathways, agree network guidelines, and publish them.",
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode=None,
)
out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False)


class OutputFormat(StrEnum):
    text = "text"
    json = "json"


def default_folder(name: str) -> Path:
    """The repository's own folder (editable installs), else the one in the working directory."""
    candidate = REPOSITORY / name
    if not candidate.is_dir():
        return Path(name)
    return candidate.relative_to(Path.cwd()) if candidate.is_relative_to(Path.cwd()) else candidate


PathwaysOption = Annotated[
    Path,
    typer.Option(
        "--pathways", help="Folder of trust pathways.", show_default="the repository's pathways/", file_okay=False
    ),
]
GuidelinesOption = Annotated[
    Path,
    typer.Option(
        "--guidelines",
        help="Folder of network guidelines and the variation register.",
        show_default="the repository's guidelines/",
        file_okay=False,
    ),
]
DEFAULT_DATABASE = "sqlite:///harmonise.db"
DatabaseOption = Annotated[
    str,
    typer.Option(
        "--database",
        envvar="HARMONISE_DATABASE_URL",
        help="Store URL: sqlite:///FILE (embedded, the default) or postgresql+psycopg://USER@HOST/DB.",
    ),
]
FormatOption = Annotated[
    OutputFormat, typer.Option("--format", help="text for people, json for machines.", case_sensitive=False)
]


def print_json(document: object) -> None:
    """One JSON document on stdout: coloured and indented on a terminal, plain (and fast) when piped."""
    text = document if isinstance(document, str) else json.dumps(document, ensure_ascii=False, default=str)
    if out.is_terminal:
        out.print_json(text)
    else:
        sys.stdout.write(text + "\n")
        sys.stdout.flush()


def _version(value: bool) -> None:
    if value:
        out.print(f"harmonise {__version__}")
        raise typer.Exit()


@app.callback()
def main_callback(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version and exit.")
    ] = False,
) -> None:
    """Harmonise: clinical pathway and guideline harmonisation for NHS hospital networks."""


class FileProgress:
    """What a loader reports as it goes: how many files it found, then each file read."""

    def __init__(self, progress: "Progress", task: "TaskID") -> None:
        self._progress, self._task = progress, task

    def found(self, count: int) -> None:
        self._progress.update(self._task, total=count)

    def read(self, _path: Path) -> None:
        self._progress.advance(self._task)


@contextmanager
def file_progress(quiet: bool) -> Iterator[FileProgress]:
    """A progress bar over files being read, on a terminal (stderr, gone when done)."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        console=err,
        transient=True,
        disable=quiet or not err.is_terminal,
    ) as progress:
        yield FileProgress(progress, progress.add_task("Reading FHIR files", total=None))


def load_with_progress(paths: list[Path], quiet: bool) -> "loader.LoadResult":
    """Load files with a progress bar on a terminal."""
    from .. import loader

    with file_progress(quiet) as progress:
        return loader.load(paths, on_file=progress.read, on_found=progress.found)


def main() -> None:
    """Entry point of the ``harmonise`` script."""
    # numpy's OpenBLAS starts a thread per core as numpy is imported. Harmonise does no linear algebra (the
    # comparison's arrays are element-wise, its assignments minilsap's own C), so one thread will do, and a
    # comparing command starts about 40 ms sooner (docs/performance.md). A value the user set stands; the
    # library itself leaves the environment alone (this is the command's own process).
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    try:
        app()
    except KeyboardInterrupt:
        err.print("Interrupted.")
        sys.exit(130)
