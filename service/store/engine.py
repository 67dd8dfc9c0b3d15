"""Database URLs to engines, with the schema brought up to date by Alembic on first use.

SQLite runs in WAL mode (readers never wait for the writer) and opens write transactions with
``BEGIN IMMEDIATE`` so two writers queue rather than fail. PostgreSQL uses psycopg 3; a plain
``postgresql://`` URL is read as ``postgresql+psycopg://``. Migrations on PostgreSQL hold an
advisory lock, so several server processes starting at once migrate one at a time.
"""

from pathlib import Path
from typing import Any, Final

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, Engine, create_engine, event, text
from sqlalchemy.engine import make_url

MIGRATIONS: Final = Path(__file__).with_name("migrations")
#: Any fixed 64-bit number: the advisory lock that serialises migrations on PostgreSQL.
MIGRATION_LOCK: Final = 0x6861726D6F6E6973
#: Execution option that makes a SQLite transaction take the write lock at BEGIN.
IMMEDIATE: Final = "harmonise_immediate"


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


def make_engine(url: str) -> Engine:
    """An engine for a ``sqlite:///file`` or ``postgresql+psycopg://`` URL."""
    parsed = make_url(url)
    if parsed.drivername == "postgresql":
        parsed = parsed.set(drivername="postgresql+psycopg")
    if parsed.get_backend_name() == "sqlite":
        engine = create_engine(parsed, connect_args={"timeout": 30})
        _sqlite_events(engine)
        return engine
    return create_engine(parsed, pool_pre_ping=True)


def migrate(engine: Engine) -> None:
    """Create or upgrade the schema to the newest Alembic revision."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with engine.connect().execution_options(**{IMMEDIATE: True}) as connection, connection.begin():
        if engine.dialect.name == "postgresql":
            connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK})
        config.attributes["connection"] = connection
        command.upgrade(config, "head")
