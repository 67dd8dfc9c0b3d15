"""``harmonise token``: a signed bearer token for the FHIR API, for local use and testing.

It signs with the key ``harmonise serve`` verifies with, found the same way (``HARMONISE_JWT_SECRET``,
``HARMONISE_JWT_SECRET_FILE``, or the local ``.harmonise-secret`` beside the database), so on one
machine the two always agree. Scopes and claims are those of ``service.security``.
"""

import re
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Annotated, Final

import typer

from .. import conventions as c
from ..security.scopes import READ_ALL, TRUST_WRITES, WRITE_ALL
from .app import DEFAULT_DATABASE, DatabaseOption, FormatOption, OutputFormat, app, err, out, print_json
from .store import security_settings

if TYPE_CHECKING:
    from ..security.scopes import Scopes

_DURATION: Final = re.compile(r"(?P<amount>[1-9][0-9]{0,5})(?P<unit>[mhd])")
_UNITS: Final = {"m": "minutes", "h": "hours", "d": "days"}


def _lifetime(text: str) -> timedelta:
    match = _DURATION.fullmatch(text.strip())
    if match is None:
        raise typer.BadParameter(f"'{text}' is not a lifetime like 30m, 8h or 7d", param_hint="--expires")
    return timedelta(**{_UNITS[match["unit"]]: int(match["amount"])})


def _scopes(asked: list[str], trust: str | None, network_lead: bool) -> "Scopes":
    """The scopes asked for, or by default: read everything, and write what the holder's role covers."""
    from ..security.scopes import NETWORK_LEAD, Scopes, is_known

    unknown = [scope for scope in asked if not is_known(scope)]
    if unknown:
        raise typer.BadParameter(f"not a scope this server knows: {', '.join(unknown)} (use e.g. "
                                 f"system/PlanDefinition.write, user/*.read or {NETWORK_LEAD})", param_hint="--scope")
    words = list(asked) or [READ_ALL, *(TRUST_WRITES if trust else ()), *((WRITE_ALL,) if network_lead else ())]
    return Scopes.parse(" ".join(words + ([NETWORK_LEAD] if network_lead else [])))


@app.command()
def token(
    trust: Annotated[
        str | None,
        typer.Option("--trust", help="ODS code of the trust the holder acts for (e.g. RHQ): it may change only "
                     "that trust's pathways and MeasureReports.", show_default=False),
    ] = None,
    network_lead: Annotated[
        bool,
        typer.Option("--network-lead", help="A network lead's token: may also change network guidelines, "
                     "Measures and any trust's content."),
    ] = False,
    scope: Annotated[
        list[str] | None,
        typer.Option("--scope", help="A SMART scope, e.g. system/PlanDefinition.write (repeat for more). Default: "
                     f"{READ_ALL}, plus {' '.join(TRUST_WRITES)} for a trust, or {WRITE_ALL} for a network lead.",
                     show_default=False),
    ] = None,
    subject: Annotated[
        str | None,
        typer.Option("--subject", help="Who holds the token, as the audit trail will name them.",
                     show_default="network-lead, trust-ODS or reader"),
    ] = None,
    expires: Annotated[str, typer.Option("--expires", help="Lifetime: minutes, hours or days (30m, 8h, 7d).")] = "8h",
    database: DatabaseOption = DEFAULT_DATABASE,
    output: FormatOption = OutputFormat.text,
) -> None:
    """Print a signed bearer token for the FHIR API (Authorization: Bearer TOKEN).

    For local use: the token is signed with this installation's key, the one `harmonise serve`
    checks. Example: curl -H "Authorization: Bearer $(harmonise token --trust RHQ)" ...
    """
    from ..security.tokens import issue

    if trust is not None and trust not in c.TRUSTS:
        raise typer.BadParameter(f"'{trust}' is not one of the network's trusts ({', '.join(c.TRUSTS)})",
                                 param_hint="--trust")
    lifetime = _lifetime(expires)
    scopes = _scopes(scope or [], trust, network_lead)
    holder = subject or ("network-lead" if network_lead else f"trust-{trust}" if trust else "reader")
    settings = security_settings(database)
    now = datetime.now(UTC)
    signed = issue(settings, holder, scopes, trust, lifetime, now)
    expiry = (now + lifetime).isoformat(timespec="seconds")
    if output is OutputFormat.json:
        print_json({"token": signed, "subject": holder, "trust": trust, "scope": str(scopes),
                    "expires": expiry, "key": settings.key_source})
        return
    out.print(signed, markup=False, highlight=False)
    err.print(f"Token for {holder} ({scopes}), expires {expiry}; signed with the key from {settings.key_source}.",
              markup=False)
