"""``harmonise import-activity`` and ``harmonise monitor``: activity in, early-warning signals out."""

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from .app import DEFAULT_DATABASE, DatabaseOption, FormatOption, OutputFormat, app, default_folder, out, print_json
from .compare import AsOfOption, as_of_date
from .sources import FromGuidelinesOption, FromPathwaysOption, content_source, say_source
from .store import open_store

if TYPE_CHECKING:
    from ..problems import Problem

MeasuresOption = Annotated[
    Path,
    typer.Option(
        "--measures",
        help="Folder of the network's FHIR Measure definitions.",
        file_okay=False,
        show_default="the repository's activity/measures/",
    ),
]


def _print_problems(problems: "list[Problem]") -> None:
    for problem in problems:
        out.print(f"  [red]error[/red] {problem.file}: {problem.path}: {problem.message}")


@app.command("import-activity")
def import_activity(
    csv_file: Annotated[
        Path,
        typer.Argument(
            help="CSV with columns trust,topic,measure,period,value.", exists=True, dir_okay=False, show_default=False
        ),
    ],
    measures: MeasuresOption = default_folder("activity/measures"),
    database: DatabaseOption = DEFAULT_DATABASE,
    output: FormatOption = OutputFormat.text,
) -> None:
    """Import monthly activity from a CSV as FHIR MeasureReports, all rows or none.

    Columns: trust (ODS code), topic (pathway topic), measure (a Measure id), period (YYYY-MM),
    value; other columns are ignored. Every row is checked first: if any is wrong, each problem
    is listed with its row, column and value, nothing is imported, and the exit code is 1.
    Importing the same file again changes nothing.
    """
    from ..application.activity import import_activity as store_activity
    from ..monitoring.activity import parse_csv, read_measures

    known = read_measures(measures)
    values, problems = parse_csv(csv_file.read_text("utf-8-sig"), known, str(csv_file))
    if problems:
        if output is OutputFormat.json:
            print_json({"ok": False, "imported": 0, "problems": [p.model_dump(mode="json") for p in problems]})
        else:
            out.print(f"{csv_file}: {len(problems)} problem(s); nothing was imported.")
            _print_problems(problems)
        raise typer.Exit(1)
    store = open_store(database, "import-activity")
    try:
        report = store_activity(store, values, known, measures)
    finally:
        store.close()
    if output is OutputFormat.json:
        print_json(
            {
                "ok": True,
                "rows": len(values),
                "created": report.created,
                "updated": report.updated,
                "unchanged": report.unchanged,
            }
        )
    else:
        out.print(
            f"Imported {len(values)} row(s) from {csv_file} as MeasureReports: {report.created} new, "
            f"{report.updated} changed, {report.unchanged} unchanged ({report.measures} measure(s))."
        )


@app.command()
def monitor(
    database: DatabaseOption = DEFAULT_DATABASE,
    pathways: FromPathwaysOption = None,
    guidelines: FromGuidelinesOption = None,
    as_of: AsOfOption = None,
    output: FormatOption = OutputFormat.text,
) -> None:
    """List the open early-warning signals, newest first, with what to look at.

    Reads the store: every pathway version (run 'harmonise load' first), the variation register
    and the imported activity ('harmonise import-activity'); or the folders given with --pathways
    and --guidelines (and the repository's activity/). Signals: special-cause concern in a measure
    (Making Data Count rules), a pathway that moved away from the guideline it adopted, a guideline
    past its review date, and a warranted-variation justification past its review date.
    """
    from rich.table import Table

    from .. import application
    from ..monitoring.signals import topic_title

    today = as_of_date(as_of)
    with content_source(database, pathways, guidelines, output is OutputFormat.json, "monitor") as source:
        watched = application.watch(source, today)
    result = watched.monitoring
    if output is OutputFormat.json:
        print_json({"as_of": today.isoformat(), "source": watched.source,
                    "signals": [s.model_dump(mode="json") for s in result.signals]})
        return
    say_source(source, empty=False)
    if not result.charts:
        out.print(
            "No activity in the store yet: run 'harmonise import-activity activity/sample-activity.csv' "
            "to chart measures."
        )
    out.print(
        f"{len(result.signals)} open signal(s) as of {today.isoformat()}, newest first "
        f"({len(result.charts)} measure series charted)."
    )
    table = Table(show_lines=True)
    for column in ("Since", "Signal", "Where", "What happened", "Look at"):
        table.add_column(column)
    for signal in result.signals:
        where = " · ".join(part for part in (signal.trust, topic_title(signal.topic)) if part)
        table.add_row(
            signal.raised_on.isoformat(),
            f"{signal.kind.value}\n{signal.title}",
            where,
            f"{signal.detail}\n[dim]from {signal.source}[/dim]",
            signal.look_at,
        )
    out.print(table)
