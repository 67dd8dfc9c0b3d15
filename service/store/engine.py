"""Database URLs to engines, with the schema brought up to date by Alembic on first use.

SQLite runs in WAL mode (readers never wait for the writer) and opens write transactions with
``BEGIN IMMEDIATE`` so two writers queue rather than fail. PostgreSQL uses psycopg 3; a plain
``postgresql://`` URL is read as ``postgresql+psycopg://``. Migrations on PostgreSQL hold an
advisory lock, so several server processes starting at once migrate one at a time.

Connections are pooled: each process keeps at most ``pool`` (``make_engine``; the API's is
``HARMONISE_DB_POOL_SIZE``, read with the other settings) open and never opens more, so a thread
that finds them all in use waits for one to come back (up to ``POOL_TIMEOUT`` seconds) instead of
opening and closing a connection of its own per request (a PostgreSQL connection takes
milliseconds to start).

A PostgreSQL connection is checked when taken from the pool without a round trip to the server
(``_check_on_checkout``): a server that goes away (a restart or shutdown, ``pg_terminate_backend``,
an idle-session timeout) says so on the socket (an error message and end of file) before it
closes, so a pooled connection with anything to read is suspect. Only such a connection is pinged
(``SELECT 1``), and replaced if the ping fails; a quiet one is used at once. SQLAlchemy's own
``pool_pre_ping`` pinged every connection on every checkout: a second round trip for each read,
as costly as the read itself. A restart therefore still costs no request. What neither check can
see is a connection that dies between checkout and its statement (as with the ping): that
statement fails, and SQLAlchemy then invalidates the whole pool, so the next request reconnects.

Reads use ``reading(engine)``: connections in autocommit mode, so a read is its statement alone,
without BEGIN and COMMIT around it. Every read the store makes is either one statement or pinned
to a transaction number (see ``sql``), so it needs no transaction to be consistent.

A statement timeout (``time_statements``, or ``make_engine(statement_timeout_ms=...)``; none by
default) bounds every read statement: PostgreSQL's ``statement_timeout``, set once on each
connection, and on SQLite a progress handler that interrupts a statement once its own deadline
(set as it starts, so each statement gets the whole budget) has passed. A cancelled statement is
a ``StatementTimeout``. A read changes nothing, so cancelling one leaves nothing to undo. Writes
(and migrations: the connections opened with ``IMMEDIATE``) are not timed: a cancelled write
would be rolled back whole (both databases undo the transaction), but a large load or transaction
Bundle may rightly run longer than any request's read budget, and its size is bounded by the
body limit instead; on PostgreSQL each write transaction begins with ``SET LOCAL
statement_timeout = 0``, which ends with it.
"""

import math
import select
import sqlite3
import time
from pathlib import Path
from typing import Any, Final

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, Engine, create_engine, event, text
from sqlalchemy.engine import ExceptionContext, make_url
from sqlalchemy.exc import DisconnectionError

from .errors import StatementTimeout

MIGRATIONS: Final = Path(__file__).with_name("migrations")
#: Any fixed 64-bit number: the advisory lock that serialises migrations on PostgreSQL.
MIGRATION_LOCK: Final = 0x6861726D6F6E6973
#: Execution option that makes a SQLite transaction take the write lock at BEGIN.
IMMEDIATE: Final = "harmonise_immediate"
#: Enough for the requests one process can usefully run at once on a few cores; FastAPI's thread
#: pool (40 threads) queues for them rather than opening more. The default of HARMONISE_DB_POOL_SIZE.
DEFAULT_POOL_SIZE: Final = 10
#: Seconds a thread waits for a pooled connection before the request fails.
POOL_TIMEOUT: Final = 30


def _sqlite_events(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # SQLAlchemy, not pysqlite, decides when to BEGIN
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _begin(connection: Connection) -> None:
        immediate = connection.get_execution_options().get(IMMEDIATE, False)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


def _has_input(fd: int) -> bool:
    """Whether the socket has anything to read, or has hung up, right now (without waiting)."""
    if hasattr(select, "poll"):
        poller = select.poll()
        poller.register(fd, select.POLLIN | select.POLLPRI)
        return bool(poller.poll(0))
    readable, _, _ = select.select([fd], [], [fd], 0)  # Windows: no poll(), and no fd past 1024 there
    return bool(readable)


def _check_on_checkout(engine: Engine) -> None:
    """Replace a pooled PostgreSQL connection whose server has gone (see the module's docstring)."""

    @event.listens_for(engine, "checkout")
    def _checkout(dbapi_connection: Any, _record: Any, _proxy: Any) -> None:
        if dbapi_connection.closed or dbapi_connection.broken:
            raise DisconnectionError("the connection is closed")
        try:
            quiet = not _has_input(dbapi_connection.pgconn.socket)
        except (OSError, ValueError) as exc:  # no socket any more
            raise DisconnectionError(f"the connection's socket is unusable: {exc}") from exc
        if quiet:
            return
        try:  # a notice or parameter change is harmless; the server's goodbye is not
            engine.dialect.do_ping(dbapi_connection)
        except Exception as exc:
            raise DisconnectionError(f"the server closed the connection: {exc}") from exc


#: SQLite virtual machine steps between two looks at the clock: a few microseconds of work, so a
#: statement is interrupted within a millisecond or so of its deadline, at a cost too small to measure.
PROGRESS_STEPS: Final = 1000
#: PostgreSQL's SQLSTATE for a statement cancelled (by statement_timeout, or by pg_cancel_backend).
QUERY_CANCELED: Final = "57014"
#: Where a SQLite connection keeps its current statement's deadline (``time.monotonic()``).
_DEADLINE: Final = "harmonise_deadline"
#: Marks a PostgreSQL connection whose statement_timeout is set.
_TIMED: Final = "harmonise_timed"


def _timed_out(milliseconds: int, setting: str | None) -> StatementTimeout:
    raises = f" (the setting {setting} raises the limit)" if setting else ""
    return StatementTimeout(f"the request's database statement ran past this server's limit of {milliseconds:,} ms "
                            f"and was cancelled; nothing was changed. Ask for less (fewer or more selective search "
                            f"parameters, a smaller _count), or try again later{raises}")


def _time_sqlite(engine: Engine, milliseconds: int) -> None:
    budget = milliseconds / 1000

    def install(dbapi_connection: Any, record: Any) -> None:
        deadline = record.info[_DEADLINE] = [math.inf]  # none until a statement starts
        dbapi_connection.set_progress_handler(lambda: time.monotonic() > deadline[0], PROGRESS_STEPS)

    @event.listens_for(engine, "checkout")
    def _checkout(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        if _DEADLINE not in record.info:  # connections made before the timeout was set too
            install(dbapi_connection, record)

    @event.listens_for(engine, "before_cursor_execute")
    def _start(connection: Connection, *_args: Any) -> None:
        deadline = connection.connection.info.get(_DEADLINE)
        if deadline is not None:  # the statement's rows are fetched within the same deadline
            writing = connection.get_execution_options().get(IMMEDIATE, False)
            deadline[0] = math.inf if writing else time.monotonic() + budget

    @event.listens_for(engine, "reset")
    def _reset(_dbapi_connection: Any, record: Any, _state: Any) -> None:
        if _DEADLINE in record.info:  # the rollback on return is never interrupted
            record.info[_DEADLINE][0] = math.inf


def _time_postgresql(engine: Engine, milliseconds: int) -> None:
    @event.listens_for(engine, "checkout")
    def _checkout(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        if record.info.get(_TIMED) == milliseconds:
            return
        autocommit = dbapi_connection.autocommit
        dbapi_connection.autocommit = True  # a session setting, outside any transaction
        try:
            dbapi_connection.execute(f"SET statement_timeout = {int(milliseconds)}")
        finally:
            dbapi_connection.autocommit = autocommit
        record.info[_TIMED] = milliseconds

    @event.listens_for(engine, "begin")
    def _begin(connection: Connection) -> None:
        if connection.get_execution_options().get(IMMEDIATE, False):
            connection.exec_driver_sql("SET LOCAL statement_timeout = 0")


def time_statements(engine: Engine, milliseconds: int | None, setting: str | None = None) -> None:
    """Cancel any read statement on ``engine`` that runs longer than ``milliseconds`` (see the module's
    docstring), raising ``StatementTimeout``; ``setting`` names what raises the limit, for its message.
    None: no timeout. Call it once per engine."""
    if milliseconds is None:
        return
    if milliseconds < 1:
        raise ValueError(f"a statement timeout must be at least 1 ms, not {milliseconds}")
    if engine.dialect.name == "sqlite":
        _time_sqlite(engine, milliseconds)
        cancelled = _sqlite_interrupted
    else:
        _time_postgresql(engine, milliseconds)
        cancelled = _postgresql_cancelled

    @event.listens_for(engine, "handle_error")
    def _cancelled(context: ExceptionContext) -> None:
        if cancelled(context.original_exception):
            raise _timed_out(milliseconds, setting) from context.original_exception


def _sqlite_interrupted(exc: BaseException) -> bool:
    return isinstance(exc, sqlite3.OperationalError) and str(exc) == "interrupted"


def _postgresql_cancelled(exc: BaseException) -> bool:
    return getattr(exc, "sqlstate", None) == QUERY_CANCELED


def make_engine(url: str, pool: int = DEFAULT_POOL_SIZE, statement_timeout_ms: int | None = None) -> Engine:
    """An engine for a ``sqlite:///file`` or ``postgresql+psycopg://`` URL, keeping ``pool`` connections,
    and cancelling reads after ``statement_timeout_ms`` (``time_statements``)."""
    parsed = make_url(url)
    if parsed.drivername == "postgresql":
        parsed = parsed.set(drivername="postgresql+psycopg")
    pooling: dict[str, Any] = {"pool_size": pool, "max_overflow": 0, "pool_timeout": POOL_TIMEOUT}
    if parsed.get_backend_name() == "sqlite":
        if parsed.database in (None, "", ":memory:"):
            pooling = {}  # one in-memory database per connection: SQLAlchemy's own pool for it
        engine = create_engine(parsed, connect_args={"timeout": 30}, **pooling)
        _sqlite_events(engine)
    else:
        engine = create_engine(parsed, **pooling)
        _check_on_checkout(engine)
    time_statements(engine, statement_timeout_ms)
    return engine


def reading(engine: Engine) -> Engine:
    """The engine whose connections read without a transaction (autocommit), sharing ``engine``'s pool.

    On SQLite a BEGIN costs no round trip, and its snapshot keeps a multi-statement read
    consistent, so reads there keep their transaction.
    """
    if engine.dialect.name == "sqlite":
        return engine
    return engine.execution_options(isolation_level="AUTOCOMMIT")


def migrate(engine: Engine) -> None:
    """Create or upgrade the schema to the newest Alembic revision."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with engine.connect().execution_options(**{IMMEDIATE: True}) as connection, connection.begin():
        if engine.dialect.name == "postgresql":
            connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK})
        config.attributes["connection"] = connection
        command.upgrade(config, "head")
