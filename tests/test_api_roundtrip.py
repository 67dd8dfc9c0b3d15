"""Every published PlanDefinition in shared/fixtures/external survives the API with no loss:
create, read as JSON, read as XML, send the XML back, read as JSON again."""

from pathlib import Path

import httpx
import pytest

from service import fhirformat
from service.store.content import fingerprint

from .conftest import EXTERNAL_FILES

XML = "application/fhir+xml"


def content(resource: dict) -> str:
    """What must survive: everything but the id and meta the server assigns."""
    return fingerprint({key: value for key, value in resource.items() if key != "id"})


@pytest.mark.parametrize("path", EXTERNAL_FILES, ids=lambda path: path.name)
def test_external_example_round_trips_through_json_and_xml(client: httpx.Client, path: Path) -> None:
    original = fhirformat.parse(path.read_bytes(), path.name)
    # POST, not PUT: several files share an id (the JSON/XML twins) and one has none at all.
    media = XML if path.suffix == ".xml" else "application/fhir+json"
    created = client.post("/PlanDefinition", content=path.read_bytes(), headers={"Content-Type": media})
    assert created.status_code == 201, created.text
    new_id = created.json()["id"]

    as_json = client.get(f"/PlanDefinition/{new_id}")
    assert content(fhirformat.parse_json(as_json.content)) == content(original)

    as_xml = client.get(f"/PlanDefinition/{new_id}", params={"_format": "xml"})
    from_xml = fhirformat.parse_xml(as_xml.content)
    assert content(from_xml) == content(original)

    sent_back = client.put(f"/PlanDefinition/{new_id}", content=as_xml.content, headers={"Content-Type": XML})
    assert sent_back.status_code == 200 and sent_back.headers["etag"] == 'W/"1"'  # nothing changed
    again = client.get(f"/PlanDefinition/{new_id}")
    assert again.content == as_json.content
