"""``harmonise template``, ``import-pathway`` and ``export-pathway``: a trust's pathway as a spreadsheet.

They use the store (``--database``) and write to it as the local administrator (audited as
``local-admin`` with the user, host and command), as ``load`` does. docs/spreadsheets.md is the
pathway lead's guide.
"""

from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from .app import DEFAULT_DATABASE, DatabaseOption, FormatOption, OutputFormat, app, err, out, print_json
from .store import open_store

if TYPE_CHECKING:  # the workbook and store modules are imported when a command runs, so --help answers at once
    from ..application.spreadsheets import ImportResult
    from ..spreadsheet import Sheets

WorkbookArgument = Annotated[Path, typer.Argument(help="The workbook to write (.xlsx).", dir_okay=False)]
ForceOption = Annotated[bool, typer.Option("--force", help="Replace FILE if it exists.")]


def _writable(path: Path, force: bool) -> None:
    """Stop (exit 2) before overwriting a workbook someone may have filled in, or writing what is not .xlsx."""
    if path.suffix.lower() != ".xlsx":
        err.print(f"{path}: the workbook must be an .xlsx file (e.g. {path.with_suffix('.xlsx').name})")
        raise typer.Exit(2)
    if path.exists() and not force:
        err.print(f"{path} exists: nothing was written (give --force to replace it, or another file name)")
        raise typer.Exit(2)


def _say_notes(sheets: "Sheets", output: OutputFormat) -> None:
    if output is OutputFormat.text and sheets.notes:
        out.print(f"[yellow]{len(sheets.notes)} step(s) have what a cell cannot show; the workbook keeps it as stored "
                  "and says so in the Note column and on the Instructions sheet:[/yellow]")
        for note in sheets.notes:
            out.print(f"  {note}")


@app.command("template")
def template_command(
    topic: Annotated[str, typer.Argument(help="Pathway topic code, e.g. tonsillectomy-follow-up.")],
    file: WorkbookArgument,
    trust: Annotated[str, typer.Option("--trust", help="The trust's ODS code, e.g. RHQ.")],
    database: DatabaseOption = DEFAULT_DATABASE,
    force: ForceOption = False,
    output: FormatOption = OutputFormat.text,
) -> None:
    """Write a workbook a pathway lead fills in: the trust's schedule for a topic, one row per step.

    If the store holds the trust's pathway for the topic, the workbook starts from it (its steps,
    the next version); otherwise from the trust, the topic, its index event and version 1.0.0.
    Drop-down lists come from the network's code systems; the Instructions sheet says how to fill
    it in. Import it with 'harmonise import-pathway FILE'.
    """
    from ..application.spreadsheets import template

    _writable(file, force)
    store = open_store(database, "template")
    try:
        made = template(store, topic, trust, date.today())
    except ValueError as exc:
        err.print(str(exc))
        raise typer.Exit(2) from None
    finally:
        store.close()
    file.write_bytes(made.workbook)
    if output is OutputFormat.json:
        print_json({"file": str(file), "prefilled_from": made.prefilled_from, "steps": len(made.sheets.steps),
                    "version": made.sheets.pathway["version"], "not_expressed": made.sheets.notes})
        return
    start = f"from {made.prefilled_from} ({len(made.sheets.steps)} step(s))" if made.prefilled_from else \
        "empty: the store has no pathway of this trust for this topic yet"
    out.print(f"Wrote {file}: {made.sheets.pathway['trust']}, {made.sheets.pathway['topic']}, version "
              f"{made.sheets.pathway['version'] or '(to fill in)'}, {start}.")
    _say_notes(made.sheets, output)
    out.print(f"Fill in the Pathway and Steps sheets, then run: harmonise import-pathway {file}")


def _result_json(result: "ImportResult", file: Path) -> dict[str, Any]:
    return {"ok": result.ok, "file": str(file), "change": result.change, "reference": result.reference,
            "replaces": result.replaces, "problems": [p.as_json() for p in result.problems],
            "warnings": result.warnings}


@app.command("import-pathway")
def import_pathway_command(
    file: Annotated[Path, typer.Argument(help="The filled-in workbook (.xlsx), or its Steps sheet as .csv.",
                                         exists=True, dir_okay=False)],
    database: DatabaseOption = DEFAULT_DATABASE,
    out_file: Annotated[Path | None, typer.Option(
        "--out", dir_okay=False, show_default=False,
        help="Write the PlanDefinition to this FHIR JSON file instead of storing it.")] = None,
    trust: Annotated[str | None, typer.Option("--trust", help="CSV only: the trust's ODS code.",
                                              show_default=False)] = None,
    topic: Annotated[str | None, typer.Option("--topic", help="CSV only: the pathway topic.",
                                              show_default=False)] = None,
    version: Annotated[str | None, typer.Option("--version", help="CSV only: the new version.",
                                                show_default=False)] = None,
    title: Annotated[str | None, typer.Option("--title", help="CSV only: the title (default: the stored one).",
                                              show_default=False)] = None,
    status: Annotated[str | None, typer.Option(
        "--status", help="CSV only: active, draft or retired (default: the stored one, else active).",
        show_default=False)] = None,
    output: FormatOption = OutputFormat.text,
) -> None:
    """Import a filled-in workbook as the trust's new version of its pathway for the topic.

    Every cell is checked; if anything is wrong, nothing is imported and every problem is listed
    by sheet, row and column (exit 1). The pathway is stored with the id the trust's pathway for
    the topic already has, else <ods>-<topic>; a workbook that says what the store holds changes
    nothing. With --out, the PlanDefinition is written to a file instead. A CSV of the Steps sheet
    needs --trust, --topic and --version (the Pathway sheet's other values come from the stored
    pathway, else the template's).
    """
    from ..application.spreadsheets import csv_pathway_fields, import_pathway
    from ..fhirformat import to_json
    from ..spreadsheet import read_csv, read_workbook

    suffix = file.suffix.lower()
    if suffix not in (".xlsx", ".csv"):
        err.print(f"{file}: give an .xlsx workbook or a .csv of its Steps sheet")
        raise typer.Exit(2)
    if suffix == ".xlsx" and any(v is not None for v in (trust, topic, version, title, status)):
        err.print("--trust, --topic, --version, --title and --status are for a CSV: a workbook says them on its "
                  "Pathway sheet")
        raise typer.Exit(2)
    if suffix == ".csv" and (trust is None or topic is None or version is None):
        err.print("a CSV of the Steps sheet needs --trust, --topic and --version")
        raise typer.Exit(2)
    store = open_store(database, "import-pathway")
    try:
        if suffix == ".xlsx":
            rows = read_workbook(file.read_bytes())
        else:
            assert trust is not None and topic is not None and version is not None
            try:
                text = file.read_bytes().decode("utf-8-sig")
            except UnicodeDecodeError:
                err.print(f"{file}: the CSV is not UTF-8 text (save it as 'CSV UTF-8')")
                raise typer.Exit(1) from None
            rows = read_csv(text, csv_pathway_fields(store, trust, topic, version, date.today(), title=title,
                                                     status=status))
        result = import_pathway(store, rows, write=out_file is None)
    finally:
        store.close()
    if result.ok and out_file is not None and result.resource is not None:
        out_file.write_bytes(to_json(result.resource))
    if output is OutputFormat.json:
        print_json({**_result_json(result, file), "out": str(out_file) if out_file else None})
        raise typer.Exit(0 if result.ok else 1)
    if not result.ok:
        out.print(f"[red]{file}: {len(result.problems)} problem(s); nothing was imported:[/red]")
        for problem in result.problems:
            out.print(f"  {problem}")
        raise typer.Exit(1)
    resource = result.resource or {}
    what = f"{resource.get('id')} version {resource.get('version')}"
    if out_file is not None:
        out.print(f"Wrote {what} to {out_file} (not stored).")
    elif result.change == "unchanged":
        out.print(f"{file} says what the store holds ({result.reference}): nothing changed.")
    else:
        replaced = f", replacing {result.replaces}" if result.replaces else ""
        out.print(f"Imported {what} as {result.reference} ({result.change}{replaced}).")
    for warning in result.warnings:
        out.print(f"[yellow]  {warning}[/yellow]")


@app.command("export-pathway")
def export_pathway_command(
    resource_id: Annotated[str, typer.Argument(metavar="ID", help="The stored pathway's id, e.g. rff-tia-follow-up.")],
    file: WorkbookArgument,
    database: DatabaseOption = DEFAULT_DATABASE,
    force: ForceOption = False,
    output: FormatOption = OutputFormat.text,
) -> None:
    """Write a stored trust pathway as the workbook 'harmonise template' makes, filled in.

    Importing it unchanged changes nothing. A step whose timing (or participants, or conditions)
    no cell can say reads 'as stored', kept as the store has it, with the reason in its Note and on
    the Instructions sheet; no step is left out.
    """
    from ..application.spreadsheets import export_pathway
    from ..store import Gone, NotFound

    _writable(file, force)
    store = open_store(database, "export-pathway")
    try:
        exported = export_pathway(store, resource_id)
    except (NotFound, Gone, ValueError) as exc:
        err.print(str(exc))
        raise typer.Exit(1) from None
    finally:
        store.close()
    file.write_bytes(exported.workbook)
    if output is OutputFormat.json:
        print_json({"file": str(file), "reference": exported.reference, "steps": len(exported.sheets.steps),
                    "not_expressed": exported.sheets.notes})
        return
    out.print(f"Wrote {file} from {exported.reference}: version {exported.sheets.pathway['version']}, "
              f"{len(exported.sheets.steps)} step(s).")
    _say_notes(exported.sheets, output)


__all__ = ["export_pathway_command", "import_pathway_command", "template_command"]
