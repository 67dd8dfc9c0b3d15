"""FHIR R4 JSON and XML, as bytes in and out, to and from FHIR JSON dicts.

Everything inside Harmonise works on the FHIR JSON form (a dict, decimals kept as ``Decimal`` so
that ``2.50`` stays ``2.50``). XML is converted at this edge, using the R4B models' own element
metadata (names, order, cardinality, primitive types), because fhir.resources' XML reader fails on
valid FHIR (a repeating primitive that carries only an extension) and its writer writes
``Element.id`` as a child element instead of an attribute.

XML is parsed with DTDs, entity resolution and network access off, and any DOCTYPE is refused
before its content is read: FHIR forbids DTDs in resources.

Numbers are bounded here, as they are read and before anything does arithmetic with them
(``check_number``): a value such as ``1e999999999`` is valid by FHIR's decimal pattern, yet turning
it into an exact number of days builds an integer of a billion digits. So every number, in either
format, must be writable without an exponent in the digits FHIR's decimal pattern allows (at most
18 before the point and 17 after it), and an XML integer must fit FHIR's 32-bit ``integer``. A
JSON integer in an ``integer`` element is held to 32 bits by the FHIR model, which the loader and
the API apply before any arithmetic too.
"""

import re
from decimal import Decimal
from functools import cache
from typing import Any, Final

import simplejson
from fhir.resources.R4B import get_fhir_model_class
from fhir_core.fhirabstractmodel import FHIRAbstractModel
from fhir_core.utils import determine_version_prefix, get_fhir_type_name, is_list_type, is_primitive_type
from lxml import etree

FHIR_NS: Final = "http://hl7.org/fhir"
XHTML_NS: Final = "http://www.w3.org/1999/xhtml"
MAX_JSON_DEPTH: Final = 200
#: Characters FHIR forbids in strings (R4 datatypes, string), and lone surrogates (JSON escapes that are not
#: Unicode text); PostgreSQL cannot store NUL at all, and no database stores half a character.
_FORBIDDEN: Final = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff]")
#: What XML 1.0 cannot hold at all (its Char production): FHIR's forbidden characters, and U+FFFE, U+FFFF.
_NOT_XML: Final = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")

JsonDict = dict[str, Any]

#: FHIR's decimal pattern (``-?(0|[1-9][0-9]{0,17})(\\.[0-9]{1,17})?([eE][+-]?[0-9]{1,9})?``) allows at most
#: these digits before and after the point; the value an exponent gives must keep to them too.
MAX_INTEGER_DIGITS: Final = 18
MAX_FRACTION_DIGITS: Final = 17
#: FHIR ``integer`` (and ``positiveInt``, ``unsignedInt``) is a signed 32-bit number.
INTEGER_RANGE: Final = (-(2**31), 2**31 - 1)


class FormatError(ValueError):
    """Bytes that are not readable FHIR JSON or XML; ``path`` names the element where known."""

    def __init__(self, message: str, path: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.path = path


# --- JSON --------------------------------------------------------------------------------------


def _no_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result = dict(pairs)
    if len(result) != len(pairs):  # some key is repeated: name the first, in the order written
        seen: set[str] = set()
        for key, _value in pairs:
            if key in seen:
                raise FormatError(f"the key '{key}' appears twice in one JSON object")
            seen.add(key)
    return result


def number_problem(text: str) -> str | None:
    """Why the JSON or XML number ``text`` is out of FHIR's bounds, or None when it is within them.

    Works on the text's digits and exponent alone: nothing is built whose size the sender chose.

    >>> number_problem("2.50"), number_problem("1e3")
    (None, None)
    >>> number_problem("1e999999999")
    'the number 1e999999999 has 1000000000 digits before the decimal point; FHIR allows at most 18'
    """
    mantissa, _, exponent_text = text.lower().partition("e")
    whole, _, fraction = mantissa.lstrip("+-").partition(".")
    if len(exponent_text) > 10:
        return f"the number {_shortened(text)} has an exponent of {len(exponent_text)} digits; FHIR allows at most 9"
    try:
        exponent = int(exponent_text or "0")
    except ValueError:
        return f"'{_shortened(text)}' is not a number"
    digits = (whole + fraction).lstrip("0")
    if not digits:
        return None  # zero, however it is written
    # The value is 0.DIGITS x 10^point: ``point`` digits before the decimal point (negative: zeros after it).
    point = len(whole.lstrip("0")) + exponent if whole.lstrip("0") else exponent - (len(fraction) - len(
        fraction.lstrip("0")))
    after = max(len(fraction) - exponent, 0)
    if point > MAX_INTEGER_DIGITS:
        return (f"the number {_shortened(text)} has {point} digits before the decimal point; "
                f"FHIR allows at most {MAX_INTEGER_DIGITS}")
    if after > MAX_FRACTION_DIGITS:
        return (f"the number {_shortened(text)} has {after} digits after the decimal point; "
                f"FHIR allows at most {MAX_FRACTION_DIGITS}")
    return None


def integer_problem(text: str) -> str | None:
    """Why ``text`` is not a FHIR 32-bit integer, or None (digits are counted before any conversion)."""
    digits = text[1:] if text[:1] in "+-" else text
    if not (digits.isascii() and digits.isdigit()):
        return f"'{_shortened(text)}' is not an integer"
    low, high = INTEGER_RANGE
    if len(digits.lstrip("0")) > 10 or not low <= int(text) <= high:
        return f"the integer {_shortened(text)} is outside FHIR's 32-bit range ({low:,} to {high:,})"
    return None


def _shortened(text: str, limit: int = 40) -> str:
    return text if len(text) <= limit else f"{text[:20]}...{text[-10:]} ({len(text):,} characters)"


class _OutOfBounds:
    """Where a number out of bounds was read: its place in the tree is found afterwards, for the path."""

    __slots__ = ("problem",)

    def __init__(self, problem: str) -> None:
        self.problem = problem


def _bounded_number(convert: Any) -> Any:
    def read(text: str) -> Any:
        problem = number_problem(text)
        return _OutOfBounds(problem) if problem else convert(text)

    return read


_read_int = _bounded_number(int)
_read_decimal = _bounded_number(Decimal)


def _out_of_bounds_path(value: Any, path: str) -> tuple[str, str] | None:
    """(element path, problem) of the first out-of-bounds number in a parsed JSON value, in document order."""
    stack: list[tuple[Any, str]] = [(value, path)]
    while stack:
        item, where = stack.pop()
        if isinstance(item, _OutOfBounds):
            return where, item.problem
        if isinstance(item, dict):
            stack.extend((child, f"{where}.{key.lstrip('_')}") for key, child in reversed(item.items()))
        elif isinstance(item, list):
            stack.extend((child, f"{where}[{index}]") for index, child in reversed(list(enumerate(item))))
    return None


def printable(text: str) -> str:
    """``text`` with each character that FHIR strings or XML cannot hold written as its escape (``\\x01``).

    For messages that quote what a client sent: the quote stays legible and renders in every format.
    """
    return _NOT_XML.sub(lambda match: repr(match.group())[1:-1], text)


def has_forbidden_characters(text: str) -> bool:
    """True if ``text`` holds a character FHIR strings may not: below U+0020 other than tab, CR and LF,
    or a lone surrogate."""
    return bool(_FORBIDDEN.search(text))


def _check_tree(value: Any, limit: int) -> None:
    """Refuse a parsed JSON value nested deeper than ``limit`` or with forbidden characters in its text."""
    stack = [(value, 1)]
    while stack:
        item, level = stack.pop()
        if level > limit:
            raise FormatError(f"JSON nested more than {limit} levels deep")
        if isinstance(item, str) and has_forbidden_characters(item):
            raise FormatError("a string holds a control character or a lone surrogate, which FHIR strings may "
                              "not (only tab, CR and LF are allowed below U+0020)")
        if isinstance(item, dict):
            stack.extend((key, level) for key in item)
        children = item.values() if isinstance(item, dict) else item if isinstance(item, list) else ()
        stack.extend((child, level + 1) for child in children)


#: The only JSON escapes that can put a character ``_FORBIDDEN`` matches into a parsed string: ``\b``, ``\f``,
#: ``\u0000``..``\u001f`` and ``\ud800``..``\udfff`` (it also matches harmless ones, such as ``\u0009``).
_SUSPECT_ESCAPE: Final = re.compile(r"\\(?:[bf]|u00[01]|u[dD][89a-fA-F])")


def _deeper_than(value: Any, limit: int) -> bool:
    """True if some item of a parsed JSON value sits deeper than ``limit`` levels (as ``_check_tree`` counts)."""
    stack = [(value, 1)] if isinstance(value, (dict, list)) else []
    while stack:
        item, level = stack.pop()
        children = item.values() if isinstance(item, dict) else item
        if children and level >= limit:
            return True
        stack.extend((child, level + 1) for child in children if isinstance(child, (dict, list)))
    return False


def _may_fail_tree_check(text: str, value: Any, limit: int) -> bool:
    """False only when ``_check_tree(value, limit)`` cannot fail for JSON ``text`` that parsed to ``value``.

    Strings: the decoder refuses raw control characters in strings and UTF-8 has no lone surrogates, so a
    forbidden character can only come from an escape that ``_SUSPECT_ESCAPE`` matches. Depth: every level
    below the top is inside a ``{`` or ``[``, so a text with fewer than ``limit`` of them is shallow enough.
    """
    if "\\" in text and _SUSPECT_ESCAPE.search(text):
        return True
    return text.count("{") + text.count("[") >= limit and _deeper_than(value, limit)


def parse_json(data: bytes) -> JsonDict:
    """FHIR JSON bytes to a dict. Raises FormatError with a plain-words reason."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise FormatError(f"the file is not UTF-8 text (byte {exc.start} is invalid)") from None
    try:
        value = simplejson.loads(text, parse_float=_read_decimal, parse_int=_read_int,
                                 object_pairs_hook=_no_duplicate_keys)
    except simplejson.JSONDecodeError as exc:
        raise FormatError(f"not valid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}") from None
    except RecursionError:
        raise FormatError(f"JSON nested more than {MAX_JSON_DEPTH} levels deep") from None
    except ValueError as exc:  # e.g. an integer of more digits than Python converts
        raise FormatError(f"not valid JSON: {exc}") from None
    if _may_fail_tree_check(text, value, MAX_JSON_DEPTH):
        _check_tree(value, MAX_JSON_DEPTH)  # the careful walk, which names the first fault as it always has
    if not isinstance(value, dict) or not isinstance(value.get("resourceType"), str):
        raise FormatError("not a FHIR resource: the top level must be a JSON object with a resourceType")
    if _has_digits_beyond_bounds(text):
        found = _out_of_bounds_path(value, value["resourceType"])
        if found is not None:
            raise FormatError(found[1], found[0])
    return value


#: A run of digits that, in a number, could take it outside FHIR's bounds (long, or with an exponent).
_SUSPECT_NUMBER: Final = re.compile(rf"[0-9]{{{min(MAX_INTEGER_DIGITS, MAX_FRACTION_DIGITS) + 1},}}|[0-9][eE]")


def _has_digits_beyond_bounds(text: str) -> bool:
    """False only when no number in the JSON ``text`` can be out of bounds: most texts, so the tree goes unwalked.

    A false alarm (digits in a string, say) only costs the walk.
    """
    return _SUSPECT_NUMBER.search(text) is not None


def to_json(resource: JsonDict, *, pretty: bool = True) -> bytes:
    """A FHIR JSON dict to bytes, decimals written exactly as they were read."""
    text = simplejson.dumps(
        resource,
        use_decimal=True,
        ensure_ascii=False,
        indent=2 if pretty else None,
        separators=None if pretty else (",", ":"),
    )
    return (text + "\n").encode("utf-8") if pretty else text.encode("utf-8")


# --- model metadata ----------------------------------------------------------------------------

_INTEGER_TYPES: Final = frozenset({"integer", "positiveInt", "unsignedInt", "integer64"})
#: The primitive types whose XML value attribute ``_primitive_value`` converts; the others are strings in JSON.
_CONVERTED_TYPES: Final = _INTEGER_TYPES | {"boolean", "decimal"}


class _Element:
    """What the XML conversion needs to know of one element of a FHIR type."""

    __slots__ = ("name", "is_list", "is_primitive", "type_name")

    def __init__(self, name: str, is_list: bool, is_primitive: bool, type_name: str) -> None:
        self.name, self.is_list, self.is_primitive, self.type_name = name, is_list, is_primitive, type_name


@cache
def _elements(type_name: str) -> dict[str, _Element]:
    """The elements of a FHIR type by JSON name, in the order FHIR XML requires."""
    klass: type[FHIRAbstractModel] = get_fhir_model_class(type_name)
    prefix = determine_version_prefix(klass.__module__)
    by_alias = {field.alias or name: field for name, field in klass.model_fields.items()}
    result: dict[str, _Element] = {}
    for name in klass.elements_sequence():
        field = by_alias.get(name)
        if field is None or name == "resourceType":
            continue
        result[name] = _Element(
            name, is_list_type(field), is_primitive_type(field), get_fhir_type_name(field, prefix=prefix)
        )
    return result


def _is_resource_type(type_name: str) -> bool:
    return type_name in ("Resource", "DomainResource")


# --- XML in ------------------------------------------------------------------------------------


def _safe_parser() -> etree.XMLParser:
    return etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        huge_tree=False,
        remove_pis=True,
    )


def parse_xml(data: bytes) -> JsonDict:
    """FHIR XML bytes to a FHIR JSON dict. Raises FormatError; never resolves an entity."""
    head = data[:4096].lstrip(b"\xef\xbb\xbf").lower()
    if b"<!doctype" in data.lower() or b"<!entity" in head:
        raise FormatError("the XML declares a DOCTYPE or entities; FHIR forbids them, so it was not read")
    try:
        root = etree.fromstring(data, parser=_safe_parser())
    except etree.XMLSyntaxError as exc:
        raise FormatError(f"not well-formed XML: {exc.msg}") from None
    docinfo = root.getroottree().docinfo
    if docinfo.doctype or docinfo.internalDTD is not None:
        raise FormatError("the XML declares a DOCTYPE; FHIR forbids it, so it was not read")
    qname = etree.QName(root)
    if qname.namespace != FHIR_NS:
        raise FormatError(f"the root element <{qname.localname}> is not in the FHIR namespace {FHIR_NS}")
    return _resource_from_xml(root, qname.localname)


def _resource_from_xml(node: etree._Element, path: str) -> JsonDict:
    resource_type = etree.QName(node).localname
    try:
        _elements(resource_type)
    except (KeyError, ValueError, AttributeError):
        raise FormatError(f"'{resource_type}' is not a FHIR R4 resource type", path) from None
    result: JsonDict = {"resourceType": resource_type}
    result.update(_complex_from_xml(node, resource_type, path, is_resource=True))
    return result


def _primitive_value(text: str, type_name: str, path: str) -> Any:
    if type_name == "boolean":
        if text not in ("true", "false"):
            raise FormatError(f"'{text}' is not a boolean (true or false)", path)
        return text == "true"
    if type_name in _INTEGER_TYPES:
        problem = integer_problem(text)
        if problem:
            raise FormatError(problem, path)
        return int(text)
    if type_name == "decimal":
        problem = number_problem(text) if _DECIMAL.fullmatch(text) else f"'{_shortened(text)}' is not a decimal number"
        if problem:
            raise FormatError(problem, path)
        return Decimal(text)
    return text


_FHIR_PREFIX: Final = "{" + FHIR_NS + "}"
#: A decimal as FHIR XML writes it (JSON's number form; no NaN, no Infinity, no leading "+").
_DECIMAL: Final = re.compile(r"-?[0-9]+(\.[0-9]+)?([eE][+-]?[0-9]+)?")


def _name_of(tag: str) -> tuple[str, bool]:
    """An element's local name, and whether it is in the FHIR namespace (what ``etree.QName`` tells, faster)."""
    if tag.startswith(_FHIR_PREFIX):
        return tag[len(_FHIR_PREFIX) :], True
    return tag.partition("}")[2] if tag.startswith("{") else tag, False


def _complex_from_xml(node: etree._Element, type_name: str, path: str, is_resource: bool = False) -> JsonDict:
    elements = _elements(type_name)
    result: JsonDict = {}
    for attribute, value in node.items():
        if attribute == "id" and not is_resource:
            result["id"] = value
        elif attribute == "url" and type_name == "Extension":
            result["url"] = value
        elif not attribute.startswith("{"):
            raise FormatError(f"unexpected attribute '{attribute}'", path)
    counts: dict[str, int] = {}
    extras: dict[str, list[JsonDict | None]] = {}
    for child in node:
        tag = child.tag
        if not isinstance(tag, str):
            continue  # comments: JSON has no place for them
        name, in_fhir = _name_of(tag)
        element = elements.get(name)
        if element is None or (not in_fhir and element.type_name != "xhtml"):
            raise FormatError(f"unknown element <{name}> in {type_name}", f"{path}.{name}")
        index = counts.get(name, 0)
        counts[name] = index + 1
        if index and not element.is_list:
            raise FormatError(f"<{name}> may appear only once", f"{path}.{name}")
        if element.is_list:
            value, extra = _element_from_xml(child, element, f"{path}.{name}[{index}]")
            if index:
                result[name].append(value)
                extras[name].append(extra)
            else:
                result[name] = [value]
                extras[name] = [extra]
        else:
            value, extra = _element_from_xml(child, element, f"{path}.{name}")
            if value is not None:
                result[name] = value
            if extra is not None:
                result[f"_{name}"] = extra
    for name, items in extras.items():
        # A repeating primitive with extensions: JSON keeps values and extensions in two
        # parallel arrays, with null where one side has nothing.
        if any(item is not None for item in items):
            result[f"_{name}"] = items
            if all(value is None for value in result[name]):
                del result[name]
    return result


def _element_from_xml(child: etree._Element, element: _Element, path: str) -> tuple[Any, JsonDict | None]:
    """(value, primitive extension object or None) of one XML child element."""
    if element.is_primitive and element.type_name != "xhtml":
        return _primitive_from_xml(child, element, path)
    if element.type_name == "xhtml":
        if etree.QName(child).namespace != XHTML_NS:
            raise FormatError("the narrative <div> must be in the XHTML namespace", path)
        return etree.tostring(child, encoding="unicode", with_tail=False), None
    if _is_resource_type(element.type_name):
        inner = [c for c in child if isinstance(c.tag, str)]
        if len(inner) != 1:
            raise FormatError("must hold exactly one resource", path)
        return _resource_from_xml(inner[0], path), None
    return _complex_from_xml(child, element.type_name, path), None


def _primitive_from_xml(child: etree._Element, element: _Element, path: str) -> tuple[Any, JsonDict | None]:
    raw = child.get("value")
    if raw is None or element.type_name in _CONVERTED_TYPES:
        value = None if raw is None else _primitive_value(raw, element.type_name, path)
    else:
        value = raw  # a string type: the attribute as it is
    ident = child.get("id")
    if ident is None and not len(child):  # most primitives: a value and nothing else
        if value is None:
            raise FormatError("element has no value and no extension", path)
        return value, None
    extra: JsonDict = {}
    if ident is not None:
        extra["id"] = ident
    extensions = [c for c in child if isinstance(c.tag, str)]
    for index, ext in enumerate(extensions):
        local_name = _name_of(ext.tag)[0]
        if local_name != "extension":
            raise FormatError(f"a primitive element may hold only extensions, not <{local_name}>", path)
        extra.setdefault("extension", []).append(_complex_from_xml(ext, "Extension", f"{path}.extension[{index}]"))
    if value is None and not extra:
        raise FormatError("element has no value and no extension", path)
    return value, (extra or None)


# --- XML out -----------------------------------------------------------------------------------


def to_xml(resource: JsonDict, *, pretty: bool = True) -> bytes:
    """A FHIR JSON dict to FHIR XML bytes, elements in the order the specification requires."""
    root = _resource_to_xml(resource)
    if pretty:
        _indent(root, 0)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8") + (b"\n" if pretty else b"")


def _indent(node: etree._Element, level: int) -> None:
    """Indent FHIR elements, leaving narrative XHTML exactly as it was (its whitespace is content)."""
    children = [c for c in node if etree.QName(c).namespace == FHIR_NS or etree.QName(c).localname == "div"]
    if not children:
        return
    node.text = "\n" + "  " * (level + 1)
    for child in children:
        child.tail = "\n" + "  " * (level + 1)
        if etree.QName(child).namespace == FHIR_NS:
            _indent(child, level + 1)
    children[-1].tail = "\n" + "  " * level


def _resource_to_xml(resource: JsonDict) -> etree._Element:
    node = etree.Element(f"{{{FHIR_NS}}}{resource['resourceType']}", nsmap={None: FHIR_NS})
    _fill_xml(node, resource, resource["resourceType"], is_resource=True)
    return node


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    text = str(value)
    # Stored and parsed content never holds these (parsing refuses them); text made here might.
    return printable(text) if _NOT_XML.search(text) else text


def _fill_xml(node: etree._Element, data: JsonDict, type_name: str, is_resource: bool = False) -> None:
    if not is_resource and "id" in data:
        node.set("id", str(data["id"]))
    if type_name == "Extension" and "url" in data:
        node.set("url", str(data["url"]))
    for name, element in _elements(type_name).items():
        if (name == "id" and not is_resource) or (name == "url" and type_name == "Extension"):
            continue
        value, extra = data.get(name), data.get(f"_{name}")
        if value is None and extra is None:
            continue
        values = value if isinstance(value, list) else [value]
        extras = extra if isinstance(extra, list) else [extra]
        for index in range(max(len(values) if value is not None else 0, len(extras) if extra is not None else 0)):
            item = values[index] if value is not None and index < len(values) else None
            item_extra = extras[index] if extra is not None and index < len(extras) else None
            _append_xml(node, name, element, item, item_extra)


def _append_xml(parent: etree._Element, name: str, element: _Element, value: Any, extra: JsonDict | None) -> None:
    if element.type_name == "xhtml":
        parent.append(etree.fromstring(value.encode("utf-8"), parser=_safe_parser()))
        return
    child = etree.SubElement(parent, f"{{{FHIR_NS}}}{name}")
    if _is_resource_type(element.type_name):
        child.append(_resource_to_xml(value))
    elif element.is_primitive:
        if value is not None:
            child.set("value", _text(value))
        if extra:
            if "id" in extra:
                child.set("id", str(extra["id"]))
            for ext in extra.get("extension", []):
                _fill_xml(etree.SubElement(child, f"{{{FHIR_NS}}}extension"), ext, "Extension")
    else:
        _fill_xml(child, value, element.type_name)


def parse(data: bytes, filename: str = "") -> JsonDict:
    """Bytes of either format to a FHIR JSON dict; XML is recognised by its first character."""
    stripped = data.lstrip(b"\xef\xbb\xbf \t\r\n")
    if filename.lower().endswith(".xml") or stripped.startswith(b"<"):
        return parse_xml(data)
    return parse_json(data)
