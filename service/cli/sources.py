"""What a reading command reads: the store by default, or folders named with ``--pathways``/``--guidelines``."""

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from .app import default_folder, err, file_progress
from .store import open_store

if TYPE_CHECKING:
    from ..application import Source

FromPathwaysOption = Annotated[
    Path | None,
    typer.Option("--pathways", file_okay=False, show_default=False,
                 help="Read trust pathways from this folder instead of the store (what-if, incoming content)."),
]
FromGuidelinesOption = Annotated[
    Path | None,
    typer.Option("--guidelines", file_okay=False, show_default=False,
                 help="Read guidelines and the variation register from this folder instead of the store."),
]


@contextmanager
def content_source(database: str, pathways: Path | None, guidelines: Path | None, quiet: bool,
                   command: str) -> "Iterator[Source]":
    """The store at ``database``, or, when either folder is named, the folders (the other one defaulting to
    the repository's), with a progress bar over the files."""
    from ..application import FolderSource, StoreSource

    if pathways is None and guidelines is None:
        store = open_store(database, command)
        try:
            yield StoreSource(store)
        finally:
            store.close()
        return
    with file_progress(quiet) as progress:
        yield FolderSource(pathways or default_folder("pathways"), guidelines or default_folder("guidelines"),
                           activity=default_folder("activity"), on_found=progress.found, on_file=progress.read)


def say_source(source: "Source", empty: bool, quiet: bool = False) -> None:
    """Tell the reader what the figures come from (not when ``quiet``: JSON carries it); when the store
    is empty, how to fill it."""
    from ..application import FolderSource

    if isinstance(source, FolderSource) and not quiet:
        err.print(f"[dim]Showing {source.description}.[/dim]")
    elif empty:
        err.print(f"[yellow]{source.description} holds no pathways yet: run 'harmonise load' to import the "
                  "folders, or give --pathways and --guidelines to read files directly.[/yellow]")
