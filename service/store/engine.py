"""Database URLs to engines, with the schema brought up to date by Alembic on first use.

SQLite runs in WAL mode (readers never wait for the writer) and opens write transactions with
``BEGIN IMMEDIATE`` so two writers queue rather than fail. PostgreSQL uses psycopg 3; a plain
``postgresql://`` URL is read as ``postgresql+psycopg://``. Migrations on PostgreSQL hold an
advisory lock, so several server processes starting at once migrate one at a time.

Connections are pooled: each process keeps at most ``HARMONISE_DB_POOL_SIZE`` (default
``DEFAULT_POOL_SIZE``) open and never opens more, so a thread that finds them all in use waits
for one to come back (up to ``POOL_TIMEOUT`` seconds) instead of opening and closing a
connection of its own per request (a PostgreSQL connection takes milliseconds to start).

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
"""

import os
import select
from pathlib import Path
from typing import Any, Final

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DisconnectionError

MIGRATIONS: Final = Path(__file__).with_name("migrations")
#: Any fixed 64-bit number: the advisory lock that serialises migrations on PostgreSQL.
MIGRATION_LOCK: Final = 0x6861726D6F6E6973
#: Execution option that makes a SQLite transaction take the write lock at BEGIN.
IMMEDIATE: Final = "harmonise_immediate"
#: The environment variable that sets how many database connections one process keeps.
POOL_SIZE_VARIABLE: Final = "HARMONISE_DB_POOL_SIZE"
#: Enough for the requests one process can usefully run at once on a few cores; FastAPI's thread
#: pool (40 threads) queues for them rather than opening more.
DEFAULT_POOL_SIZE: Final = 10
#: Seconds a thread waits for a pooled connection before the request fails.
POOL_TIMEOUT: Final = 30


def pool_size(value: int | str | None = None) -> int:
    """The pool size: ``value``, else ``HARMONISE_DB_POOL_SIZE``, else the default; ValueError if not 1-1000."""
    chosen = value if value is not None else os.environ.get(POOL_SIZE_VARIABLE) or DEFAULT_POOL_SIZE
    try:
        size = int(chosen)
    except ValueError:
        raise ValueError(f"{POOL_SIZE_VARIABLE} must be a whole number of connections, not '{chosen}'") from None
    if not 1 <= size <= 1000:
        raise ValueError(f"{POOL_SIZE_VARIABLE} must be between 1 and 1000, not {size}")
    return size


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


def make_engine(url: str, pool: int | None = None) -> Engine:
    """An engine for a ``sqlite:///file`` or ``postgresql+psycopg://`` URL, keeping ``pool`` connections
    (default: ``pool_size()``)."""
    parsed = make_url(url)
    if parsed.drivername == "postgresql":
        parsed = parsed.set(drivername="postgresql+psycopg")
    pooling: dict[str, Any] = {"pool_size": pool_size(pool), "max_overflow": 0, "pool_timeout": POOL_TIMEOUT}
    if parsed.get_backend_name() == "sqlite":
        if parsed.database in (None, "", ":memory:"):
            pooling = {}  # one in-memory database per connection: SQLAlchemy's own pool for it
        engine = create_engine(parsed, connect_args={"timeout": 30}, **pooling)
        _sqlite_events(engine)
        return engine
    engine = create_engine(parsed, **pooling)
    _check_on_checkout(engine)
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
