"""Paging through 250 matches visits each exactly once, even while another client writes."""

import uuid

import httpx
import pytest
from fhirpy import SyncFHIRClient

from .conftest import minimal_pathway
from .stores import ServerThread, bearer

MATCHES = 250


def _pathway(marker: str, number: int) -> dict:
    tag = f"{marker}-{number:03d}"
    return minimal_pathway(id=tag, url=f"http://test.example.org/fhir/PlanDefinition/{tag}", publisher=marker,
                           title=f"Pathway {number:03d}")


def _load(client: httpx.Client, marker: str) -> set[str]:
    """250 matching pathways, written in one transaction."""
    entries = [{"resource": _pathway(marker, n),
                "request": {"method": "PUT", "url": f"PlanDefinition/{marker}-{n:03d}"}} for n in range(MATCHES)]
    response = client.post("/", json={"resourceType": "Bundle", "type": "transaction", "entry": entries})
    assert response.status_code == 200, response.text
    return {f"{marker}-{n:03d}" for n in range(MATCHES)}


def _next(bundle: dict) -> str | None:
    return next((link["url"] for link in bundle["link"] if link["relation"] == "next"), None)


@pytest.mark.parametrize("sort", ["_id", "-_lastUpdated", "title"])
def test_paging_visits_each_match_once_while_another_client_writes(client: httpx.Client, server: ServerThread,
                                                                   sort: str) -> None:
    marker = f"p-{uuid.uuid4().hex[:8]}"
    expected = _load(client, marker)
    seen: list[str] = []
    deleted: set[str] = set()
    page = client.get("/PlanDefinition", params={"publisher": marker, "_count": 20, "_sort": sort}).json()
    assert page["total"] == MATCHES
    with httpx.Client(base_url=server.base, headers=bearer()) as other:
        pages = 0
        while True:
            seen += [entry["resource"]["id"] for entry in page.get("entry", [])]
            pages += 1
            # Between pages, someone else adds a match, changes one not yet seen, and deletes another.
            other.put(f"/PlanDefinition/{marker}-new-{pages}", json=_pathway(marker, 900 + pages) | {
                "id": f"{marker}-new-{pages}"})
            unseen = sorted(expected - set(seen) - deleted)
            if len(unseen) >= 2:
                changed = _pathway(marker, int(unseen[0][-3:])) | {"title": f"Changed after page {pages}"}
                assert other.put(f"/PlanDefinition/{unseen[0]}", json=changed).status_code == 200
                assert other.delete(f"/PlanDefinition/{unseen[-1]}").status_code == 204
                deleted.add(unseen[-1])
            url = _next(page)
            if url is None:
                break
            page = client.get(url).json()
    assert pages == 13  # 12 full pages of 20 and one of 10
    assert len(seen) == MATCHES and set(seen) == expected

    now = client.get("/PlanDefinition", params={"publisher": marker, "_summary": "count"}).json()
    assert len(deleted) >= 10  # one after each page while two or more were still unseen
    assert now["total"] == MATCHES + pages - len(deleted)


def test_a_fhir_client_library_pages_through_every_match(client: httpx.Client, server: ServerThread) -> None:
    marker = f"f-{uuid.uuid4().hex[:8]}"
    expected = _load(client, marker)
    fhir = SyncFHIRClient(server.base)
    found = fhir.resources("PlanDefinition").search(publisher=marker).limit(40).fetch_all()
    ids = [resource["id"] for resource in found]
    assert len(ids) == MATCHES and set(ids) == expected
    assert fhir.resources("PlanDefinition").search(publisher=marker).count() == MATCHES
