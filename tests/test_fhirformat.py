"""FHIR JSON and XML in and out: fidelity on real published content, and safety on hostile XML."""

import time
from decimal import Decimal
from pathlib import Path

import pytest

from service import fhirformat
from service.fhirformat import FormatError

from .conftest import EXTERNAL, EXTERNAL_FILES

#: The five resources the FHIR specification publishes in both formats (fixtures README).
JSON_XML_PAIRS = [
    ("fhir-spec__PlanDefinition-KDN5.json", "fhir-spec__plandefinition-example-kdn5-simplified.xml"),
    ("fhir-spec__PlanDefinition-protocol-example.json", "fhir-spec__plandefinition-protocol-example.xml"),
    ("fhir-spec__PlanDefinition-options-example.json", "fhir-spec__plandefinition-options-example.xml"),
    ("fhir-spec__PlanDefinition-example-cardiology-os.json", "fhir-spec__plandefinition-example-cardiology-os.xml"),
    ("fhir-spec__PlanDefinition-zika-virus-intervention.json", "fhir-spec__plandefinition-zika-virus-intervention.xml"),
]


@pytest.mark.parametrize("path", EXTERNAL_FILES, ids=lambda p: p.name)
def test_every_external_example_survives_json_and_xml_round_trips(path: Path) -> None:
    resource = fhirformat.parse(path.read_bytes(), path.name)
    assert fhirformat.parse_json(fhirformat.to_json(resource)) == resource
    assert fhirformat.parse_xml(fhirformat.to_xml(resource)) == resource
    assert fhirformat.parse_xml(fhirformat.to_xml(resource, pretty=False)) == resource


@pytest.mark.parametrize(("json_name", "xml_name"), JSON_XML_PAIRS)
def test_the_json_and_xml_forms_of_a_published_example_read_the_same(json_name: str, xml_name: str) -> None:
    from_json = fhirformat.parse_json((EXTERNAL / "json" / json_name).read_bytes())
    from_xml = fhirformat.parse_xml((EXTERNAL / "xml" / xml_name).read_bytes())
    # The narratives were rendered separately for each format; everything else is the same.
    from_json.pop("text", None)
    from_xml.pop("text", None)
    assert from_xml == from_json


def test_a_primitive_that_carries_only_an_extension_is_read_from_xml() -> None:
    # fhir.resources' own XML reader raises KeyError on this valid FHIR (fixtures README).
    resource = fhirformat.parse_xml(
        (EXTERNAL / "xml" / "fhir-spec__plandefinition-example-cardiology-os.xml").read_bytes()
    )
    timing = resource["contained"][1]["timingTiming"]
    assert "event" not in timing
    assert timing["_event"][0]["extension"][0]["url"] == "http://hl7.org/fhir/StructureDefinition/cqf-expression"


def test_element_ids_are_xml_attributes_and_decimals_keep_their_digits() -> None:
    resource = {
        "resourceType": "PlanDefinition",
        "status": "draft",
        "action": [{"id": "a1", "timingDuration": {"value": Decimal("2.50"), "code": "wk"}}],
    }
    xml = fhirformat.to_xml(resource).decode()
    assert '<action id="a1">' in xml
    assert '<value value="2.50"/>' in xml
    assert b'"value": 2.50' in fhirformat.to_json(resource)


def test_xml_with_an_external_entity_is_refused_and_the_entity_never_read(tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET-CONTENT")
    payload = (
        f'<?xml version="1.0"?><!DOCTYPE PlanDefinition [<!ENTITY xxe SYSTEM "file://{secret}">]>'
        '<PlanDefinition xmlns="http://hl7.org/fhir"><status value="draft"/><title value="&xxe;"/></PlanDefinition>'
    ).encode()
    with pytest.raises(FormatError) as caught:
        fhirformat.parse_xml(payload)
    assert "DOCTYPE" in caught.value.message
    assert "TOP-SECRET" not in caught.value.message


def test_entity_expansion_bombs_are_refused_at_once() -> None:
    entities = "".join(f'<!ENTITY e{i} "{f"&e{i - 1};" * 10}">' for i in range(1, 10))
    payload = (
        f'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY e0 "lol">{entities}]>'
        '<PlanDefinition xmlns="http://hl7.org/fhir"><title value="&e9;"/></PlanDefinition>'
    ).encode()
    started = time.perf_counter()
    with pytest.raises(FormatError):
        fhirformat.parse_xml(payload)
    assert time.perf_counter() - started < 1.0  # refused before any expansion, not after


@pytest.mark.parametrize(
    ("payload", "words"),
    [
        (b'{"resourceType": "PlanDefinition", "status": "draft"', "not valid JSON"),
        (b'{"resourceType": "PlanDefinition", "status": "draft", "status": "active"}', "appears twice"),
        (b"\xff\xfe{}", "not UTF-8"),
        (b"[1, 2]", "not a FHIR resource"),
        (b'{"resourceType": "PlanDefinition", "x": ' + b"[" * 500 + b"]" * 500 + b"}", "nested"),
        (b'<PlanDefinition xmlns="http://example.org"/>', "not in the FHIR namespace"),
        (
            b'<PlanDefinition xmlns="http://hl7.org/fhir"><colour value="red"/></PlanDefinition>',
            "unknown element <colour>",
        ),
        (
            b'<PlanDefinition xmlns="http://hl7.org/fhir"><status value="draft"/>'
            b'<status value="active"/></PlanDefinition>',
            "only once",
        ),
        (b'<PlanDefinition xmlns="http://hl7.org/fhir"><experimental value="yes"/></PlanDefinition>', "not a boolean"),
        (b"<PlanDefinition", "not well-formed"),
    ],
)
def test_unreadable_input_is_a_format_error_in_plain_words(payload: bytes, words: str) -> None:
    with pytest.raises(FormatError) as caught:
        fhirformat.parse(payload)
    assert words in caught.value.message


def test_an_unknown_xml_element_is_reported_with_its_path() -> None:
    payload = b'<PlanDefinition xmlns="http://hl7.org/fhir"><action><colour value="red"/></action></PlanDefinition>'
    with pytest.raises(FormatError) as caught:
        fhirformat.parse_xml(payload)
    assert caught.value.path == "PlanDefinition.action[0].colour"
