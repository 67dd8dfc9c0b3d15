"""``harmonise guideline ...`` and ``harmonise register ...``: the network's decisions, from the command line.

The same use cases as the API's lifecycle operations and register writes (``application.guidelines``,
``application.decisions``), written to the store as the local administrator, each one audited change.
"""

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from typing import TYPE_CHECKING, Annotated

import typer

from ..variation.dimension import Dimension
from .app import DEFAULT_DATABASE, CommandGroup, DatabaseOption, FormatOption, OutputFormat, app, err, out, print_json
from .store import open_store

if TYPE_CHECKING:
    from ..store import Store, Writer

guideline_app = typer.Typer(cls=CommandGroup, no_args_is_help=True, rich_markup_mode=None,
                            help="The guideline lifecycle: draft, approve, release, retire (HL7 CRMI).")
register_app = typer.Typer(cls=CommandGroup, no_args_is_help=True, rich_markup_mode=None,
                           help="The register of warranted variation: list, add, renew, retire entries.")
app.add_typer(guideline_app, name="guideline")
app.add_typer(register_app, name="register")

IdArgument = Annotated[str, typer.Argument(help="The guideline's resource id (see 'harmonise guideline list').",
                                           show_default=False)]


def _day(value: str | None, option: str) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter(f"'{value}' is not a date like 2026-11-22", param_hint=option) from None


@contextmanager
def _writing(database: str, command: str) -> "Iterator[tuple[Store, Writer]]":
    """One audited write to the store, or a plain message and exit 1 when the lifecycle or register refuses."""
    from ..application import decisions, guidelines

    store = open_store(database, command)
    try:
        with store.write() as writer:
            yield store, writer
    except (guidelines.LifecycleError, decisions.DecisionError) as refused:
        err.print(f"[red]Nothing was changed:[/red] {getattr(refused, 'message', refused)}")
        raise typer.Exit(1) from None
    finally:
        store.close()


# --- guidelines ------------------------------------------------------------------------------------


@guideline_app.command("list")
def guideline_list(database: DatabaseOption = DEFAULT_DATABASE, output: FormatOption = OutputFormat.text) -> None:
    """Every network guideline in the store: topic, status, version, when approved, next review."""
    from rich.table import Table

    from ..application import guidelines

    store = open_store(database)
    try:
        found = guidelines.rows((v.reference, v.resource) for v in store.current("PlanDefinition") if v.resource)
    finally:
        store.close()
    if output is OutputFormat.json:
        print_json([row.__dict__ for row in found])
        return
    table = Table(title=f"Network guidelines in {database}", title_justify="left")
    for column in ("Topic", "Status", "Version", "Approved", "Next review", "Resource"):
        table.add_column(column)
    for row in found:
        table.add_row(row.topic or "-", row.status, row.version or "-", row.approved or "-", row.next_review or "-",
                      row.reference)
    out.print(table)


def _active_of(store: "Store", topic: str) -> str:
    from ..application import guidelines

    rows = guidelines.rows((v.reference, v.resource) for v in store.current("PlanDefinition") if v.resource)
    active = [row for row in rows if row.topic == topic and row.status in ("active", "retired")]
    if not active:
        err.print(f"The topic '{topic}' has no agreed guideline to draft from; 'harmonise propose {topic} --draft' "
                  "stores the network consensus as its first draft.")
        raise typer.Exit(1)
    return active[0].reference.split("/")[1]


@guideline_app.command("draft")
def guideline_draft(
    topic: Annotated[str, typer.Argument(help="The pathway topic whose agreed guideline to draft from.",
                                         show_default=False)],
    version: Annotated[str, typer.Option("--version", help="The new draft's version, e.g. 1.1.0.",
                                         show_default=False)],
    database: DatabaseOption = DEFAULT_DATABASE,
) -> None:
    """Make a new draft version of a topic's agreed guideline, to change, approve and release."""
    from ..application import guidelines

    store = open_store(database)
    try:
        source_id = _active_of(store, topic)
    finally:
        store.close()
    with _writing(database, "guideline draft") as (_store, writer):
        made = guidelines.draft(writer, source_id, version, date.today())
    out.print(f"Made {made.reference} (version {version}, draft) from PlanDefinition/{source_id}.")


@guideline_app.command("approve")
def guideline_approve(
    guideline_id: IdArgument,
    approver: Annotated[str, typer.Option("--by", help="Who approved it, as the record should name them.",
                                          show_default=False)],
    comment: Annotated[str | None, typer.Option("--comment", help="The approver's comment.")] = None,
    on: Annotated[str | None, typer.Option("--on", help="The day of the approval.", show_default="today")] = None,
    database: DatabaseOption = DEFAULT_DATABASE,
) -> None:
    """Record an approval (approvalDate, the approver, a comment); the status does not change."""
    from ..application import guidelines

    day = _day(on, "--on") or date.today()
    with _writing(database, "guideline approve") as (_store, writer):
        approved = guidelines.approve(writer, guideline_id, day, approver, comment)
    out.print(f"Approved {approved.reference} on {day.isoformat()} by {approver}.")


@guideline_app.command("release")
def guideline_release(
    guideline_id: IdArgument,
    review_by: Annotated[str | None, typer.Option("--review-by", help="When it must be reviewed.",
                                                  show_default="the draft's")] = None,
    database: DatabaseOption = DEFAULT_DATABASE,
) -> None:
    """Make an approved draft the topic's agreed guideline; the previous one is retired in the same change."""
    from ..application import guidelines

    with _writing(database, "guideline release") as (_store, writer):
        done = guidelines.release(writer, guideline_id, date.today(), _day(review_by, "--review-by"))
    retired = ", ".join(v.reference for v in done.retired) or "none"
    out.print(f"Released {done.released.reference}: the topic's agreed guideline from today. Retired: {retired}.")


@guideline_app.command("retire")
def guideline_retire(guideline_id: IdArgument, database: DatabaseOption = DEFAULT_DATABASE) -> None:
    """Withdraw a guideline; its topic has no agreed guideline until another is released."""
    from ..application import guidelines

    with _writing(database, "guideline retire") as (_store, writer):
        retired = guidelines.retire(writer, guideline_id, date.today())
    out.print(f"Retired {retired.reference}.")


# --- the register ----------------------------------------------------------------------------------


@register_app.command("list")
def register_list(database: DatabaseOption = DEFAULT_DATABASE, output: FormatOption = OutputFormat.text) -> None:
    """Every entry of the register, with its review date; expired and retired ones say so."""
    from rich.table import Table

    from ..application import decisions

    store = open_store(database)
    try:
        found = decisions.entries(store.current("Basic"))
    finally:
        store.close()
    today = date.today()
    if output is OutputFormat.json:
        print_json([{"id": entry_id, **entry.model_dump(mode="json"), "expired": entry.expired(today)}
                    for entry_id, entry in found])
        return
    table = Table(title=f"The register of warranted variation in {database}", title_justify="left")
    for column in ("Id", "Trust", "Topic", "Step", "Dimension", "Review by", "State", "Rationale"):
        table.add_column(column)
    for entry_id, entry in found:
        state = (f"retired {entry.retired_on}" if entry.retired_on else "EXPIRED" if entry.expired(today)
                 else "in force")
        table.add_row(entry_id, entry.trust, entry.topic, entry.step or "(whole pathway)", entry.dimension.value,
                      entry.review_by.isoformat(), state, entry.rationale)
    out.print(table)


@register_app.command("add")
def register_add(
    trust: Annotated[str, typer.Option("--trust", help="The trust's ODS code.", show_default=False)],
    topic: Annotated[str, typer.Option("--topic", help="The pathway topic.", show_default=False)],
    step: Annotated[str, typer.Option("--step", help="The guideline step's id; \"\" for the whole pathway.",
                                      show_default=False)],
    dimension: Annotated[Dimension, typer.Option("--dimension", help="What differs.", show_default=False)],
    rationale: Annotated[str, typer.Option("--rationale", help="Why the network agreed it.", show_default=False)],
    agreed_by: Annotated[str, typer.Option("--agreed-by", help="Who agreed it.", show_default=False)],
    agreed_on: Annotated[str, typer.Option("--agreed-on", help="When (YYYY-MM-DD).", show_default=False)],
    review_by: Annotated[str, typer.Option("--review-by", help="When it must be reviewed (YYYY-MM-DD).",
                                           show_default=False)],
    anyway: Annotated[bool, typer.Option("--anyway", help="Record it even if it covers no difference today.")] = False,
    database: DatabaseOption = DEFAULT_DATABASE,
) -> None:
    """Record a warranted variation: the difference then counts as warranted until its review date."""
    from ..application import StoreSource, decisions
    from ..register import RegisterEntry

    try:
        entry = RegisterEntry.model_validate({
            "trust": trust, "topic": topic, "step": step, "dimension": dimension, "rationale": rationale,
            "agreed_by": agreed_by, "agreed_on": _day(agreed_on, "--agreed-on"),
            "review_by": _day(review_by, "--review-by")})
    except ValueError as exc:
        raise typer.BadParameter(str(exc).splitlines()[-1].strip(), param_hint="--trust") from None
    if not anyway:
        store = open_store(database)
        try:
            decisions.check_coverage(StoreSource(store), entry, date.today())
        except decisions.DecisionError as refused:
            err.print(f"[red]Nothing was changed:[/red] {refused}")
            raise typer.Exit(1) from None
        finally:
            store.close()
    with _writing(database, "register add") as (_store, writer):
        written = decisions.add(writer, entry)
    out.print(f"Recorded {written.reference}: {trust}'s {dimension.value} difference at "
              f"{step or 'the whole pathway'} on {topic} is warranted until {review_by}.")


@register_app.command("renew")
def register_renew(
    entry_id: Annotated[str, typer.Argument(help="The entry's id (see 'harmonise register list').",
                                            show_default=False)],
    review_by: Annotated[str, typer.Option("--review-by", help="The new review date.", show_default=False)],
    rationale: Annotated[str, typer.Option("--rationale", help="Why it is kept.", show_default=False)],
    database: DatabaseOption = DEFAULT_DATABASE,
) -> None:
    """Move an entry's review date on, with the rationale for keeping it."""
    from ..application import decisions

    day = _day(review_by, "--review-by")
    assert day is not None
    with _writing(database, "register renew") as (_store, writer):
        renewed = decisions.renew(writer, entry_id, day, rationale, date.today())
    out.print(f"Renewed {renewed.reference} until {review_by}.")


@register_app.command("retire")
def register_retire(
    entry_id: Annotated[str, typer.Argument(help="The entry's id.", show_default=False)],
    reason: Annotated[str, typer.Option("--reason", help="Why the network ended it.", show_default=False)],
    database: DatabaseOption = DEFAULT_DATABASE,
) -> None:
    """End an entry: the difference counts as unwarranted again; the entry is kept with why."""
    from ..application import decisions

    with _writing(database, "register retire") as (_store, writer):
        retired = decisions.retire(writer, entry_id, reason, date.today())
    out.print(f"Retired {retired.reference}: {reason}")


def store_proposal(database: str, resource: dict, today: date) -> str:
    """``propose --draft``: keep the consensus proposal in the store as a draft guideline; its reference."""
    from ..application import guidelines

    with _writing(database, "propose --draft") as (_store, writer):
        return guidelines.store_proposal(writer, resource, today).reference

