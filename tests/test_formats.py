"""Content negotiation and Prefer as FHIR clients use them, without a server.

Each expected answer is worked out by hand from RFC 9110 12.5.1 (q-values; at equal q the more
specific range wins; equal in both, the server chooses, and this one chooses FHIR JSON), RFC 7240
(Prefer) and the FHIR R4 HTTP page (``_format`` overrides Accept; ``json`` and ``xml`` shorthand).
"""

import pytest
from hypothesis import given
from hypothesis import strategies as st
from starlette.requests import Request

from service.api.formats import JSON, MAX_RANGES, XML, prefers, read_resource, response_format
from service.api.headers import MAX_PREFERENCES, Return, prefer_return, preferences, strict_handling
from service.api.outcomes import FhirError

pytestmark = pytest.mark.fast  # no database, server process or browser: make test-fast runs it


def request(query: str = "", **headers: str) -> Request:
    raw = [(name.replace("_", "-").encode(), value.encode("latin-1")) for name, value in headers.items()]
    return Request({"type": "http", "method": "GET", "path": "/", "query_string": query.encode(), "headers": raw})


def negotiated(accept: str, query: str = "") -> str | int:
    """The media type answered in, or the status of the refusal."""
    try:
        return response_format(request(query, accept=accept))
    except FhirError as refusal:
        return refusal.status


@pytest.mark.parametrize(("accept", "expected"), [
    ("", JSON),  # no preference: FHIR JSON
    ("   ", JSON),
    ("application/fhir+json", JSON),
    ("application/json", JSON),
    ("text/json", JSON),
    ("application/fhir+xml", XML),
    ("application/xml", XML),
    ("text/xml", XML),
    ("APPLICATION/FHIR+XML", XML),  # media types are case-insensitive
    ("application/fhir+json; fhirVersion=4.0", JSON),  # the FHIR version parameter does not stop a match
    ("application/fhir+xml;fhirVersion=4.0;q=0.9, text/html", XML),
    ("*/*", JSON),
    ("application/*", JSON),
    ("text/*", JSON),  # text/json
    # q-values order the ranges
    ("application/fhir+json;q=0.4, application/fhir+xml;q=0.5", XML),
    ("text/html;q=0.9, application/xml;q=0.8", XML),
    ("application/xml;q=0.3, */*;q=0.1", XML),
    ("*/*;q=0.9, application/fhir+xml;q=0.2", JSON),  # the wildcard's higher q gives JSON
    # at equal q a specific type beats a wildcard, whichever is written first
    ("*/*, application/fhir+xml", XML),
    ("application/*;q=0.5, application/fhir+xml;q=0.5", XML),
    ("application/fhir+xml;q=0.5, */*;q=0.5", XML),
    # a browser's header: XML at 0.9 beats everything else at 0.8
    ("text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8", XML),
    # equal q and specificity: the server's choice, FHIR JSON
    ("application/fhir+xml, application/fhir+json", JSON),
    # refused: nothing we write
    ("text/plain", 406),
    ("text/html", 406),
    ("application/json;q=0", 406),  # q=0 is "not acceptable"
    ("application/fhir+xml;q=0, text/plain", 406),
    # malformed: never a 500; what cannot be read is skipped
    ("application/json;q=abc", 406),  # an invalid q-value: the range is skipped
    ("application/fhir+xml;q=2, application/json;q=0.1", JSON),  # q above 1 is not a q-value
    (",,;;", 406),
    ("text", 406),
    ("*", 406),
    ("*/json", 406),
    ('application/xml;q=0.5;x="a,b", application/json;q=0.4', XML),  # a quoted comma is not a separator
])
def test_the_accept_header_chooses_the_format(accept: str, expected: str | int) -> None:
    assert negotiated(accept) == expected
    assert negotiated(accept) == expected  # the second time from the remembered answer


def test_only_the_first_32_ranges_of_accept_count() -> None:
    assert MAX_RANGES == 32
    assert negotiated("text/plain, " * 31 + "application/fhir+xml") == XML  # the 32nd range
    assert negotiated("text/plain, " * 32 + "application/fhir+xml") == 406  # the 33rd: ignored
    assert negotiated("a/b," * 2000) == 406


@pytest.mark.parametrize(("query", "accept", "expected"), [
    ("_format=json", "application/fhir+xml", JSON),
    ("_format=xml", "application/fhir+json", XML),
    ("_format=application/fhir%2Bxml", "", XML),
    ("_format=application/json", "text/plain", JSON),  # Accept is not consulted at all
    ("_format=XML", "", XML),
    ("_format=application/fhir%2Bjson;fhirVersion=4.0", "", JSON),
    ("_format=turtle", "application/fhir+json", 406),
    ("_format=", "", 406),
])
def test_format_overrides_accept(query: str, accept: str, expected: str | int) -> None:
    assert negotiated(accept, query) == expected


@pytest.mark.parametrize(("accept", "expected"), [
    ("application/json", True),
    ("application/json, */*", True),  # specific beats the wildcard
    ("application/fhir+json, application/json;q=0.5", False),
    ("application/json, application/fhir+json", False),  # a tie goes to FHIR
    ("*/*", False),
    ("", False),
    ("application/json;q=abc", False),
])
def test_prefers_tells_whether_plain_json_is_wanted_over_fhir(accept: str, expected: bool) -> None:
    assert prefers(request(accept=accept), "application/json") is expected


@pytest.mark.parametrize(("content_type", "expected"), [
    ("application/fhir+json; charset=utf-8", "json"),
    ("APPLICATION/JSON", "json"),
    ("application/fhir+xml;fhirVersion=4.0", "xml"),
    (None, "json"),  # sniffed
])
def test_a_body_is_read_by_its_content_type(content_type: str | None, expected: str) -> None:
    body = b'{"resourceType": "Basic"}' if expected == "json" else b'<Basic xmlns="http://hl7.org/fhir"/>'
    assert read_resource(body, content_type)["resourceType"] == "Basic"


@pytest.mark.parametrize("content_type", ["text/plain", ";", "application/pdf; charset=utf-8"])
def test_a_body_of_another_type_is_415(content_type: str) -> None:
    with pytest.raises(FhirError) as refused:
        read_resource(b"{}", content_type)
    assert refused.value.status == 415


@pytest.mark.parametrize(("prefer", "expected"), [
    ("", Return.REPRESENTATION),
    ("return=minimal", Return.MINIMAL),
    ("return=representation", Return.REPRESENTATION),
    ("return=OperationOutcome", Return.OPERATION_OUTCOME),
    ('return="OperationOutcome"', Return.OPERATION_OUTCOME),  # a quoted word
    ("Return = minimal", Return.MINIMAL),  # names are case-insensitive; spaces around '='
    ("handling=strict, return=minimal", Return.MINIMAL),
    ("return=minimal; handling=strict", Return.MINIMAL),
    ("return=minimal, return=OperationOutcome", Return.MINIMAL),  # the first one counts (RFC 7240 2)
    ("return=everything", Return.REPRESENTATION),  # one we do not know
    ("return", Return.REPRESENTATION),
    ('return="minimal', Return.REPRESENTATION),  # an unclosed quote: unreadable, so no preference
])
def test_prefer_return(prefer: str, expected: Return) -> None:
    assert prefer_return(request(prefer=prefer)) is expected


@pytest.mark.parametrize(("prefer", "expected"), [
    ("", False),
    ("handling=strict", True),
    ("handling = strict", True),
    ("HANDLING=STRICT", True),
    ("return=minimal, handling=strict", True),
    ("return=minimal; handling=strict", True),  # ';' for ',' as some clients write it
    ("handling=lenient", False),
    ("handling=lenient, handling=strict", False),  # the first one counts
    ('respond-async, wait=100, handling="strict"', True),
])
def test_strict_handling(prefer: str, expected: bool) -> None:
    assert strict_handling(request(prefer=prefer)) is expected


def test_only_the_first_32_preferences_count() -> None:
    assert MAX_PREFERENCES == 32
    assert strict_handling(request(prefer="wait=1, " * 31 + "handling=strict"))  # the 32nd
    assert not strict_handling(request(prefer="wait=1, " * 32 + "handling=strict"))  # the 33rd: ignored


def test_preferences_are_read_by_name_with_their_values() -> None:
    assert preferences('respond-async, wait=100; x="a,b", return=minimal') == {
        "respond-async": None, "wait": "100", "x": "a,b", "return": "minimal"}


@given(st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126), max_size=60))
def test_no_header_makes_negotiation_or_prefer_raise(header: str) -> None:
    answer = negotiated(header)
    assert answer in (JSON, XML, 406)
    preferences(header)
    prefer_return(request(prefer=header))
    strict_handling(request(prefer=header))
