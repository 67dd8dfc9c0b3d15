"""``harmonise publish``: build the MkDocs Material site of guidelines and variation reports.

The site is built from the repository's ``mkdocs.yml`` with the content folders and the as-of
day given here; the same input and the same day give the same bytes. Exit 1 when the content
has errors (no site is built then) or MkDocs refuses the build; 2 on usage errors.
"""

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from .app import (
    DEFAULT_DATABASE,
    REPOSITORY,
    DatabaseOption,
    FormatOption,
    OutputFormat,
    app,
    default_folder,
    err,
    out,
    print_json,
)
from .compare import AsOfOption, as_of_date
from .package import active_guidelines
from .sources import FromGuidelinesOption, FromPathwaysOption
from .store import open_store

if TYPE_CHECKING:
    from rich.progress import Progress

    from ..problems import Problem

CONFIG_FILE = REPOSITORY / "mkdocs.yml"
#: Problems listed in the terminal before "and N more".
SHOWN_PROBLEMS = 10


class _Bar:
    """Build progress as a rich bar (a ``site.progress.Listener``)."""

    def __init__(self, progress: "Progress") -> None:
        self.progress = progress
        self.task = progress.add_task("Building the site", total=None)

    def pages(self, total: int) -> None:
        self.progress.update(self.task, total=total)

    def page_done(self, name: str) -> None:
        self.progress.advance(self.task)


def _check_out(site: Path) -> None:
    """MkDocs empties the output folder first: refuse a folder that holds anything but a built site."""
    if site.is_dir() and any(site.iterdir()) and not (site / "sitemap.xml").is_file():
        raise typer.BadParameter(f"{site} is not empty and does not hold a built site; it would be emptied. "
                                 "Choose another folder.", param_hint="--out")


def _fail(problems: "list[Problem]", message: str, output: OutputFormat, site: Path) -> None:
    if output is OutputFormat.json:
        print_json({"ok": False, "site": None, "message": message,
                    "problems": [p.model_dump(mode="json") for p in problems]})
    else:
        err.print(f"[red]{message}[/red]")
        for problem in problems[:SHOWN_PROBLEMS]:
            err.print(f"  {problem.file or '(no file)'}: {problem}", markup=False)
        if len(problems) > SHOWN_PROBLEMS:
            err.print(f"  ... and {len(problems) - SHOWN_PROBLEMS} more")
        err.print(f"Nothing was published to {site}.")
    raise typer.Exit(1)


@app.command()
def publish(
    site: Annotated[Path, typer.Option("--out", help="Folder to write the site to (emptied first).",
                                       file_okay=False)] = Path("site"),
    database: DatabaseOption = DEFAULT_DATABASE,
    pathways: FromPathwaysOption = None,
    guidelines: FromGuidelinesOption = None,
    as_of: AsOfOption = None,
    output: FormatOption = OutputFormat.text,
) -> None:
    """Build the published site: a page per guideline for clinicians, a page per topic for network leads.

    Built from the store (the network's record; --database), or from the folders given with
    --pathways and --guidelines. The pages about guidelines and topics are generated from the
    content at build time; the hand-written pages are in docs/. Open the site's index.html in a
    browser, from a web server or straight from the disk: it needs no other host.
    """
    from mkdocs.exceptions import Abort
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    from ..site.build import build_site
    from ..site.events import BUILD
    from ..site.settings import SiteSettings, build_day

    day = as_of_date(as_of) if as_of else build_day()
    _check_out(site)
    if not CONFIG_FILE.is_file():
        err.print(f"No site configuration at {CONFIG_FILE}: publish runs from a checkout of the repository.")
        raise typer.Exit(1)
    from_folders = pathways is not None or guidelines is not None
    settings = SiteSettings((pathways or default_folder("pathways")).resolve(),
                            (guidelines or default_folder("guidelines")).resolve(), day, root=REPOSITORY,
                            database=None if from_folders else database)
    if not from_folders:
        open_store(database, "publish").close()  # a plain message now for a URL that cannot be opened
    quiet = output is OutputFormat.json
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), console=err,
                  transient=True, disable=quiet or not err.is_terminal) as progress:
        try:
            content = build_site(settings, site, CONFIG_FILE, listener=_Bar(progress))
        except Abort as exc:
            problems = BUILD.content.problems if BUILD.content else []
            _fail(problems, str(exc) if not problems else
                  f"{len(problems)} problem(s) in the content; run 'harmonise validate' for details.", output, site)
    # The FHIR package beside the pages (docs/integrators.md links it), from the same content.
    from ..conformance import package as fhir_package

    fhir_package.write_package(site, sorted(active_guidelines(database, guidelines if from_folders else None),
                                            key=lambda g: str(g.get("id"))))
    pages = sum(1 for _ in site.rglob("*.html"))
    if output is OutputFormat.json:
        print_json({"ok": True, "site": str(site), "pages": pages, "as_of": day.isoformat(),
                    "topics": len(content.topics), "source": content.source, "problems": []})
    else:
        out.print(f"Published {pages} pages for {len(content.topics)} topics from {content.source} to {site} "
                  f"(register checked as of {day.isoformat()}). Open {site / 'index.html'} in a browser.")
