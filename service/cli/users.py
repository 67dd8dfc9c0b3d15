"""``harmonise user add``: an account for the workspace at ``/workspace`` (a trust's pathway lead or a network lead).

The password is asked for twice at the terminal (never echoed), or read from the first line of
stdin with ``--password-stdin`` (for scripts); only its argon2id hash is kept, in the store.
"""

import sys
from datetime import UTC, datetime
from typing import Annotated

import typer

from .. import conventions as c
from .app import DEFAULT_DATABASE, CommandGroup, DatabaseOption, app, err, out
from .store import open_store

user_app = typer.Typer(cls=CommandGroup, help="Accounts of the workspace (/workspace): who may sign in, and as what.",
                       no_args_is_help=True, rich_markup_mode=None)
app.add_typer(user_app, name="user")


@user_app.command("add")
def user_add(
    name: Annotated[str, typer.Argument(help="The sign-in name, e.g. a.lead@nhs.net.", show_default=False)],
    trust: Annotated[str | None, typer.Option("--trust", help="ODS code of the trust whose pathway lead this is: "
                                                              "they may change only that trust's pathways.",
                                              show_default=False)] = None,
    network_lead: Annotated[bool, typer.Option("--network-lead", help="A network lead: records decisions, approves "
                                                                      "and releases guidelines.")] = False,
    password_stdin: Annotated[bool, typer.Option("--password-stdin", help="Read the password from stdin's first "
                                                                          "line instead of asking.")] = False,
    database: DatabaseOption = DEFAULT_DATABASE,
) -> None:
    """Add an account that signs in at /workspace, as one trust's pathway lead (--trust) or a network lead."""
    from ..security import passwords  # argon2 and the store when the command runs, so --help answers at once
    from ..store import accounts
    if (trust is None) == (not network_lead):
        err.print("give exactly one of --trust ODS or --network-lead")
        raise typer.Exit(2)
    if trust is not None:
        trust = trust.strip().upper()
        if trust not in c.TRUSTS:
            err.print(f"'{trust}' is not one of the network's trusts ({', '.join(sorted(c.TRUSTS))})")
            raise typer.Exit(2)
    name = name.strip()
    if not name or len(name) > 128 or any(not ch.isprintable() for ch in name):
        err.print("the name must be 1 to 128 printable characters")
        raise typer.Exit(2)
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    try:
        hashed = passwords.hash_password(password)
    except ValueError as exc:
        err.print(str(exc))
        raise typer.Exit(2) from None
    store = open_store(database, "user add")
    try:
        accounts.add(store, name, hashed, trust, network_lead, datetime.now(UTC))
    except accounts.AccountExists as exc:
        err.print(f"Nothing was changed: {exc.message}")
        raise typer.Exit(1) from None
    finally:
        store.close()
    role = "a network lead" if network_lead else f"{trust}'s pathway lead"
    out.print(f"Added {name}, {role}: they sign in at /workspace/ on harmonise serve.")
