"""Two clients updating one pathway with the same If-Match: exactly one wins, nothing is lost.

Run against one server per backend, and on PostgreSQL also against two separate
``harmonise serve`` processes sharing the database.
"""

import threading
from collections.abc import Iterator

import httpx
import pytest

from .conftest import minimal_pathway
from .stores import ServerThread, bearer, database, serve_process

ROUNDS = 5
INCREMENTS = 4


@pytest.fixture(scope="module", params=["sqlite", "postgresql", "postgresql-two-processes"])
def bases(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    """The FHIR base URLs the two clients use: one server, or two processes on one database."""
    backend = request.param.removesuffix("-two-processes")
    folder = tmp_path_factory.mktemp("concurrency")
    with database(backend, folder) as url:
        if request.param.endswith("two-processes"):
            with serve_process(url, folder, folder) as first, serve_process(url, folder, folder) as second:
                yield first, second
        else:
            with ServerThread(url) as server:
                yield server.base, server.base


def _at_once(*actions) -> list:
    """Run the actions in threads released together; their results in order."""
    barrier = threading.Barrier(len(actions))
    results: list = [None] * len(actions)

    def run(index: int) -> None:
        barrier.wait()
        results[index] = actions[index]()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(actions))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def test_same_if_match_exactly_one_wins(bases: tuple[str, str], request: pytest.FixtureRequest) -> None:
    tag = f"race-{request.node.callspec.id.replace('_', '-')}"
    pathway = minimal_pathway(id=tag)
    with (httpx.Client(base_url=bases[0], timeout=60, headers=bearer()) as left,
          httpx.Client(base_url=bases[1], timeout=60, headers=bearer()) as right):
        assert left.put(f"/PlanDefinition/{tag}", json=pathway).status_code == 201
        for round_ in range(1, ROUNDS + 1):
            def update(client: httpx.Client, who: str, round_: int = round_) -> httpx.Response:
                return client.put(f"/PlanDefinition/{tag}", json={**pathway, "title": f"{who} {round_}"},
                                  headers={"If-Match": f'W/"{round_}"'})

            statuses = _at_once(lambda: update(left, "left"), lambda: update(right, "right"))
            assert sorted(response.status_code for response in statuses) == [200, 412]
            winner = next(response for response in statuses if response.status_code == 200)
            loser = next(response for response in statuses if response.status_code == 412)
            assert winner.headers["etag"] == f'W/"{round_ + 1}"'
            assert loser.json()["resourceType"] == "OperationOutcome"
            current = right.get(f"/PlanDefinition/{tag}").json()
            assert (current["meta"]["versionId"], current["title"]) == (str(round_ + 1), winner.json()["title"])
        history = left.get(f"/PlanDefinition/{tag}/_history").json()
        assert history["total"] == ROUNDS + 1
        assert [entry["response"]["etag"] for entry in history["entry"]] == [
            f'W/"{v}"' for v in range(ROUNDS + 1, 0, -1)]


def _append_steps(client: httpx.Client, tag: str, who: str) -> int:
    """Read, add one step, write with If-Match; on 412 read again. Returns the number of 412s."""
    refused = 0
    for number in range(INCREMENTS):
        while True:
            current = client.get(f"/PlanDefinition/{tag}")
            resource = current.json()
            resource["action"].append({"id": f"{who}-{number}", "title": f"{who} step {number}"})
            response = client.put(f"/PlanDefinition/{tag}", json=resource,
                                  headers={"If-Match": current.headers["etag"]})
            if response.status_code == 200:
                break
            assert response.status_code == 412, response.text
            refused += 1
    return refused


def test_read_modify_write_with_if_match_loses_no_update(bases: tuple[str, str],
                                                         request: pytest.FixtureRequest) -> None:
    tag = f"counter-{request.node.callspec.id.replace('_', '-')}"
    with (httpx.Client(base_url=bases[0], timeout=60, headers=bearer()) as left,
          httpx.Client(base_url=bases[1], timeout=60, headers=bearer()) as right):
        assert left.put(f"/PlanDefinition/{tag}", json=minimal_pathway(id=tag)).status_code == 201
        _at_once(lambda: _append_steps(left, tag, "left"), lambda: _append_steps(right, tag, "right"))
        final = left.get(f"/PlanDefinition/{tag}").json()
    added = sorted(action["id"] for action in final["action"][2:])
    assert added == sorted([f"left-{n}" for n in range(INCREMENTS)] + [f"right-{n}" for n in range(INCREMENTS)])
    assert final["meta"]["versionId"] == str(1 + 2 * INCREMENTS)
