"""Sign-in limits that forget (issue #18, part 1), on SQLite and PostgreSQL: an account's failures count only
within the lock window of the first of their run, and one client address may try only so many sign-ins in a
window, whatever names it tries (429), its address read as ``serve`` reads it behind a trusted proxy.

The store's counts are worked by hand at fixed times; the pages are driven over HTTP."""

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, insert, select
from starlette.testclient import TestClient
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from service.api import create_app
from service.store import Store
from service.store import accounts as account_store
from service.store.engine import make_engine
from service.store.schema import account as account_table
from service.store.schema import sign_in_address
from service.workspace.app import LOCK_FOR, MAX_FAILURES
from service.workspace.sign_in_limits import ADDRESS_WINDOW, MAX_ATTEMPTS_PER_ADDRESS

from .stores import TEST_SECURITY, at_revision
from .workspaces import sign_in

NINE = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
PROXY = "10.0.0.1"


def at(minutes: float) -> datetime:
    return NINE + timedelta(minutes=minutes)


@pytest.fixture
def store(network: str) -> Iterator[Store]:
    opened = Store.open(network)
    yield opened
    opened.close()


def test_failures_count_only_within_the_lock_window_of_the_first_of_their_run(store: Store) -> None:
    assert (5, timedelta(minutes=15)) == (MAX_FAILURES, LOCK_FOR)
    # Four failures between 09:00 and 09:14: not yet five.
    assert [account_store.record_failure(store, "rhq", at(m), MAX_FAILURES, LOCK_FOR) for m in (0, 5, 10, 14)] == [
        False] * 4
    # At 09:15 the run that began at 09:00 is a whole window old: it is forgotten, and this failure begins a new one.
    assert account_store.record_failure(store, "rhq", at(15), MAX_FAILURES, LOCK_FOR) is False
    account = account_store.find(store, "rhq")
    assert account is not None and (account.failures, account.failures_since, account.locked_until) == (1, at(15), None)
    # Four more by 09:29:59, within 15 minutes of 09:15: the fifth of the run locks the account until 09:44:59.
    assert [account_store.record_failure(store, "rhq", at(m), MAX_FAILURES, LOCK_FOR)
            for m in (16, 20, 25, 29 + 59 / 60)] == [False, False, False, True]
    account = account_store.find(store, "rhq")
    assert account is not None and (account.failures, account.failures_since) == (0, None)
    assert account.locked_until == at(44 + 59 / 60) and account.locked(at(44)) and not account.locked(at(45))
    # A success forgets the run.
    account_store.record_failure(store, "rp5", at(0), MAX_FAILURES, LOCK_FOR)
    account_store.record_success(store, "rp5")
    account = account_store.find(store, "rp5")
    assert account is not None and (account.failures, account.failures_since) == (0, None)


def test_one_address_may_try_so_many_times_in_a_window_whatever_names_it_tries(store: Store) -> None:
    window = timedelta(minutes=10)
    # Three attempts allowed in ten minutes from the first: the fourth, at 09:03, waits until 09:10.
    assert [account_store.record_attempt(store, "192.0.2.1", at(m), 3, window) for m in (0, 1, 2, 3)] == [
        None, None, None, at(10)]
    assert account_store.record_attempt(store, "192.0.2.1", at(9), 3, window) == at(10)
    assert account_store.record_attempt(store, "192.0.2.2", at(9), 3, window) is None  # another address: its own count
    # At 09:10 the window that began at 09:00 has ended: a new one begins, and the ended one's row is deleted.
    assert account_store.record_attempt(store, "192.0.2.2", at(19), 3, window) is None
    with store.engine.connect() as connection:
        rows = connection.execute(select(sign_in_address.c.address, sign_in_address.c.attempts)).all()
    assert sorted(rows) == [("192.0.2.2", 1)]  # 192.0.2.1's window (09:00-09:10) ended; 192.0.2.2's began at 09:19


def test_failures_counted_before_the_column_existed_are_forgotten(database_url: str) -> None:
    url = database_url
    at_revision(url, "0005")
    engine = make_engine(url)
    with engine.connect() as connection, connection.begin():
        connection.execute(insert(account_table).values(name="old", password_hash="x", trust="RHQ", network_lead=False,
                                                        failures=4, locked_until=None, session_epoch=0,
                                                        created="2026-01-01T00:00:00.000000Z"))
    engine.dispose()
    upgraded = Store.open(url)
    try:
        account = account_store.find(upgraded, "old")
        assert account is not None and (account.failures, account.failures_since) == (4, None)
        assert account_store.record_failure(upgraded, "old", NINE, MAX_FAILURES, LOCK_FOR) is False
        account = account_store.find(upgraded, "old")
        assert account is not None and (account.failures, account.failures_since) == (1, NINE)
    finally:
        upgraded.close()


def test_over_http_a_stale_run_of_failures_does_not_lock_the_account(network: str, store: Store) -> None:
    long_ago = datetime.now(UTC) - LOCK_FOR - timedelta(minutes=5)
    for _ in range(MAX_FAILURES - 1):
        account_store.record_failure(store, "rhq", long_ago, MAX_FAILURES, LOCK_FOR)
    with TestClient(create_app(network, TEST_SECURITY), base_url="https://testserver", follow_redirects=False) as web:
        wrong = sign_in(web, "rhq", "not-the-password")
        assert wrong.status_code == 400 and "not right" in wrong.text and "locked" not in wrong.text
        account = account_store.find(store, "rhq")
        assert account is not None and account.failures == 1 and account.locked_until is None
        assert sign_in(web, "rhq").status_code == 303


def behind_proxy(network: str, client: str, forwarded_for: str | None) -> TestClient:
    """A client of the service as ``serve --trusted-proxy 10.0.0.1`` runs it (uvicorn's proxy headers middleware),
    connecting from ``client`` and sending ``X-Forwarded-For: forwarded_for``."""
    app = ProxyHeadersMiddleware(create_app(network, TEST_SECURITY), trusted_hosts=[PROXY])
    headers = {"X-Forwarded-For": forwarded_for} if forwarded_for else {}
    return TestClient(app, base_url="https://testserver", follow_redirects=False, client=(client, 50000),
                      headers=headers)


def attempts_from(store: Store, address: str) -> int:
    with store.engine.connect() as connection:
        return connection.execute(select(func.coalesce(func.sum(sign_in_address.c.attempts), 0))
                                  .where(sign_in_address.c.address == address)).scalar_one()


def test_too_many_attempts_from_one_address_are_refused_with_429_whatever_the_name(network: str,
                                                                                 store: Store) -> None:
    assert (30, timedelta(minutes=15)) == (MAX_ATTEMPTS_PER_ADDRESS, ADDRESS_WINDOW)
    now = datetime.now(UTC)
    with store.engine.connect() as connection, connection.begin():  # 29 attempts from 203.0.113.7 a moment ago
        connection.execute(insert(sign_in_address).values(address="203.0.113.7", attempts=29,
                                                          since=(now - timedelta(seconds=1)).strftime(
                                                              "%Y-%m-%dT%H:%M:%S.%fZ")))
    with behind_proxy(network, PROXY, "203.0.113.7") as web, behind_proxy(network, PROXY, "203.0.113.8") as other, \
            behind_proxy(network, "198.51.100.4", "203.0.113.9") as untrusted:
        # The 30th, naming no account, is still answered; the 31st is refused before any name or password is read.
        assert sign_in(web, "nobody", "not-the-password").status_code == 400
        refused = sign_in(web, "lead")
        assert refused.status_code == 429, refused.text
        assert "more than 30 sign-in attempts from your network address" in refused.text and "try again after" in \
            refused.text
        assert 0 < int(refused.headers["retry-after"]) <= ADDRESS_WINDOW.total_seconds()
        assert attempts_from(store, "203.0.113.7") == 31
        account = account_store.find(store, "lead")
        assert account is not None and account.failures == 0  # the account was never tried
        # Another client behind the same proxy has its own count; so has a client that is no trusted proxy, whose
        # X-Forwarded-For is not believed: it is counted as the address it connects from.
        assert sign_in(other, "lead").status_code == 303
        assert sign_in(untrusted, "lead").status_code == 303
        assert (attempts_from(store, "203.0.113.8"), attempts_from(store, "198.51.100.4"),
                attempts_from(store, "203.0.113.9")) == (1, 1, 0)
