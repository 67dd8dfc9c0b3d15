"""FHIR JSON and XML in and out: fidelity on real published content, and safety on hostile XML."""

import time
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path

import pytest
import simplejson
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from service import fhirformat
from service.fhirformat import FormatError

from .conftest import EXTERNAL, EXTERNAL_FILES

pytestmark = pytest.mark.fast  # no database, server process or browser: make test-fast runs it

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


# --- the fast JSON path reads exactly as the careful one ------------------------------------------


def careful_parse_json(data: bytes) -> fhirformat.JsonDict:
    """``parse_json`` as first written: every object's keys compared one by one, and every item of the
    parsed value walked for depth and forbidden characters. The fast path must agree with it exactly."""

    def no_duplicate_keys(pairs: list[tuple[str, object]]) -> dict[str, object]:
        result: dict[str, object] = {}
        for key, value in pairs:
            if key in result:
                raise FormatError(f"the key '{key}' appears twice in one JSON object")
            result[key] = value
        return result

    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise FormatError(f"the file is not UTF-8 text (byte {exc.start} is invalid)") from None
    try:
        value = simplejson.loads(text, parse_float=bounded(Decimal), parse_int=bounded(int),
                                 object_pairs_hook=no_duplicate_keys)
    except simplejson.JSONDecodeError as exc:
        raise FormatError(f"not valid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}") from None
    except RecursionError:
        raise FormatError(f"JSON nested more than {fhirformat.MAX_JSON_DEPTH} levels deep") from None
    except ValueError as exc:
        raise FormatError(f"not valid JSON: {exc}") from None
    fhirformat._check_tree(value, fhirformat.MAX_JSON_DEPTH)
    if not isinstance(value, dict) or not isinstance(value.get("resourceType"), str):
        raise FormatError("not a FHIR resource: the top level must be a JSON object with a resourceType")
    first_out_of_bounds(value, value["resourceType"])
    return value


class OutOfBounds(str):
    """A number ``number_problem`` refused, kept in the tree so that its path can be named."""


def bounded(convert: Callable[[str], object]) -> Callable[[str], object]:
    return lambda text: OutOfBounds(problem) if (problem := fhirformat.number_problem(text)) else convert(text)


def first_out_of_bounds(value: object, path: str) -> None:
    """Raise for the first refused number in document order, walking every item recursively."""
    if isinstance(value, OutOfBounds):
        raise FormatError(str(value), path)
    if isinstance(value, dict):
        for key, child in value.items():
            first_out_of_bounds(child, f"{path}.{key.lstrip('_')}")
    elif isinstance(value, list):
        for index, child in enumerate(value):
            first_out_of_bounds(child, f"{path}[{index}]")


def outcome(parse: Callable[[bytes], object], data: bytes) -> tuple[str, str | None]:
    """What a parser makes of ``data``: the value's repr (which keeps key order and a decimal's digits), or
    the error's words and path."""
    try:
        return "value", repr(parse(data))
    except FormatError as exc:
        return exc.message, exc.path


#: Strings as they may be written in JSON: plain, escaped by an encoder, and hand-written escapes,
#: including the ones FHIR forbids (control characters, lone surrogates) and raw control characters.
_HAND_ESCAPES = [r"\b", r"\f", r"\n", r"\t", r"\r", r"\u0000", r"\u001f", r"\u001F", r"\u0009", r"\u0020",
                 r"\ud800", r"\uDFFF", r"\ud83d\ude00", r"\\u0000", r"\\b", r"\/", r"\"", "\x01", "\t", "\x7f"]
json_strings = st.one_of(
    st.text(max_size=8).map(lambda s: simplejson.dumps(s, ensure_ascii=True)),
    st.text(st.characters(exclude_categories=["Cs"]), max_size=8).map(
        lambda s: simplejson.dumps(s, ensure_ascii=False)
    ),
    st.lists(st.sampled_from([*_HAND_ESCAPES, "a", "é", "["]), max_size=4).map(
        lambda parts: '"' + "".join(parts) + '"'
    ),
)
json_numbers = st.one_of(
    st.integers(-(10**30), 10**30).map(str),
    st.decimals(allow_nan=False, allow_infinity=False, places=3).map(str),
    st.sampled_from(["2.50", "-0", "1e3", "1E-2", "0.0", "01", "NaN", "Infinity", "1.", ".5", "1e999999999", "1e18",
                     "1e17", "0." + "1" * 17, "0." + "1" * 18, "1" * 18, "1" * 19, "1e-17", "1.5e-17", "1e400"]),
)
json_keys = st.one_of(st.sampled_from(['"a"', '"b"', '"resourceType"', '"\\u0061"']), json_strings)
json_values = st.recursive(
    st.one_of(st.sampled_from(["null", "true", "false"]), json_numbers, json_strings),
    lambda inner: st.one_of(
        st.lists(inner, max_size=4).map(lambda items: "[" + ", ".join(items) + "]"),
        st.lists(st.tuples(json_keys, inner), max_size=4).map(
            lambda pairs: "{" + ",".join(f"{k}: {v}" for k, v in pairs) + "}"
        ),
    ),
    max_leaves=12,
)


@st.composite
def json_documents(draw: st.DrawFn) -> bytes:
    """Mostly FHIR-shaped objects, sometimes wrapped near the depth limit, sometimes cut short."""
    members = draw(st.lists(st.tuples(json_keys, json_values), max_size=5))
    head = draw(st.sampled_from(['"resourceType": "PlanDefinition"', '"resourceType": 1', ""]))
    body = ", ".join([head] * bool(head) + [f"{k}: {v}" for k, v in members])
    depth = draw(st.sampled_from([0, 0, 0, 1, 197, 198, 199, 200, 201, 250]))
    inner = draw(st.sampled_from(["", "1", '"x"', "[]", "{}", '"\\u0000"']))
    if depth:
        body += ', "deep": ' + "[" * depth + inner + "]" * depth
    text = "{" + body + "}"
    if draw(st.booleans()) and draw(st.booleans()):
        text = text[: draw(st.integers(0, len(text)))]
    prefix = draw(st.sampled_from(["", "\ufeff", " \n"]))
    return (prefix + text).encode("utf-8", "surrogatepass")


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(json_documents())
def test_the_fast_json_path_reads_and_refuses_exactly_as_the_careful_one(data: bytes) -> None:
    assert outcome(fhirformat.parse_json, data) == outcome(careful_parse_json, data)


@pytest.mark.parametrize("depth", range(196, 204))
@pytest.mark.parametrize("inner", ["", "1", "[]", '{"a": 1}', '"\\u0001"'])
def test_nesting_at_the_depth_limit_is_judged_as_the_careful_path_judges_it(depth: int, inner: str) -> None:
    data = ('{"resourceType": "PlanDefinition", "x": ' + "[" * depth + inner + "]" * depth + "}").encode()
    assert outcome(fhirformat.parse_json, data) == outcome(careful_parse_json, data)


def _plan_xml(inner: str) -> bytes:
    return f'<PlanDefinition xmlns="http://hl7.org/fhir"><status value="draft"/>{inner}</PlanDefinition>'.encode()


@pytest.mark.parametrize(
    ("inner", "expected"),
    [
        ('<title xmlns="http://example.org" value="x"/>',
         ("unknown element <title> in PlanDefinition", "PlanDefinition.title")),
        ("<title/>", ("element has no value and no extension", "PlanDefinition.title")),
        ('<action><title value="a"><coding/></title></action>',
         ("a primitive element may hold only extensions, not <coding>", "PlanDefinition.action[0].title")),
        ('<action id="a1" colour="x"/>', ("unexpected attribute 'colour'", "PlanDefinition.action[0]")),
        ("<text><status value=\"generated\"/><div><p>Hi</p></div></text>",
         ("the narrative <div> must be in the XHTML namespace", "PlanDefinition.text.div")),
        ("<contained/>", ("must hold exactly one resource", "PlanDefinition.contained[0]")),
        ('<action><timingTiming><repeat><count value="x"/></repeat></timingTiming></action>',
         ("'x' is not an integer", "PlanDefinition.action[0].timingTiming.repeat.count")),
        ('<extension url="http://x" id="e1"><valueBoolean value="yes"/></extension>',
         ("'yes' is not a boolean (true or false)", "PlanDefinition.extension[0].valueBoolean")),
    ],
)
def test_xml_faults_are_named_with_their_element_path(inner: str, expected: tuple[str, str]) -> None:
    assert outcome(fhirformat.parse_xml, _plan_xml(inner)) == expected


@pytest.mark.parametrize(
    ("inner", "expected"),
    [
        ('<action><title value="a" id="t1"/></action>', {"action": [{"title": "a", "_title": {"id": "t1"}}]}),
        ('<action><title><extension url="http://x"><valueString value="v"/></extension></title></action>',
         {"action": [{"_title": {"extension": [{"url": "http://x", "valueString": "v"}]}}]}),
        ('<!-- a comment --><experimental value="true"/>', {"experimental": True}),
        ('<action><timingDuration><value value="1.50"/><code value="wk"/></timingDuration></action>',
         {"action": [{"timingDuration": {"value": Decimal("1.50"), "code": "wk"}}]}),
        ('<action><timingTiming><event value="2020-01-01"/><event><extension url="http://x"><valueString value="v"/>'
         "</extension></event></timingTiming></action>",
         {"action": [{"timingTiming": {"event": ["2020-01-01", None],
                                       "_event": [None, {"extension": [{"url": "http://x", "valueString": "v"}]}]}}]}),
        ('<action><timingTiming><event id="e"/></timingTiming></action>',
         {"action": [{"timingTiming": {"_event": [{"id": "e"}]}}]}),
        ('<contained><Organization><name value="o"/></Organization></contained>',
         {"contained": [{"resourceType": "Organization", "name": "o"}]}),
    ],
)
def test_xml_primitives_ids_extensions_and_contained_resources_read_as_fhir_json(inner: str, expected: dict) -> None:
    assert fhirformat.parse_xml(_plan_xml(inner)) == {"resourceType": "PlanDefinition", "status": "draft", **expected}


# --- numbers are bounded where bytes become FHIR ---------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # Within FHIR's decimal pattern: 18 digits before the point, 17 after, an exponent keeping to both.
        ("2.50", None), ("-0", None), ("0e999999999", None), ("9" * 18, None), ("1e17", None),
        ("0." + "1" * 17, None), ("1e-17", None), ("0.05e3", None), ("100e-2", None),
        ("1e18", "the number 1e18 has 19 digits before the decimal point; FHIR allows at most 18"),
        ("9" * 19, "the number 9999999999999999999 has 19 digits before the decimal point; FHIR allows at most 18"),
        ("-1e400", "the number -1e400 has 401 digits before the decimal point; FHIR allows at most 18"),
        ("1e999999999",
         "the number 1e999999999 has 1000000000 digits before the decimal point; FHIR allows at most 18"),
        ("1.5e-17", "the number 1.5e-17 has 18 digits after the decimal point; FHIR allows at most 17"),
        ("1e99999999999", "the number 1e99999999999 has an exponent of 11 digits; FHIR allows at most 9"),
        ("1" * 4000, "the number 11111111111111111111...1111111111 (4,000 characters) has 4000 digits before the "
                     "decimal point; FHIR allows at most 18"),
    ],
)
def test_a_number_is_held_to_the_digits_fhirs_decimal_pattern_allows(text: str, expected: str | None) -> None:
    assert fhirformat.number_problem(text) == expected


@pytest.mark.parametrize(
    ("number", "where"),
    [
        ("1e999999999", "PlanDefinition.action[0].timingDuration.value"),
        ("-1e400", "PlanDefinition.action[0].timingDuration.value"),
        ("9" * 4000, "PlanDefinition.action[0].timingDuration.value"),
        ("1." + "1" * 5000, "PlanDefinition.action[0].timingDuration.value"),
    ],
)
def test_an_out_of_bounds_json_number_is_refused_at_once_with_its_element(number: str, where: str) -> None:
    data = ('{"resourceType": "PlanDefinition", "status": "draft", "action": [{"timingDuration": '
            f'{{"value": {number}, "unit": "d"}}}}]}}').encode()
    started = time.perf_counter()
    with pytest.raises(FormatError) as caught:
        fhirformat.parse_json(data)
    assert time.perf_counter() - started < 5  # not a speed test: before the bound, this never returned
    assert caught.value.path == where and "FHIR allows at most" in caught.value.message


@pytest.mark.parametrize(
    ("inner", "expected"),
    [
        ('<timingDuration><value value="1e999999999"/></timingDuration>',
         "the number 1e999999999 has 1000000000 digits before the decimal point; FHIR allows at most 18"),
        ('<timingDuration><value value="' + "7" * 100_000 + '"/></timingDuration>',
         "the number 77777777777777777777...7777777777 (100,000 characters) has 100000 digits before the decimal "
         "point; FHIR allows at most 18"),
        ('<timingDuration><value value="Infinity"/></timingDuration>', "'Infinity' is not a decimal number"),
        ('<timingTiming><repeat><count value="2147483648"/></repeat></timingTiming>',
         "the integer 2147483648 is outside FHIR's 32-bit range (-2,147,483,648 to 2,147,483,647)"),
        ('<timingTiming><repeat><count value="' + "9" * 5000 + '"/></repeat></timingTiming>',
         "the integer 99999999999999999999...9999999999 (5,000 characters) is outside FHIR's 32-bit range "
         "(-2,147,483,648 to 2,147,483,647)"),
    ],
)
def test_an_out_of_bounds_xml_number_is_refused_with_its_element(inner: str, expected: str) -> None:
    message, path = outcome(fhirformat.parse_xml, _plan_xml(f"<action>{inner}</action>"))
    assert message == expected
    assert path is not None and path.startswith("PlanDefinition.action[0].timing")


def test_text_xml_cannot_hold_is_escaped_when_written_not_refused() -> None:
    written = fhirformat.to_xml({"resourceType": "OperationOutcome", "issue": [
        {"severity": "error", "code": "invalid", "diagnostics": "no resource at '\x01' or '\ud800' or '\uffff'"}]})
    assert b'value="no resource at \'\\x01\' or \'\\ud800\' or \'\\uffff\'"' in written
    assert fhirformat.parse_xml(written)["issue"][0]["diagnostics"] == r"no resource at '\x01' or '\ud800' or '\uffff'"
