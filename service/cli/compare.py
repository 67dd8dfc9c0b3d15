"""``harmonise compare`` and ``harmonise propose``: the variation report and consensus proposals."""

from datetime import date
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from .app import DEFAULT_DATABASE, DatabaseOption, FormatOption, OutputFormat, app, err, out, print_json
from .sources import FromGuidelinesOption, FromPathwaysOption, content_source, say_source

if TYPE_CHECKING:
    from ..problems import Problem
    from ..variation.report import Cell, Classification, TopicReport, VariationReport


@cache
def labels() -> "dict[Classification, tuple[str, str]]":
    """Each classification's words and colour in the terminal."""
    from ..variation.report import Classification

    return {
        Classification.WITHIN_TOLERANCE: ("within tolerance", "green"),
        Classification.WARRANTED: ("warranted", "cyan"),
        Classification.UNWARRANTED: ("UNWARRANTED", "bold red"),
    }

AsOfOption = Annotated[
    str | None,
    typer.Option("--as-of", help="Check register review dates against this day (YYYY-MM-DD).", show_default="today"),
]
UseOption = Annotated[
    list[str] | None,
    typer.Option(
        "--use",
        help="Compare this pathway version instead of the current one (url|version; repeatable).",
        show_default=False,
    ),
]


def as_of_date(value: str | None) -> date:
    if value is None:
        return date.today()
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter(f"'{value}' is not a date like 2026-11-22", param_hint="--as-of") from None


def _report_problems(problems: "list[Problem]") -> None:
    if problems:
        err.print(
            f"[yellow]{len(problems)} file problem(s) kept some resources out of the comparison; "
            "run 'harmonise validate' for details.[/yellow]"
        )


@app.command()
def compare(
    topic: Annotated[
        str | None, typer.Argument(help="Pathway topic code, e.g. tonsillectomy-follow-up.", show_default=False)
    ] = None,
    all_topics: Annotated[bool, typer.Option("--all", help="Compare every topic.")] = False,
    database: DatabaseOption = DEFAULT_DATABASE,
    pathways: FromPathwaysOption = None,
    guidelines: FromGuidelinesOption = None,
    as_of: AsOfOption = None,
    use: UseOption = None,
    output: FormatOption = OutputFormat.text,
) -> None:
    """Show how the trusts' pathways for a topic differ, from the guideline and from each other.

    Reads the store (the network's record; --database), or the folders given with --pathways and
    --guidelines. Each difference is within tolerance (inside the guideline's window, or an
    optional step), warranted (the variation register covers it and its review date has not
    passed), or unwarranted. Exit 1 if the input has problems or the topic is unknown.
    """
    from .. import application

    if (topic is None) == (not all_topics):
        raise typer.BadParameter("give a TOPIC or --all (not both)")
    today = as_of_date(as_of)
    quiet = output is OutputFormat.json
    with content_source(database, pathways, guidelines, quiet, "compare") as source:
        comparison = application.compare(source, None if topic is None else [topic], today, chosen=use or [])
    topics, problems = comparison.topics.content, comparison.problems
    say_source(source, empty=not topics, quiet=quiet)
    if not topics:
        raise typer.Exit(1)
    if topic is not None and topic not in topics:
        known = ", ".join(sorted(topics)) or "none"
        err.print(f"Unknown topic '{topic}'. Topics with pathways: {known}")
        raise typer.Exit(1)
    report = comparison.report
    if output is OutputFormat.json:
        print_json(_report_json(report, comparison.topics.source))
    else:
        for topic_report in report.topics:
            print_topic(topic_report, report)
        _report_problems(problems)
    raise typer.Exit(1 if problems else 0)


def _report_json(report: "VariationReport", source: str) -> str:
    """The report as ``$compare`` gives it, and what it was read from (``source``). pydantic writes it straight
    to JSON: building its dicts for ``json.dumps`` took four times as long on 200 trusts (a megabyte of JSON),
    and left the garbage collector those dicts to walk."""
    from pydantic_core import to_json

    return to_json({**dict(report), "source": source}).decode()


def _cell_text(cell: "Cell") -> str:
    """A matrix cell: its timing as written ("days 0-14"), then its classification; a timing that cannot
    be compared says so and why, and is never called a match."""
    from rich.markup import escape

    if cell.classification:
        text, style = labels()[cell.classification]
        label = f"\n[{style}]{text}[/{style}]"
    else:
        label = "" if cell.not_comparable else "\n[green]matches[/green]"
    when = cell.when or (", ".join(str(d) for d in cell.days) if cell.days else "?")
    return f"{escape(when)}{label}"


def _window(window: tuple[float, float] | None) -> str:
    return f"days {window[0]:g}-{window[1]:g}" if window else "no window"


def print_topic(report: "TopicReport", whole: "VariationReport") -> None:
    """The plain-words terminal report of one topic."""
    from rich.table import Table

    from .. import terminology

    network = terminology.code_system("http://harmonise.example.org/fhir/CodeSystem/hosted-network")
    out.rule(f"[bold]{report.title}[/bold]")
    out.print(
        f"Topic {report.topic} · {network.display(report.network or '')} network · "
        f"timing counted from: {report.index_event}"
    )
    if report.guideline:
        out.print(f'Compared with the agreed network guideline "{report.guideline_title}" ({report.guideline}).')
    else:
        extra = (
            f' A draft guideline ("{report.guideline_title}", {report.draft_guideline}) is under discussion '
            "but not agreed, so it is not used to judge trusts."
            if report.draft_guideline
            else ""
        )
        out.print(
            "[bold]No agreed guideline[/bold]: each trust is compared with the network consensus "
            f"(the steps most trusts have, at the median day).{extra}"
        )
    out.print(f"Register review dates checked as of {whole.as_of.isoformat()}.\n")

    trusts = Table(title="Trusts", title_justify="left")
    for column in (
        "Trust",
        "Scheduled contacts",
        "By mode",
        "Last step (day)",
        "Unwarranted",
        "Distance from guideline",
        "Distance from network",
    ):
        trusts.add_column(column, justify="left" if column in ("Trust", "By mode") else "right")
    for t in report.trusts:
        trusts.add_row(
            f"{t.ods} {t.name}",
            str(t.contacts),
            ", ".join(f"{n} {m}" for m, n in t.contacts_by_mode.items()),
            str(t.length_days if t.length_days is not None else "?"),
            str(t.unwarranted),
            f"{t.distance_from_guideline.total:.2f}" if t.distance_from_guideline else "-",
            f"{t.distance_from_network.total:.2f}",
        )
    out.print(trusts)

    ods = [t.ods for t in report.trusts]
    matrix = Table(title="Steps: the day each trust does it, and how it compares", title_justify="left")
    matrix.add_column("Step (" + ("guideline" if report.guideline else "consensus") + " window)")
    matrix.add_column("Spread (days)", justify="right")
    for code in ods:
        matrix.add_column(code, justify="center")
    for step in report.steps:
        label = (
            f"{step.title}\n{step.mode}, {_window(step.window)}, {step.required}"
            if step.in_reference
            else f"Extra: {step.title}\n{step.mode}"
        )
        spread = f"{step.timing.min}-{step.timing.max}" if step.timing else "-"
        cells = []
        for code in ods:
            cell = step.cells.get(code)
            if cell is None:
                cells.append(
                    "[red]missing[/red]"
                    if step.in_reference and step.required in ("must", "must-unless-documented")
                    else "-"
                )
                continue
            cells.append(_cell_text(cell))
        matrix.add_row(label, spread, *cells)
    out.print(matrix)

    _print_differences(report)
    _print_sources(report)


def _print_differences(report: "TopicReport") -> None:
    from ..variation.report import Classification

    groups = [
        (c, [d for d in report.differences if d.classification is c])
        for c in (Classification.UNWARRANTED, Classification.WARRANTED, Classification.WITHIN_TOLERANCE)
    ]
    for classification, items in groups:
        text, style = labels()[classification]
        out.print(f"\n[{style}]{text.capitalize()} differences: {len(items)}[/{style}]")
        if classification is Classification.WITHIN_TOLERANCE:
            out.print("  (listed in --format json)" if items else "")
            continue
        for d in items:
            flag = " [bold red](register entry EXPIRED)[/bold red]" if d.expired else ""
            out.print(f"  {d.trust} · {d.step or 'extra step'} · {d.dimension.value}: {d.detail}{flag}")
            out.print(f"      [dim]from {d.source} in {d.pathway}[/dim]")
            if d.justification:
                j = d.justification
                out.print(
                    f"      [dim]register: {j.rationale} (agreed by {j.agreed_by} on {j.agreed_on}; "
                    f"review by {j.review_by})[/dim]"
                )


def _print_sources(report: "TopicReport") -> None:
    out.print("\n[bold]Where the figures come from[/bold]")
    for t in report.trusts:
        out.print(f"  {t.ods}: {t.pathway} ({t.file})")
        out.print(f"      contacts: {', '.join(t.contacts_sources) or 'none'}; last step: {t.length_source}")
        for step in report.steps:
            cell = step.cells.get(t.ods)
            if cell:
                out.print(f"      {step.key}: {', '.join(cell.sources)}")
    out.print()


@app.command()
def propose(
    topic: Annotated[str, typer.Argument(help="Pathway topic code.", show_default=False)],
    out_file: Annotated[
        Path | None,
        typer.Option(
            "--out",
            help="Where to write the draft PlanDefinition.",
            show_default="proposals/TOPIC.json",
            dir_okay=False,
        ),
    ] = None,
    draft: Annotated[bool, typer.Option(
        "--draft", help="Also keep it in the store as the topic's draft guideline, to approve and release "
                        "(harmonise guideline approve / release).")] = False,
    database: DatabaseOption = DEFAULT_DATABASE,
    pathways: FromPathwaysOption = None,
    guidelines: FromGuidelinesOption = None,
    output: FormatOption = OutputFormat.text,
) -> None:
    """Write a draft network guideline built from what the trusts already do.

    Each step is one that more than half the trusts have, at the median day, with a window
    covering the central trusts and the commonest mode and role; each step's description says
    why. It is a draft (status draft) for the network to edit and agree; with --draft it is
    also stored as the topic's draft guideline.
    """
    from rich.table import Table

    from .. import application, fhirformat

    with content_source(database, pathways, guidelines, output is OutputFormat.json, "propose") as source:
        resource, read = application.propose(source, topic, date.today())
    say_source(source, empty=not read.content, quiet=output is OutputFormat.json)
    content, problems = read.content.get(topic), read.problems
    if resource is None or content is None:
        err.print(f"No trust pathways for topic '{topic}'. Topics: {', '.join(sorted(read.content)) or 'none'}")
        raise typer.Exit(1)
    if draft:
        if pathways is not None or guidelines is not None:
            raise typer.BadParameter("a draft is stored from the store's pathways: leave out --pathways and "
                                     "--guidelines", param_hint="--draft")
        from .governance import store_proposal  # noqa: PLC0415  (only this option writes)

        stored = store_proposal(database, resource, date.today())
        err.print(f"Stored it as {stored} (draft): approve it with 'harmonise guideline approve "
                  f"{stored.split('/')[1]} --by NAME', then release it.")
    target = out_file or Path("proposals") / f"{topic}.json"
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(fhirformat.to_json(resource))
    if output is OutputFormat.json:
        print_json(fhirformat.to_json(resource).decode())
    else:
        out.print(
            f"Wrote a draft guideline for {topic} to {target} ({len(resource['action'])} steps, "
            f"from {len(content.trusts)} trusts)."
        )
        table = Table(title="Proposed steps", title_justify="left")
        for column in ("Step", "Mode", "Window (days)", "Required", "Why"):
            table.add_column(column)
        for action in resource["action"]:
            window = action.get("timingRange")
            table.add_row(
                action["title"],
                action["code"][1]["coding"][0]["code"],
                f"{window['low']['value']}-{window['high']['value']}" if window else "-",
                action["requiredBehavior"],
                action["description"].removeprefix("How this step was chosen: "),
            )
        out.print(table)
        if content.guideline:
            out.print(f"Note: this topic already has an agreed guideline ({content.guideline.canonical}).")
    _report_problems(problems)
    raise typer.Exit(1 if problems else 0)
