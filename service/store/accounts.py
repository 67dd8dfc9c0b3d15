"""The workspace's accounts (``schema.account``): who signs in at ``/workspace``, and as what role.

The store keeps the password's hash as it is given (``security.passwords`` makes and checks it)
and counts failed sign-ins: ``record_failure`` locks an account for a while once it has failed
too often, in the same transaction as the count, so parallel guesses cannot slip past the limit.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import insert, select, update

from .dates import parse_timestamp, timestamp
from .engine import IMMEDIATE
from .errors import StoreError
from .schema import account
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

    def locked(self, now: datetime) -> bool:
        return self.locked_until is not None and now < self.locked_until


def _account(row: Any) -> Account:
    locked = row.locked_until
    return Account(row.name, row.password_hash, row.trust, bool(row.network_lead), row.failures,
                   parse_timestamp(locked) if locked else None, row.session_epoch)


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


def record_failure(store: Store, name: str, now: datetime, limit: int, lock_for: timedelta) -> bool:
    """Count a failed sign-in; at ``limit`` failures the account is locked for ``lock_for`` (True: it is now)."""
    with store.engine.connect().execution_options(**{IMMEDIATE: True}) as connection, connection.begin():
        failures = connection.execute(update(account).where(account.c.name == name)
                                      .values(failures=account.c.failures + 1).returning(account.c.failures)).scalar()
        if failures is None or failures < limit:
            return False
        connection.execute(update(account).where(account.c.name == name)
                           .values(failures=0, locked_until=timestamp(now + lock_for)))
        return True


def record_success(store: Store, name: str) -> None:
    """A sign-in that succeeded: the failures are forgotten."""
    with store.engine.connect() as connection, connection.begin():
        connection.execute(update(account).where(account.c.name == name).values(failures=0, locked_until=None))


def end_sessions(store: Store, name: str) -> None:
    """Sign-out: every session issued to the account so far stops being accepted."""
    with store.engine.connect() as connection, connection.begin():
        connection.execute(update(account).where(account.c.name == name)
                           .values(session_epoch=account.c.session_epoch + 1))
