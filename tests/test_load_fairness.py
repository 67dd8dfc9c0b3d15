"""A load shares the store's write lock fairly (issue #19): files are read and parsed with no write open,
and written in short batches, so an API write made during a big load is answered within a batch, not
after the whole load; a file that is slow to parse holds nobody up; a file that fails does not stop the
others. On SQLite and PostgreSQL.
"""

import json
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Final

import httpx
import pytest
from sqlalchemy import func, select

from benchmarks import generate
from service import loader
from service.application.loading import Change, store_files
from service.store import Store, parse_search
from service.store.content import fingerprint
from service.store.schema import resource_version

from .conftest import GUIDELINES, PATHWAYS, minimal_pathway
from .stores import ServerThread, bearer

#: Synthetic trusts x 15 topics: 750 pathways and 15 guidelines, a load of several seconds.
TRUSTS: Final = 50
#: Longest an API write made during the load may take: a batch's turn is tens of milliseconds, the
#: load several seconds; before, a write waited for the rest of the load (measured: 6.6 s of 9.5).
BOUND: Final = 3.0
#: Writes that must be answered while the load still runs, for the test to show anything.
DURING: Final = 3
TIME_LIMIT: Final = 300.0
BROKEN: Final = "broken.json"


@pytest.fixture(scope="module")
def big_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Generated pathways and guidelines (one network), and a file that is not JSON at all."""
    out = tmp_path_factory.mktemp("big")
    generate.write(generate.Spec(trusts=TRUSTS, topics=15), out)
    folder = out / "n000"
    (folder / "pathways" / BROKEN).write_bytes(b'{"resourceType": "PlanDefinition", "status": ')
    return folder


def plan_definitions(store: Store) -> int:
    """PlanDefinition versions committed, as any reader sees them, but for those written through the API."""
    with store.engine.connect() as connection:
        return connection.execute(select(func.count()).where(
            resource_version.c.resource_type == "PlanDefinition",
            resource_version.c.resource_id.not_like("api-%"))).scalar_one()


def api_pathway(number: int) -> dict:
    return minimal_pathway(id=f"api-{number}", url=f"http://api.example.org/fhir/PlanDefinition/{number}",
                           title=f"Written through the API during a load ({number})")


def test_api_writes_during_a_big_load_are_answered_within_a_batch(database_url: str, big_folder: Path,
                                                                  tmp_path: Path) -> None:
    expected = {generate.pathway_id(ods, slot) for ods, slot in
                generate.coordinates(generate.Spec(trusts=TRUSTS, topics=15))}
    command = [sys.executable, "-c", "from service.cli import main; main()", "load", "--database", database_url,
               "--pathways", str(big_folder / "pathways"), "--guidelines", str(big_folder / "guidelines"),
               "--format", "json"]
    waits: list[float] = []
    #: How much of the load was in the store as each API write was answered.
    loaded_by_then: list[int] = []
    with ServerThread(database_url) as server, httpx.Client(base_url=server.base, timeout=TIME_LIMIT,
                                                            headers=bearer()) as client:
        started = time.monotonic()
        printed = tmp_path / "report.json"  # a file: the report outgrows a pipe the test reads only at the end
        with printed.open("wb") as report_file:
            loading = subprocess.Popen(command, stdout=report_file, stderr=subprocess.PIPE)
        try:
            while plan_definitions(server.store) == 0:  # the load's first batch: it is writing now
                assert loading.poll() is None, "the load finished before any of its batches was seen"
                assert time.monotonic() - started < TIME_LIMIT
                time.sleep(0.01)
            while loading.poll() is None:
                assert time.monotonic() - started < TIME_LIMIT
                sent = time.monotonic()
                response = client.put(f"/PlanDefinition/api-{len(waits)}", json=api_pathway(len(waits)))
                waits.append(time.monotonic() - sent)
                assert response.status_code == 201, response.text
                loaded_by_then.append(plan_definitions(server.store))
                time.sleep(0.05)
            _nothing, errors = loading.communicate(timeout=TIME_LIMIT)
        finally:
            if loading.poll() is None:
                loading.kill()
                loading.wait()
        took = time.monotonic() - started

        # Answered mid-load: with more of the load still to come (not just while it printed its report).
        during = sum(1 for count in loaded_by_then if count < plan_definitions(server.store))
        assert during >= DURING, f"only {during} write(s) answered while the load was writing ({took:.1f} s)"
        assert max(waits) < BOUND, f"an API write waited {max(waits):.2f} s during a {took:.1f} s load"
        assert max(waits) < took / 2

        assert loading.returncode == 1, errors.decode()  # the broken file, and only it
        report = json.loads(printed.read_bytes())
        assert [Path(problem["file"]).name for problem in report["problems"]] == [BROKEN]
        assert report["created"] == len(expected) + 15 and report["updated"] == report["unchanged"] == 0
        loaded = {item["reference"].removeprefix("PlanDefinition/") for item in report["resources"]
                  if item["reference"].startswith("PlanDefinition/")}
        assert expected < loaded

        store = server.store
        current = {version.resource_id: version.version_id for version in store.current("PlanDefinition")}
        assert set(current) == loaded | {f"api-{number}" for number in range(len(waits))}
        assert set(current.values()) == {1}
        with store.engine.connect() as connection:
            audited = connection.execute(select(func.count()).where(
                resource_version.c.resource_type == "Provenance")).scalar_one()
            everything = connection.execute(select(func.count()).select_from(resource_version)).scalar_one()
        assert everything - audited == audited  # every version with its Provenance

    # And the same folder again: nothing new, not even a turn of the write lock.
    snapshot = store_snapshot(database_url)
    again = subprocess.run(command, capture_output=True, timeout=TIME_LIMIT, check=False)
    assert again.returncode == 1
    assert json.loads(again.stdout)["unchanged"] == len(expected) + 15
    assert store_snapshot(database_url) == snapshot


def store_snapshot(url: str) -> int:
    """The store's newest transaction number."""
    store = Store.open(url)
    try:
        return store.history("PlanDefinition", count=0).snapshot
    finally:
        store.close()


@pytest.fixture
def store(database_url: str) -> Iterator[Store]:
    opened = Store.open(database_url)
    yield opened
    opened.close()


def test_a_file_slow_to_parse_holds_up_no_write(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    """While the load is stuck in one file (as on a hostile number), other writers go on; the load then ends whole."""
    files, _problems = loader.discover([PATHWAYS, GUIDELINES])
    stuck_on = next(path for path in files if path.parent != files[0].parent)  # a later folder: a batch before it
    stuck, release = threading.Event(), threading.Event()
    load_file = loader.load_file

    def slow(path: Path) -> tuple[list[loader.LoadedResource], list]:
        if path == stuck_on:
            stuck.set()
            assert release.wait(60)
        return load_file(path)

    monkeypatch.setattr(loader, "load_file", slow)
    monkeypatch.setattr("service.application.loading.BATCH", 1)  # write each folder as it is read
    reports = []
    loading = threading.Thread(target=lambda: reports.append(store_files(store, [PATHWAYS, GUIDELINES])))
    loading.start()
    try:
        assert stuck.wait(60)
        written_before = plan_definitions(store)
        sent = time.monotonic()
        with store.write() as writer:
            writer.update(api_pathway(1), "api-1")
        assert time.monotonic() - sent < BOUND
        assert written_before > 0  # the folders before it are in the store already
    finally:
        release.set()
        loading.join(60)
    assert not loading.is_alive()
    (report,) = reports
    assert not [problem for problem in report.problems if problem.severity.value == "error"]
    assert report.count(Change.CREATED) == len({v.resource_id for v in store.current("PlanDefinition")}) - 1
    assert store.read("PlanDefinition", "api-1").version_id == 1


def test_a_plan_overtaken_by_another_write_is_made_again_in_the_turn(store: Store) -> None:
    """A write committed between the snapshot and the turn: the plan is made again, on top of it."""
    with store.write() as writer:
        writer.update(api_pathway(1), "api-1")
    calls = []

    def plan(newest):  # noqa: ANN001, ANN202
        calls.append(newest[("PlanDefinition", "api-1")].version_id)
        if len(calls) == 1:  # someone else writes after this snapshot
            with store.write() as other:
                other.update({**api_pathway(1), "title": "Someone else's"}, "api-1")
        return len(calls), [({**api_pathway(1), "title": "Mine"}, "api-1")]

    chosen, (outcome,) = store.update_planned([("PlanDefinition", "api-1")], plan)
    assert calls == [1, 2] and chosen == 2
    assert outcome.changed and outcome.version.version_id == 3
    history = store.history("PlanDefinition", "api-1")
    assert [v.resource["title"] for v in history.versions] == ["Mine", "Someone else's", api_pathway(1)["title"]]
    assert fingerprint(store.read("PlanDefinition", "api-1").existing()) == fingerprint(
        {**api_pathway(1), "title": "Mine"})
    assert store.history("Provenance", count=0).total == 3


def test_a_plan_made_before_the_turn_writes_what_a_write_inside_it_would(store: Store) -> None:
    """The same versions, times in order, index rows (a search finds it) and Provenance as ``Writer.update_many``."""
    with store.write() as writer:
        writer.update(api_pathway(1), "api-1")
    before = store.read("PlanDefinition", "api-1").last_updated
    resources = [({**api_pathway(1), "title": "Revised"}, "api-1"), (api_pathway(2), "api-2"),
                 (api_pathway(2), "api-2")]
    chosen, outcomes = store.update_planned([], lambda _newest: ("mine", resources))
    assert chosen == "mine"
    assert [(o.version.resource_id, o.version.version_id, o.created, o.changed) for o in outcomes] == [
        ("api-1", 2, False, True), ("api-2", 1, True, True), ("api-2", 1, False, False)]
    revised = store.read("PlanDefinition", "api-1")
    assert revised.last_updated > before and revised.resource["meta"]["versionId"] == "2"
    found = store.search(parse_search("PlanDefinition", [("title", "Revised")]))
    assert [v.resource_id for v in found.versions] == ["api-1"]
    assert store.history("Provenance", count=0).total == 3
