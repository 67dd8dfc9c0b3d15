"""``harmonise validate``: FHIR validity and the Harmonise conventions, file by file."""

from collections import defaultdict
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from .app import (
    FormatOption,
    GuidelinesOption,
    OutputFormat,
    PathwaysOption,
    app,
    default_folder,
    load_with_progress,
    out,
    print_json,
)

if TYPE_CHECKING:
    from .. import loader
    from ..problems import Problem


def _problem_json(problem: "Problem") -> dict[str, Any]:
    return problem.model_dump(mode="json")


def _validate_json(result: "loader.LoadResult", exit_code: int) -> dict[str, Any]:
    from ..problems import Severity

    errors = sum(p.severity is Severity.ERROR for p in result.problems)
    return {
        "ok": exit_code == 0,
        "files": len(result.files),
        "loaded": [
            {
                "file": r.file,
                "entry": r.entry,
                "id": r.pathway.resource_id,
                "url": r.pathway.url,
                "version": r.pathway.version,
                "kind": r.pathway.kind.value,
                "trust": r.pathway.trust,
                "topic": r.pathway.topic,
                "steps": len(r.pathway.steps),
            }
            for r in result.resources
        ],
        "problems": [_problem_json(p) for p in result.problems],
        "errors": errors,
        "warnings": len(result.problems) - errors,
    }


def _print_summary(result: "loader.LoadResult") -> None:
    from rich.table import Table

    from .. import terminology
    from ..conventions import TRUSTS
    from ..pathway import PathwayKind
    from ..problems import Severity

    kinds: dict[PathwayKind, int] = defaultdict(int)
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
            table.add_row(
                terminology.topics().display(topic), row.get("guideline", "none"), *(row.get(t, "-") for t in trusts)
            )
        out.print(table)


def _print_problems(problems: "list[Problem]") -> None:
    from ..problems import Severity

    by_file: dict[str, list[Problem]] = defaultdict(list)
    for problem in problems:
        by_file[problem.file or "(no file)"].append(problem)
    for file in sorted(by_file):
        out.print(f"\n[bold]{file}[/bold]")
        for problem in by_file[file]:
            style = "red" if problem.severity is Severity.ERROR else "yellow"
            where = problem.path or "(whole file)"
            out.print(
                f"  [{style}]{problem.severity.value:7}[/{style}] {where}: {problem.message} "
                f"[dim]\\[{problem.rule}][/dim]"
            )


@app.command()
def validate(
    paths: Annotated[
        list[Path] | None,
        typer.Argument(
            help="Files or folders to check (FHIR JSON or XML, single resources or Bundles). "
            "Default: the pathways and guidelines folders.",
            show_default=False,
        ),
    ] = None,
    strict: Annotated[bool, typer.Option("--strict", help="Treat convention warnings as failures (exit 1).")] = False,
    pathways: PathwaysOption = default_folder("pathways"),
    guidelines: GuidelinesOption = default_folder("guidelines"),
    output: FormatOption = OutputFormat.text,
) -> None:
    """Check PlanDefinitions: FHIR R4 validity (errors) and the Harmonise conventions (warnings).

    Every problem names the file, the element path and the rule it breaks. All files are
    checked, whatever the others hold. Exit 1 if any error, or any warning with --strict.
    """
    from ..problems import Severity

    targets = paths or [pathways, guidelines]
    result = load_with_progress(targets, quiet=output is OutputFormat.json)
    errors = any(p.severity is Severity.ERROR for p in result.problems)
    failed = errors or (strict and bool(result.problems))
    exit_code = 1 if failed else 0
    if output is OutputFormat.json:
        print_json(_validate_json(result, exit_code))
    else:
        _print_summary(result)
        _print_problems(result.problems)
        n_errors = sum(p.severity is Severity.ERROR for p in result.problems)
        n_warnings = len(result.problems) - n_errors
        verdict = "FAILED" if failed else "OK"
        out.print(
            f"\n{verdict}: {n_errors} error(s), {n_warnings} warning(s)"
            + (" (--strict: warnings fail)" if strict and n_warnings else "")
        )
    raise typer.Exit(exit_code)
