"""``harmonise history TOPIC``: who changed a topic's guideline, pathways and register entries, and when.

The rows of the workspace's history page (``application.history``), read from the store's audit trail.
"""

from typing import Annotated

import typer

from .app import DEFAULT_DATABASE, DatabaseOption, FormatOption, OutputFormat, app, err, out, print_json
from .store import open_store


@app.command("history")
def history(
    topic: Annotated[str, typer.Argument(help="The pathway topic, e.g. tonsillectomy-follow-up.", show_default=False)],
    database: DatabaseOption = DEFAULT_DATABASE,
    output: FormatOption = OutputFormat.text,
) -> None:
    """Who changed the topic and when, newest first, from the audit trail (the store's Provenance records)."""
    from rich.table import Table

    from .. import terminology
    from ..application.history import topic_history

    if topic not in terminology.topics():
        err.print(f"'{topic}' is not a topic of the network ({', '.join(sorted(terminology.topics().concepts))})")
        raise typer.Exit(2)
    store = open_store(database)
    try:
        changes = topic_history(store, topic)
    finally:
        store.close()
    if output is OutputFormat.json:
        print_json([{"recorded": change.recorded.isoformat(), "who": change.who, "on_behalf_of": change.on_behalf_of,
                     "activity": change.activity.display, "kind": change.kind.value, "reference": change.reference,
                     "version": change.version_id, "what": change.label, "exists": change.exists}
                    for change in changes])
        return
    table = Table(title=f"History of {terminology.topics().display(topic)} in {database}", title_justify="left")
    for column in ("When (UTC)", "Who", "For", "Change", "What", "Version"):
        table.add_column(column)
    for change in changes:
        table.add_row(change.recorded.strftime("%Y-%m-%d %H:%M:%S"), change.who, change.on_behalf_of or "network",
                      change.activity.display, f"{change.kind.value}: {change.label}",
                      f"{change.reference}/_history/{change.version_id}")
    out.print(table)
