"""A standard FHIR client library (fhirpy), unchanged, against the API on a real uvicorn server."""

import uuid

import pytest
from fhirpy import SyncFHIRClient
from fhirpy.base.exceptions import MultipleResourcesFound, ResourceNotFound

from .conftest import minimal_pathway
from .stores import ServerThread, bearer

AUTHORIZATION = bearer()["Authorization"]


@pytest.fixture
def fhir(server: ServerThread) -> SyncFHIRClient:
    return SyncFHIRClient(server.base, authorization=AUTHORIZATION)


def test_create_read_update_delete_with_fhirpy(fhir: SyncFHIRClient) -> None:
    tag = f"fp-{uuid.uuid4().hex[:8]}"
    data = minimal_pathway(url=f"http://test.example.org/fhir/PlanDefinition/{tag}")
    del data["id"]
    created = fhir.resource("PlanDefinition", **data)
    created.save()
    assert created.id and created["meta"]["versionId"] == "1"

    read = fhir.reference("PlanDefinition", created.id).to_resource()
    assert read["title"] == "Test pathway" and read["url"].endswith(tag)

    read["title"] = "Renamed"
    read.save()
    assert fhir.reference("PlanDefinition", created.id).to_resource()["meta"]["versionId"] == "2"

    found = fhir.resources("PlanDefinition").search(url=data["url"], trust="RHQ").fetch()
    assert [resource.id for resource in found] == [created.id]
    assert fhir.resources("PlanDefinition").search(url=data["url"], title="renamed").first().id == created.id

    read.delete()
    with pytest.raises(ResourceNotFound, match="was deleted"):  # fhirpy's exception for 404 and 410
        fhir.reference("PlanDefinition", created.id).to_resource()
    with pytest.raises(ResourceNotFound):
        fhir.reference("PlanDefinition", f"{tag}-never").to_resource()


def test_stale_if_match_from_fhirpy_is_refused(server: ServerThread) -> None:
    tag = f"fp-{uuid.uuid4().hex[:8]}"
    fhir = SyncFHIRClient(server.base, authorization=AUTHORIZATION)
    fhir.resource("PlanDefinition", **minimal_pathway(id=tag)).save()
    fhir.resource("PlanDefinition", **minimal_pathway(id=tag, title="Second")).save()
    stale = SyncFHIRClient(server.base, authorization=AUTHORIZATION, extra_headers={"If-Match": 'W/"1"'})
    with pytest.raises(MultipleResourcesFound, match="is at version 2"):  # fhirpy's exception for any 412
        stale.resource("PlanDefinition", **minimal_pathway(id=tag, title="Stale")).save()
    assert fhir.reference("PlanDefinition", tag).to_resource()["title"] == "Second"


def test_validate_and_transaction_through_fhirpy(fhir: SyncFHIRClient) -> None:
    tag = f"fp-{uuid.uuid4().hex[:8]}"
    outcome = fhir.execute("PlanDefinition/$validate", method="post", data=minimal_pathway(id=tag))
    assert outcome["issue"][0]["diagnostics"] == "No issues found"
    bundle = {"resourceType": "Bundle", "type": "transaction", "entry": [
        {"resource": minimal_pathway(id=tag), "request": {"method": "PUT", "url": f"PlanDefinition/{tag}"}}]}
    response = fhir.execute("", method="post", data=bundle)
    assert response["entry"][0]["response"]["status"] == "201 Created"
    history = fhir.execute(f"PlanDefinition/{tag}/_history", method="get")
    assert history["total"] == 1
