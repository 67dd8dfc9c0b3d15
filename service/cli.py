"""The ``harmonise`` command (BRIEF: command line contract).

Exit codes: 0 success, 1 the input has problems, 2 usage errors (click's own).
Output for people goes through rich; ``--format json`` prints one JSON document on stdout.
"""

import json
import sys
from collections import defaultdict
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn
from rich.table import Table

from . import __version__, loader, terminology
from .conventions import TRUSTS
from .pathway import PathwayKind
from .problems import Problem, Severity

REPOSITORY = Path(__file__).resolve().parent.parent

app = typer.Typer(
    name="harmonise",
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


def _default_folder(name: str) -> Path:
    """The repository's own folder (editable installs), else the one in the working directory."""
    candidate = REPOSITORY / name
    return candidate if candidate.is_dir() else Path.cwd() / name


PathwaysOption = Annotated[Path, typer.Option(
    "--pathways", help="Folder of trust pathways.", show_default="the repository's pathways/",
    file_okay=False)]
GuidelinesOption = Annotated[Path, typer.Option(
    "--guidelines", help="Folder of network guidelines and the variation register.",
    show_default="the repository's guidelines/", file_okay=False)]
FormatOption = Annotated[OutputFormat, typer.Option(
    "--format", help="text for people, json for machines.", case_sensitive=False)]


def _version(value: bool) -> None:
    if value:
        out.print(f"harmonise {__version__}")
        raise typer.Exit()


@app.callback()
def main_callback(
    version: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True,
                                          help="Print the version and exit.")] = False,
) -> None:
    """Harmonise: clinical pathway and guideline harmonisation for NHS hospital networks."""


def load_with_progress(paths: list[Path], quiet: bool) -> loader.LoadResult:
    """Load files with a progress bar on a terminal (stderr, gone when done)."""
    files, _ = loader.discover(paths)
    with Progress(
        TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
        console=err, transient=True, disable=quiet or not err.is_terminal,
    ) as progress:
        task = progress.add_task("Reading FHIR files", total=len(files))
        return loader.load(paths, on_file=lambda _path: progress.advance(task))


# --- validate ----------------------------------------------------------------------------------


def _problem_json(problem: Problem) -> dict[str, Any]:
    return problem.model_dump(mode="json")


def _validate_json(result: loader.LoadResult, exit_code: int) -> dict[str, Any]:
    errors = sum(p.severity is Severity.ERROR for p in result.problems)
    return {
        "ok": exit_code == 0,
        "files": len(result.files),
        "loaded": [
            {"file": r.file, "entry": r.entry, "id": r.pathway.resource_id, "url": r.pathway.url,
             "version": r.pathway.version, "kind": r.pathway.kind.value, "trust": r.pathway.trust,
             "topic": r.pathway.topic, "steps": len(r.pathway.steps)}
            for r in result.resources
        ],
        "problems": [_problem_json(p) for p in result.problems],
        "errors": errors,
        "warnings": len(result.problems) - errors,
    }


def _print_summary(result: loader.LoadResult) -> None:
    kinds = defaultdict(int)
    for resource in result.resources:
        kinds[resource.pathway.kind] += 1
    failed_files = {p.file for p in result.problems if p.severity is Severity.ERROR}
    out.print(
        f"Read {len(result.files)} file(s): {len(result.resources)} PlanDefinition(s) loaded "
        f"({kinds[PathwayKind.TRUST_PATHWAY]} trust pathways, {kinds[PathwayKind.NETWORK_GUIDELINE]} "
        f"network guidelines, {kinds[PathwayKind.OTHER]} other FHIR); "
        f"{len(failed_files)} file(s) with errors."
    )
    by_topic: dict[str, dict[str, str]] = defaultdict(dict)
    for resource in result.resources:
        pathway = resource.pathway
        if pathway.topic is None:
            continue
        if pathway.kind is PathwayKind.NETWORK_GUIDELINE:
            by_topic[pathway.topic]["guideline"] = f"{pathway.version} ({pathway.status})"
        elif pathway.trust:
            by_topic[pathway.topic][pathway.trust] = str(len(pathway.steps))
    if by_topic:
        table = Table(title="Pathways by topic and trust (number of steps; - = none)", title_justify="left")
        table.add_column("Topic")
        table.add_column("Guideline")
        trusts = sorted({t for row in by_topic.values() for t in row if t in TRUSTS})
        for trust in trusts:
            table.add_column(trust, justify="right")
        for topic in sorted(by_topic):
            row = by_topic[topic]
            table.add_row(terminology.topics().display(topic), row.get("guideline", "none"),
                          *(row.get(t, "-") for t in trusts))
        out.print(table)


def _print_problems(problems: list[Problem]) -> None:
    by_file: dict[str, list[Problem]] = defaultdict(list)
    for problem in problems:
        by_file[problem.file or "(no file)"].append(problem)
    for file in sorted(by_file):
        out.print(f"\n[bold]{file}[/bold]")
        for problem in by_file[file]:
            style = "red" if problem.severity is Severity.ERROR else "yellow"
            where = problem.path or "(whole file)"
            out.print(f"  [{style}]{problem.severity.value:7}[/{style}] {where}: {problem.message} "
                      f"[dim]\\[{problem.rule}][/dim]")


@app.command()
def validate(
    paths: Annotated[list[Path] | None, typer.Argument(
        help="Files or folders to check (FHIR JSON or XML, single resources or Bundles). "
             "Default: the pathways and guidelines folders.", show_default=False)] = None,
    strict: Annotated[bool, typer.Option(
        "--strict", help="Treat convention warnings as failures (exit 1).")] = False,
    pathways: PathwaysOption = _default_folder("pathways"),
    guidelines: GuidelinesOption = _default_folder("guidelines"),
    output: FormatOption = OutputFormat.text,
) -> None:
    """Check PlanDefinitions: FHIR R4 validity (errors) and the Harmonise conventions (warnings).

    Every problem names the file, the element path and the rule it breaks. All files are
    checked, whatever the others hold. Exit 1 if any error, or any warning with --strict.
    """
    targets = paths or [pathways, guidelines]
    result = load_with_progress(targets, quiet=output is OutputFormat.json)
    errors = any(p.severity is Severity.ERROR for p in result.problems)
    failed = errors or (strict and bool(result.problems))
    exit_code = 1 if failed else 0
    if output is OutputFormat.json:
        out.print_json(json.dumps(_validate_json(result, exit_code)))
    else:
        _print_summary(result)
        _print_problems(result.problems)
        n_errors = sum(p.severity is Severity.ERROR for p in result.problems)
        n_warnings = len(result.problems) - n_errors
        verdict = "FAILED" if failed else "OK"
        out.print(f"\n{verdict}: {n_errors} error(s), {n_warnings} warning(s)"
                  + (" (--strict: warnings fail)" if strict and n_warnings else ""))
    raise typer.Exit(exit_code)


def main() -> None:
    """Entry point of the ``harmonise`` script."""
    try:
        app()
    except KeyboardInterrupt:
        err.print("Interrupted.")
        sys.exit(130)
