"""Test support for the store and the API: a database per backend, and FHIR servers to talk to.

Every test run gets its own SQLite file or its own PostgreSQL schema (dropped afterwards), so runs
never collide. PostgreSQL is looked for at 127.0.0.1:5432, database ``test``, user ``postgres``
or ``root`` with trust authentication. Without a server its tests are skipped, unless
``HARMONISE_REQUIRE_POSTGRES=1`` (CI), when they fail.

Servers run with the production security model and a fixed test key; ``bearer()`` issues a token
for it (by default a network lead's, which may write anything), and the ``client`` fixture sends
one, so tests that are not about access control write as a network lead.
"""

import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Final

import httpx
import psycopg
import pytest
import uvicorn
from alembic import command
from alembic.config import Config

from service.api import create_app
from service.security.scopes import Scopes
from service.security.settings import SECRET, VARIABLES, SecuritySettings
from service.security.tokens import issue
from service.store.engine import IMMEDIATE, MIGRATIONS, make_engine

BACKENDS: Final = ("sqlite", "postgresql")
POSTGRES_USERS: Final = ("postgres", "root")
#: The signing key of every test server (a test key: never used outside the tests).
TEST_SECRET: Final = "harmonise-tests-only-signing-key-0123456789"
TEST_SECURITY: Final = SecuritySettings(secret=TEST_SECRET.encode(), key_source="tests/stores.py")
NETWORK_LEAD_SCOPES: Final = "system/*.* network-lead"


def bearer(scope: str = NETWORK_LEAD_SCOPES, trust: str | None = None, subject: str = "test-network-lead",
           settings: SecuritySettings = TEST_SECURITY) -> dict[str, str]:
    """An Authorization header with a token for the test servers."""
    return {"Authorization": f"Bearer {issue(settings, subject, Scopes.parse(scope), trust)}"}


def _postgres_server() -> str | None:
    """The conninfo of a reachable test server, or None."""
    for user in POSTGRES_USERS:
        conninfo = f"host=127.0.0.1 port=5432 dbname=test user={user} connect_timeout=5"
        try:
            with psycopg.connect(conninfo):
                return conninfo
        except psycopg.OperationalError:
            continue
    return None


@contextmanager
def postgres_schema() -> Iterator[str]:
    """A SQLAlchemy URL whose search_path is a new, empty schema; the schema is dropped after."""
    conninfo = _postgres_server()
    if conninfo is None:
        message = "PostgreSQL is not reachable at 127.0.0.1:5432 (database test, user postgres or root)"
        if os.environ.get("HARMONISE_REQUIRE_POSTGRES") == "1":
            pytest.fail(f"{message}, and HARMONISE_REQUIRE_POSTGRES=1")
        pytest.skip(message)
    user = conninfo.split("user=")[1].split()[0]
    schema = f"harmonise_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(conninfo, autocommit=True) as connection:
        connection.execute(f'CREATE SCHEMA "{schema}"')
    try:
        yield f"postgresql+psycopg://{user}@127.0.0.1:5432/test?options=-csearch_path%3D{schema}"
    finally:
        with psycopg.connect(conninfo, autocommit=True) as connection:
            connection.execute(f'DROP SCHEMA "{schema}" CASCADE')


@contextmanager
def database(backend: str, folder: Path) -> Iterator[str]:
    """A fresh, empty database URL on ``backend``."""
    if backend == "sqlite":
        yield f"sqlite:///{folder / f'store-{uuid.uuid4().hex[:8]}.db'}"
    else:
        with postgres_schema() as url:
            yield url


def at_revision(url: str, revision: str) -> None:
    """Bring the database at ``url`` to schema ``revision`` (and no further), as an older release left it."""
    engine = make_engine(url)
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with engine.connect().execution_options(**{IMMEDIATE: True}) as connection, connection.begin():
        config.attributes["connection"] = connection
        command.upgrade(config, revision)
    engine.dispose()


class ServerThread:
    """The ASGI app served by a real uvicorn on localhost, in a thread of the test process."""

    def __init__(self, database_url: str, security: SecuritySettings = TEST_SECURITY) -> None:
        self.app = create_app(database_url, security)
        self.store = self.app.state.store
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._socket.bind(("127.0.0.1", 0))
        self.port = self._socket.getsockname()[1]
        self._server = uvicorn.Server(uvicorn.Config(self.app, log_level="warning", lifespan="on"))
        self._thread = threading.Thread(target=self._server.run, kwargs={"sockets": [self._socket]}, daemon=True)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}/fhir"

    def __enter__(self) -> "ServerThread":
        self._thread.start()
        while not self._server.started:
            if not self._thread.is_alive():
                raise RuntimeError("the test server did not start")
            time.sleep(0.01)
        return self

    def __exit__(self, *_exc: object) -> None:
        self._server.should_exit = True
        self._thread.join()
        self._socket.close()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextmanager
def serve_subprocess(database_url: str, pathways: Path, guidelines: Path, secret: str | None = TEST_SECRET, *,
                     args: Sequence[str] = (), settings: Mapping[str, str] | None = None, live_site: bool = False,
                     ) -> Iterator[tuple[subprocess.Popen[bytes], str]]:
    """``harmonise serve`` as its own process; yields the process and its FHIR base URL once it answers.

    It signs and verifies tokens with ``secret`` (that of ``bearer()``), or, with None, as the
    embedded default does: with the key it generates beside the SQLite database. ``args`` are added
    to the command line and ``settings`` (``HARMONISE_...`` variables) to its environment, which
    otherwise has none of the security settings of the environment the tests run in. Unless
    ``live_site`` (or ``args`` name a ``--site``), it serves no site, so that tests of the API do not
    build one from the store in the background.
    """
    if not live_site and "--site" not in args:
        args = [*args, "--site", tempfile.mkdtemp(prefix="harmonise-no-site-")]
    port = free_port()
    command = [sys.executable, "-c", "from service.cli import main; main()", "serve", "--port", str(port),
               "--database", database_url, "--pathways", str(pathways), "--guidelines", str(guidelines), *args]
    environment = {name: value for name, value in os.environ.items() if name not in VARIABLES}
    if secret is not None:
        environment[SECRET] = secret
    environment.update(settings or {})
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=environment)
    base = f"http://127.0.0.1:{port}/fhir"
    try:
        _wait_until_up(base, process)
        yield process, base
    finally:
        if process.poll() is None:
            process.terminate()
        process.wait()


@contextmanager
def serve_process(database_url: str, pathways: Path, guidelines: Path, secret: str | None = TEST_SECRET, *,
                  args: Sequence[str] = (), settings: Mapping[str, str] | None = None,
                  live_site: bool = False) -> Iterator[str]:
    """``harmonise serve`` as its own process (see ``serve_subprocess``); yields its FHIR base URL."""
    with serve_subprocess(database_url, pathways, guidelines, secret, args=args, settings=settings,
                          live_site=live_site) as running:
        yield running[1]


def _wait_until_up(base: str, process: subprocess.Popen[bytes]) -> None:
    for _attempt in range(600):
        if process.poll() is not None:
            raise RuntimeError(f"harmonise serve exited: {process.stderr.read().decode() if process.stderr else ''}")
        try:
            if httpx.get(f"{base}/metadata").status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"harmonise serve did not answer at {base}")


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty store database, once per backend."""
    with database(request.param, tmp_path) as url:
        yield url


@pytest.fixture(scope="module", params=BACKENDS)
def server(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerThread]:
    """A running FHIR server on a fresh store, shared by one test module, once per backend."""
    with database(request.param, tmp_path_factory.mktemp("store")) as url, ServerThread(url) as running:
        yield running


@pytest.fixture
def client(server: ServerThread) -> Iterator[httpx.Client]:
    """A client of the module's server, with a network lead's token."""
    with httpx.Client(base_url=server.base, timeout=60, headers=bearer()) as http:
        yield http
