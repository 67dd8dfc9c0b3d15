"""``harmonise package --out DIR``: the FHIR NPM package of the profiles, terminology and active guidelines.

The guidelines are the store's active network guidelines (``--database``, like every command that
reads content), or those of a folder with ``--guidelines``. ``harmonise publish`` writes the same
package into the site it builds, so the site's integrators page always offers it for download.
"""

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from .app import DEFAULT_DATABASE, DatabaseOption, FormatOption, OutputFormat, app, err, out, print_json
from .store import open_store

if TYPE_CHECKING:
    from ..fhirformat import JsonDict


def _stored_guidelines(database: str) -> "list[JsonDict]":
    from ..pathway import PathwayKind
    from ..store import parse_search
    from ..store.query import MAX_COUNT

    store = open_store(database, "package")
    try:
        query = parse_search("PlanDefinition", [("status", "active"), ("_count", str(MAX_COUNT))])
        return [version.existing() for version in store.matching(query)
                if PathwayKind.of_resource(version.resource) is PathwayKind.NETWORK_GUIDELINE]
    finally:
        store.close()


def _folder_guidelines(folder: Path) -> "list[JsonDict]":
    from .. import loader
    from ..pathway import PathwayKind
    from ..problems import Severity

    result = loader.load([folder])
    errors = [p for p in result.problems if p.severity is Severity.ERROR]
    if errors:
        for problem in errors[:10]:
            err.print(f"{problem.file or ''} {problem.path}: {problem.message}")
        raise typer.Exit(1)
    return [item.data for item in result.resources
            if item.pathway.kind is PathwayKind.NETWORK_GUIDELINE and item.data.get("status") == "active"]


def active_guidelines(database: str, guidelines: Path | None) -> "list[JsonDict]":
    """The active network guidelines the package ships: the store's, or a folder's."""
    return _folder_guidelines(guidelines) if guidelines is not None else _stored_guidelines(database)


@app.command()
def package(
    folder: Annotated[Path, typer.Option("--out", help="Folder to write package.tgz to (created if missing).",
                                         file_okay=False)],
    database: DatabaseOption = DEFAULT_DATABASE,
    guidelines: Annotated[Path | None, typer.Option(
        "--guidelines", help="Read the active guidelines from this folder instead of the store.",
        file_okay=False)] = None,
    output: FormatOption = OutputFormat.text,
) -> None:
    """Write the FHIR NPM package (package.tgz): profiles, code systems, value sets, active guidelines."""
    from ..conformance import package as fhir_package

    chosen = active_guidelines(database, guidelines)
    try:
        target = fhir_package.write_package(folder, sorted(chosen, key=lambda g: str(g.get("id"))))
    except ValueError as exc:
        err.print(str(exc))
        raise typer.Exit(1) from None
    resources = len(fhir_package.conformance_resources()) + len(chosen)
    if output is OutputFormat.json:
        print_json({"ok": True, "package": str(target), "name": fhir_package.NAME,
                    "resources": resources, "guidelines": len(chosen)})
        return
    out.print(f"Wrote {target}: {fhir_package.NAME}, {resources} resources ({len(chosen)} active guidelines).")
