"""The workspace's accounts (``schema.account``): who signs in at ``/workspace``, and as what role.

The store keeps the password's hash as it is given (``security.passwords`` makes and checks it)
and counts failed sign-ins: ``record_failure`` locks an account for a while once it has failed
too often within one window, in the same statement as the count, so parallel guesses cannot slip
past the limit; a run of failures that began longer ago than the window is forgotten, so a few
typing slips a week never add up to a lock-out. ``record_attempt`` counts the attempts from one
client address in a window, whatever account they name, the same way.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Final

from sqlalchemy import ColumnElement, case, delete, insert, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite

from .dates import parse_timestamp, timestamp
from .engine import IMMEDIATE
from .errors import StoreError
from .schema import account, sign_in_address
from .store import Store


class AccountExists(StoreError):
    """An account of that name is already in the store."""

    def __init__(self, name: str) -> None:
        super().__init__(f"an account named '{name}' exists already")


@dataclass(frozen=True)
class Account:
    name: str
    password_hash: str
    #: ODS code of the trust the person acts for; None for a network lead.
    trust: str | None
    network_lead: bool
    failures: int
    locked_until: datetime | None
    session_epoch: int
    #: When the current run of failures began (None: no run).
    failures_since: datetime | None = None

    def locked(self, now: datetime) -> bool:
        return self.locked_until is not None and now < self.locked_until


def _moment(text: str | None) -> datetime | None:
    return parse_timestamp(text) if text else None


def _account(row: Any) -> Account:
    return Account(row.name, row.password_hash, row.trust, bool(row.network_lead), row.failures,
                   _moment(row.locked_until), row.session_epoch, _moment(row.failures_since))


def add(store: Store, name: str, password_hash: str, trust: str | None, network_lead: bool, now: datetime) -> Account:
    """A new account (AccountExists if the name is taken)."""
    with store.engine.connect().execution_options(**{IMMEDIATE: True}) as connection, connection.begin():
        if connection.execute(select(account.c.name).where(account.c.name == name)).first() is not None:
            raise AccountExists(name)
        connection.execute(insert(account).values(
            name=name, password_hash=password_hash, trust=trust, network_lead=network_lead, failures=0,
            locked_until=None, session_epoch=0, created=timestamp(now)))
    found = find(store, name)
    assert found is not None
    return found


def find(store: Store, name: str) -> Account | None:
    with store.engine.connect() as connection:
        row = connection.execute(select(account).where(account.c.name == name)).first()
    return _account(row) if row is not None else None


def names(store: Store) -> list[str]:
    with store.engine.connect() as connection:
        return list(connection.execute(select(account.c.name).order_by(account.c.name)).scalars())


def _counted(count: Any, since: Any, now: datetime, window: timedelta) -> dict[str, ColumnElement[Any]]:
    """The new count and start of a run of events counted within ``window`` (a column each), one more event
    at ``now``: a run that began ``window`` or longer ago (or none) starts again at one."""
    over: ColumnElement[bool] = or_(since.is_(None), since <= timestamp(now - window))
    return {count.key: case((over, 1), else_=count + 1), since.key: case((over, timestamp(now)), else_=since)}


def record_failure(store: Store, name: str, now: datetime, limit: int, lock_for: timedelta) -> bool:
    """Count a failed sign-in at ``now``: at ``limit`` failures within ``lock_for`` of the first, the account is
    locked for ``lock_for`` (True: it is now). A run of failures that began ``lock_for`` ago or more is forgotten."""
    with store.engine.connect().execution_options(**{IMMEDIATE: True}) as connection, connection.begin():
        failures = connection.execute(
            update(account).where(account.c.name == name)
            .values(_counted(account.c.failures, account.c.failures_since, now, lock_for))
            .returning(account.c.failures)).scalar()
        if failures is None or failures < limit:
            return False
        connection.execute(update(account).where(account.c.name == name)
                           .values(failures=0, failures_since=None, locked_until=timestamp(now + lock_for)))
        return True


def record_success(store: Store, name: str) -> None:
    """A sign-in that succeeded: the failures are forgotten."""
    with store.engine.connect() as connection, connection.begin():
        connection.execute(update(account).where(account.c.name == name)
                           .values(failures=0, failures_since=None, locked_until=None))


#: The longest address kept (an IPv6 address with a zone is under this); a longer one is counted by its start.
ADDRESS_LENGTH: Final = 64


def record_attempt(store: Store, address: str, now: datetime, limit: int, window: timedelta) -> datetime | None:
    """Count a sign-in attempt from ``address`` at ``now``; past ``limit`` attempts in a window of ``window`` from
    the first, the time the window ends (no attempt is accepted before then), else None.

    One upsert counts it, so parallel attempts from one address are all counted. The rows of ended windows
    are deleted in the same transaction.
    """
    insert_for = postgresql.insert if store.engine.dialect.name == "postgresql" else sqlite.insert
    row, now_text = sign_in_address.c, timestamp(now)
    counting = insert_for(sign_in_address).values(address=address[:ADDRESS_LENGTH], attempts=1, since=now_text)
    counting = counting.on_conflict_do_update(index_elements=[row.address],
                                              set_=_counted(row.attempts, row.since, now, window))
    with store.engine.connect().execution_options(**{IMMEDIATE: True}) as connection, connection.begin():
        attempts, since = connection.execute(counting.returning(row.attempts, row.since)).one()
        connection.execute(delete(sign_in_address).where(row.since <= timestamp(now - window)))
    return parse_timestamp(since) + window if attempts > limit else None


def end_sessions(store: Store, name: str) -> None:
    """Sign-out: every session issued to the account so far stops being accepted."""
    with store.engine.connect() as connection, connection.begin():
        connection.execute(update(account).where(account.c.name == name)
                           .values(session_epoch=account.c.session_epoch + 1))
