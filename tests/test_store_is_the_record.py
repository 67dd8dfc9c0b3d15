"""The store is the record (issue #12): what is written through one door is what every reader sees,
and no file undoes it. On SQLite and PostgreSQL, against real ``harmonise serve`` processes.
"""

import base64
import json
import shutil
import threading
import time
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Final

import httpx
import pytest
from typer.testing import CliRunner

from service import fhirformat
from service.cli import app
from service.register import RegisterEntry, to_resource
from service.site.content import read_site_content
from service.site.settings import SiteSettings
from service.store import Store

from .conftest import GUIDELINES, PATHWAYS, REPOSITORY
from .stores import BACKENDS, bearer, database, serve_process

TOPIC: Final = "tonsillectomy-follow-up"
RFS: Final = "PlanDefinition/rfs-tonsillectomy-follow-up"
RFS_FILE: Final = Path("pathways/paediatrics/tonsillectomy-follow-up/RFS.xml")
AS_OF: Final = "2026-11-22"
#: The done-when of the issue: the site shows a write within this many seconds.
SITE_SECONDS: Final = 10
runner = CliRunner()


def cli(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, list(args), catch_exceptions=False)
    return result.exit_code, result.output


def compared(database_url: str) -> dict:
    code, output = cli("compare", TOPIC, "--database", database_url, "--format", "json", "--as-of", AS_OF)
    assert code == 0, output
    return json.loads(output)["topics"][0]


def api_compared(base: str) -> dict:
    response = httpx.get(f"{base}/PlanDefinition/$compare", params={"topic": TOPIC, "as-of": AS_OF},
                         headers={"accept": "application/json"}, timeout=60)
    assert response.status_code == 200, response.text
    return response.json()["topics"][0]


def pathway_of(report: dict, ods: str) -> str:
    return next(t["pathway"] for t in report["trusts"] if t["ods"] == ods)


@pytest.fixture(params=BACKENDS)
def network(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """An empty store, and a copy of the sample network's folders to change."""
    folders = tmp_path / "network"
    shutil.copytree(PATHWAYS, folders / "pathways")
    shutil.copytree(GUIDELINES, folders / "guidelines")
    with database(request.param, tmp_path) as url:
        yield url, folders


def new_rfs_version(base: str) -> dict:
    """RFS's pathway as an integrator changes it: version 1.3.0, its last step removed."""
    current = httpx.get(f"{base}/{RFS}", timeout=60).json()
    changed = {key: value for key, value in current.items() if key != "meta"}
    changed["meta"] = {"profile": current["meta"]["profile"]}
    changed.update(version="1.3.0", date="2026-11-30", action=current["action"][:-1])
    return changed


def wait_for_site(origin: str, path: str, words: str, seconds: float = SITE_SECONDS) -> float:
    """Seconds until the site at ``origin`` shows ``words`` on ``path`` (fails after ``seconds``)."""
    started = time.perf_counter()
    while time.perf_counter() - started < seconds:
        page = httpx.get(f"{origin}{path}", timeout=30)
        if page.status_code == 200 and words in page.text:
            return time.perf_counter() - started
        time.sleep(0.25)
    raise AssertionError(f"{path} did not show {words!r} within {seconds} s")


def test_a_trust_write_through_the_api_is_what_every_reader_sees_and_no_load_undoes_it(
        network: tuple[str, Path]) -> None:
    url, folders = network
    pathways, guidelines = folders / "pathways", folders / "guidelines"
    with serve_process(url, pathways, guidelines, live_site=True) as base:  # an empty store: serve loads it first
        origin = base.removesuffix("/fhir")
        wait_for_site(origin, f"/variation/{TOPIC}.html", "|1.2.0")  # the first build, from the store
        written = httpx.put(f"{base}/{RFS}", json=new_rfs_version(base), timeout=60,
                            headers=bearer("system/*.read system/PlanDefinition.write", trust="RFS"))
        assert written.status_code == 200, written.text
        canonical = "http://rfs.example.org/fhir/PlanDefinition/tonsillectomy-follow-up|1.3.0"
        assert pathway_of(compared(url), "RFS") == canonical  # the command line
        assert pathway_of(api_compared(base), "RFS") == canonical  # $compare
        wait_for_site(origin, f"/variation/{TOPIC}.html", "|1.3.0")  # the site at /, within seconds
    with serve_process(url, pathways, guidelines) as base:  # a restart loads nothing: the store is not empty
        assert pathway_of(api_compared(base), "RFS") == canonical
    code, output = cli("load", "--database", url, "--pathways", str(pathways), "--guidelines", str(guidelines))
    assert code == 0, output  # the files have not changed since they were imported: nothing to do
    assert pathway_of(compared(url), "RFS") == canonical

    # The trust's file changes too: a conflict, named, and nothing written.
    rfs_file = folders / RFS_FILE
    rfs_file.write_bytes(rfs_file.read_bytes().replace(b'<version value="1.2.0"/>', b'<version value="1.2.1"/>'))
    store = Store.open(url)
    versions = [v.version_id for v in store.history("PlanDefinition", RFS.split("/")[1]).versions]
    code, output = cli("load", "--database", url, "--pathways", str(pathways), "--guidelines", str(guidelines))
    assert code == 1
    assert "1 conflict(s)" in output and str(RFS_FILE) in output.replace("\n", "")
    assert ("the file has version 1.2.1; the store has 1.3.0 (versionId 2), written by test-network-lead (for RFS)"
            in " ".join(output.split()))
    assert [v.version_id for v in store.history("PlanDefinition", RFS.split("/")[1]).versions] == versions
    # Taking the file makes exactly one new version, on top of the trust's (which stays in the history).
    code, output = cli("load", "--database", url, "--pathways", str(pathways), "--guidelines", str(guidelines),
                       "--on-conflict", "take-file")
    assert code == 0, output
    history = store.history("PlanDefinition", RFS.split("/")[1]).versions
    assert [(v.version_id, v.existing()["version"]) for v in history] == [(3, "1.2.1"), (2, "1.3.0"), (1, "1.2.0")]
    store.close()


def an_unwarranted_step_difference(report: dict) -> dict:
    return next(d for d in report["differences"] if d["classification"] == "unwarranted" and d["step"])


def test_a_register_entry_written_through_the_api_warrants_the_difference_everywhere(
        network: tuple[str, Path], tmp_path: Path) -> None:
    url, folders = network
    pathways, guidelines = folders / "pathways", folders / "guidelines"
    with serve_process(url, pathways, guidelines) as base:
        difference = an_unwarranted_step_difference(api_compared(base))
        entry = RegisterEntry(trust=difference["trust"], topic=TOPIC, step=difference["step"],
                              dimension=difference["dimension"], rationale="Agreed in a test: illustrative only.",
                              agreed_by="Test network board", agreed_on="2026-11-01", review_by="2027-11-01")
        resource = to_resource(entry)
        trust = bearer("system/*.*", trust=difference["trust"])
        refused = httpx.put(f"{base}/Basic/{resource['id']}", json=resource, headers=trust, timeout=60)
        assert refused.status_code == 403  # a trust does not decide what is warranted
        written = httpx.put(f"{base}/Basic/{resource['id']}", json=resource, headers=bearer(), timeout=60)
        assert written.status_code == 201, written.text

        def classification(report: dict) -> str:
            return next(d["classification"] for d in report["differences"]
                        if (d["trust"], d["step"], d["dimension"]) == (entry.trust, entry.step, entry.dimension.value))

        assert classification(api_compared(base)) == "warranted"  # the API
        assert classification(compared(url)) == "warranted"  # the command line
        site = read_site_content(SiteSettings(PATHWAYS, GUIDELINES, date.fromisoformat(AS_OF), root=REPOSITORY,
                                              database=url))
        assert site.topics[TOPIC].report is not None
        assert classification(site.topics[TOPIC].report.model_dump(mode="json")) == "warranted"  # the site
        audit = httpx.get(f"{base}/Provenance", params={"target": f"Basic/{resource['id']}"}, headers=bearer(),
                          timeout=60).json()
        assert audit["total"] == 1 and audit["entry"][0]["resource"]["agent"][0]["who"]["identifier"]["value"] == \
            "test-network-lead"
    exported = tmp_path / "exported"
    code, output = cli("export", str(exported), "--database", url)
    assert code == 0, output
    register_file = (exported / "guidelines" / "variation-register.yaml").read_text()
    assert f"step: {entry.step}" in register_file and "Agreed in a test: illustrative only." in register_file
    code, output = cli("load", "--database", url, "--pathways", str(exported / "pathways"), "--guidelines",
                       str(exported / "guidelines"), "--format", "json")
    assert code == 0, output
    report = json.loads(output)
    assert report["created"] == report["updated"] == report["register_entries"] == 0 and report["conflicts"] == []


def test_the_downloaded_guideline_carries_the_narrative_its_page_shows(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'store.db'}"
    assert cli("load", "--database", url)[0] == 0
    site = tmp_path / "site"
    code, output = cli("publish", "--database", url, "--out", str(site), "--as-of", AS_OF)
    assert code == 0, output
    written = (GUIDELINES / "paediatrics" / f"{TOPIC}.md").read_text("utf-8")
    downloads = sorted(site.rglob(f"{TOPIC}-guideline-*.json"))
    assert downloads, "the guideline page offers the FHIR guideline for download"
    resource = fhirformat.parse_json(downloads[-1].read_bytes())
    carried = next(a for a in resource["relatedArtifact"] if a.get("type") == "documentation")
    assert base64.b64decode(carried["document"]["data"]).decode("utf-8") == written
    assert "Bleeding after\ntonsillectomy is uncommon" in written
    page = (site / "guidelines" / f"{TOPIC}.html").read_text("utf-8")
    assert "Bleeding after" in page and "tonsillectomy is uncommon but can be serious" in " ".join(page.split())
    assert "tonsillectomy is uncommon but can be serious" in " ".join(resource["text"]["div"].split())


@pytest.fixture
def postgres_url(tmp_path: Path) -> Iterator[str]:
    with database("postgresql", tmp_path) as url:
        yield url


def test_two_serve_processes_on_one_postgresql_database_serve_one_record(postgres_url: str) -> None:
    with (serve_process(postgres_url, PATHWAYS, GUIDELINES) as first,
          serve_process(postgres_url, PATHWAYS, GUIDELINES) as second):
        assert httpx.get(f"{second.removesuffix('/fhir')}/healthz", timeout=30).json()["status"] == "ok"
        written = httpx.put(f"{first}/{RFS}", json=new_rfs_version(first), headers=bearer(), timeout=60)
        assert written.status_code == 200
        assert httpx.get(f"{second}/{RFS}", timeout=60).json()["version"] == "1.3.0"  # written by one, read by other
        assert api_compared(first) == api_compared(second)  # the register and everything else judged alike

        # Writers through both processes, each read-modify-write guarded by If-Match: no update is lost.
        pathway = new_rfs_version(first)
        pathway["title"] = "0"
        httpx.put(f"{first}/{RFS}", json=pathway, headers=bearer(), timeout=60).raise_for_status()
        increments, failures = 20, []

        def increment(base: str) -> None:
            with httpx.Client(base_url=base, timeout=60, headers=bearer()) as client:
                for _ in range(increments // 4):
                    for _attempt in range(200):
                        current = client.get(RFS).json()
                        current["title"] = str(int(current["title"]) + 1)
                        tag = f'W/"{current["meta"]["versionId"]}"'
                        answer = client.put(RFS, json=current, headers={"If-Match": tag})
                        if answer.status_code == 200:
                            break
                        if answer.status_code != 412:
                            failures.append(answer.text)
                            return
                    else:
                        failures.append("no turn in 200 attempts")

        threads = [threading.Thread(target=increment, args=(base,)) for base in (first, second, first, second)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert failures == []
        assert httpx.get(f"{second}/{RFS}", timeout=60).json()["title"] == str(increments)
