"""Crash safety: `harmonise load`, or a server carrying out a transaction, killed with SIGKILL while it
writes many resources, leaves every resource at its old version or its new one, the audit trail
matching, and a store that opens cleanly and takes the same write again. A transaction is one database
transaction, so all its resources alike; a load writes in batches (``transfer.BATCH``), so the batches
it committed stay, each whole, and the one it was writing is gone. On SQLite and PostgreSQL, with real
processes.

The kill is aimed, not timed: the test waits until the writer has held the store's write lock (the
clock row) for a while, so it lands among the resource writes, never before or after them. A load's
batches are too quick for that, so the load killed is one whose batches dawdle after their inserts
(``SLOW_LOAD``), and it is killed in a batch after its first.
"""

import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Final

import httpx
import pytest
from sqlalchemy import func, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError

from service.application.loading import BATCH
from service.store import Store
from service.store.engine import make_engine
from service.store.schema import resource_version

from .conftest import minimal_pathway, write_json
from .stores import BACKENDS, bearer, database, serve_subprocess

RESOURCES: Final = 400
#: How long the writer must have held the lock before the kill: longer than opening and migrating take.
HELD: Final = 0.3
TIME_LIMIT: Final = 120.0
#: ``harmonise load`` whose every write waits a while after its inserts, holding the lock, before it commits.
SLOW_LOAD: Final = ("import time; from service.store import store; insert = store.Writer.insert_batch; "
                    "store.Writer.insert_batch = lambda self, batch: (insert(self, batch), time.sleep(1.0))[0]; "
                    "from service.cli import main; main()")


@pytest.fixture(params=BACKENDS)
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    with database(request.param, tmp_path) as url:
        yield url


def write_in_progress(url: str) -> bool:
    """True while another process holds the store's write lock (it is inside ``Store.write``)."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        connection = sqlite3.connect(parsed.database, timeout=0, isolation_level=None)
        try:
            connection.execute("BEGIN IMMEDIATE")
            connection.execute("ROLLBACK")
            return False
        except sqlite3.OperationalError:
            return True
        finally:
            connection.close()
    engine = make_engine(url)
    try:
        with engine.connect() as connection, connection.begin():
            connection.execute(text("SELECT txn FROM clock WHERE id = 1 FOR UPDATE NOWAIT"))
        return False
    except OperationalError:
        return True
    finally:
        engine.dispose()


def kill_mid_write(process: subprocess.Popen, url: str, versions_before: int | None = None) -> None:
    """SIGKILL ``process`` once it has been writing for ``HELD`` seconds (with ``versions_before``: in a write
    after one that committed more PlanDefinition versions than that); fail if it never did."""
    deadline = time.monotonic() + TIME_LIMIT
    held_since: float | None = None
    while time.monotonic() < deadline:
        assert process.poll() is None, "the writer finished before it could be killed: make the write bigger"
        if versions_before is not None and plan_versions(url) > versions_before:
            versions_before = None  # a write has committed: the next one is to be killed
            held_since = None
        elif versions_before is None and write_in_progress(url):
            held_since = held_since or time.monotonic()
            if time.monotonic() - held_since >= HELD:
                os.kill(process.pid, signal.SIGKILL)
                process.wait()
                assert process.returncode == -signal.SIGKILL
                return
        else:
            held_since = None
        time.sleep(0.02)
    pytest.fail("the writer never started writing")


def plan_versions(url: str) -> int:
    """PlanDefinition versions committed, as another process sees them."""
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            return connection.execute(select(func.count()).where(
                resource_version.c.resource_type == "PlanDefinition")).scalar_one()
    finally:
        engine.dispose()


def pathway(number: int, title: str) -> dict:
    return minimal_pathway(id=f"crash-{number:04d}", url=f"http://test.example.org/fhir/PlanDefinition/c{number}",
                           title=title)


def after_crash(url: str) -> tuple[dict[str, str], int]:
    """Each pathway's current title and the number of its versions, once the store is opened again (as on
    any day: migration check included); checks that every version stored has its audit record."""
    store = Store.open(url)
    try:
        current = {v.resource_id: v.resource["title"] for v in store.current("PlanDefinition") if v.resource}
        versions = store.history("PlanDefinition", count=0).total
        with store.engine.connect() as connection:
            audit = connection.execute(select(func.count()).where(resource_version.c.resource_type == "Provenance"))
            audited = audit.scalar_one()
            everything = connection.execute(select(func.count()).select_from(resource_version)).scalar_one()
    finally:
        store.close()
    assert everything - audited == audited, "a version without its audit record, or a record without its version"
    if make_url(url).get_backend_name() == "sqlite":
        with sqlite3.connect(make_url(url).database) as connection:
            assert connection.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    return current, versions or 0


def load_command(url: str, pathways: Path, guidelines: Path, program: str = "from service.cli import main; main()"
                 ) -> list[str]:
    return [sys.executable, "-c", program, "load", "--database", url,
            "--pathways", str(pathways), "--guidelines", str(guidelines), "--format", "json"]


def test_a_load_killed_mid_write_keeps_its_committed_batches_whole(store_url: str, tmp_path: Path) -> None:
    assert RESOURCES > 2 * BATCH, "the load must write several batches"
    pathways, guidelines = tmp_path / "pathways", tmp_path / "guidelines"
    pathways.mkdir()
    guidelines.mkdir()
    for number in range(RESOURCES):
        write_json(pathways / f"{number:04d}.json", pathway(number, "Old"))
    subprocess.run(load_command(store_url, pathways, guidelines), check=True, capture_output=True,
                   timeout=TIME_LIMIT)
    for number in range(RESOURCES):
        write_json(pathways / f"{number:04d}.json", pathway(number, "New"))

    loading = subprocess.Popen(load_command(store_url, pathways, guidelines, SLOW_LOAD), stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    kill_mid_write(loading, store_url, versions_before=RESOURCES)

    current, versions = after_crash(store_url)
    renewed = sum(1 for title in current.values() if title == "New")
    assert len(current) == RESOURCES and set(current.values()) == {"Old", "New"}
    assert renewed % BATCH == 0 and renewed < RESOURCES  # whole batches committed; the one killed is gone
    assert versions == RESOURCES + renewed

    finished = subprocess.run(load_command(store_url, pathways, guidelines), capture_output=True,
                              timeout=TIME_LIMIT, check=False)
    assert finished.returncode == 0, finished.stderr
    current, versions = after_crash(store_url)
    assert set(current.values()) == {"New"} and versions == 2 * RESOURCES


def transaction(title: str) -> dict:
    return {"resourceType": "Bundle", "type": "transaction", "entry": [
        {"resource": pathway(number, title), "request": {"method": "PUT", "url": f"PlanDefinition/crash-{number:04d}"}}
        for number in range(RESOURCES)]}


def test_a_server_killed_mid_transaction_leaves_every_pathway_old_or_new(store_url: str, tmp_path: Path) -> None:
    lead = bearer()
    with serve_subprocess(store_url, tmp_path, tmp_path) as (server, base):
        created = httpx.post(base, json=transaction("Old"), headers=lead, timeout=TIME_LIMIT)
        assert created.status_code == 200, created.text
        answers: list[object] = []

        def send() -> None:
            try:
                answers.append(httpx.post(base, json=transaction("New"), headers=lead, timeout=TIME_LIMIT))
            except httpx.TransportError as exc:  # the server died under it, as intended
                answers.append(exc)

        sender = threading.Thread(target=send)
        sender.start()
        kill_mid_write(server, store_url)
        sender.join(TIME_LIMIT)
    assert answers and isinstance(answers[0], httpx.TransportError)

    current, versions = after_crash(store_url)
    assert len(current) == RESOURCES and set(current.values()) == {"Old"}
    assert versions == RESOURCES

    with serve_subprocess(store_url, tmp_path, tmp_path) as (_server, base):
        again = httpx.post(base, json=transaction("New"), headers=lead, timeout=TIME_LIMIT)
        assert again.status_code == 200, again.text
    current, versions = after_crash(store_url)
    assert set(current.values()) == {"New"} and versions == 2 * RESOURCES
