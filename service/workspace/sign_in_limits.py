"""How many sign-in attempts the workspace accepts from one client address, whatever accounts they name.

The lock-out (``app.MAX_FAILURES`` in ``app.LOCK_FOR``) stops guessing one account's password; this stops
one address trying many accounts, and bounds the password hashing (memory-hard, by design costly) any
one client can make the server do. Attempts are counted in the store (``store.accounts.record_attempt``),
so every server process shares the count. The address is the client's as the server sees it: behind a
reverse proxy named in ``HARMONISE_TRUSTED_PROXIES`` (``serve --trusted-proxy``) the one it forwards,
otherwise the connection's (docs/security.md).

Private to ``service.workspace``: only its own modules import this one.
"""

from datetime import datetime, timedelta
from typing import Final

from starlette.requests import Request

from ..store import Store
from ..store import accounts as account_store

#: Sign-in attempts accepted from one address in ``ADDRESS_WINDOW`` of the first (a constant here until the
#: settings have one home; far above what the people of one trust behind one address sign in).
MAX_ATTEMPTS_PER_ADDRESS: Final = 30
ADDRESS_WINDOW: Final = timedelta(minutes=15)


def client_address(request: Request) -> str | None:
    """The client's address (uvicorn has already replaced a trusted proxy's with the one it forwards)."""
    return request.client.host if request.client else None


def refused_until(store: Store, request: Request, now: datetime) -> datetime | None:
    """Count this attempt from the request's address: None if it may go on, else when the address may try again.

    A request with no address (a server that gives none) is not counted: there is nothing to count it by.
    """
    address = client_address(request)
    if address is None:
        return None
    return account_store.record_attempt(store, address, now, MAX_ATTEMPTS_PER_ADDRESS, ADDRESS_WINDOW)
