"""A search request's parameters, read and checked against the registry before any SQL is built.

Repeated parameters are ANDed, comma-separated values within one are ORed (FHIR R4 search).
Anything the registry does not know, or a value that cannot be read, is an ``InvalidSearch``
naming the parameter, so a client never gets silently wrong results.

A ``SearchBudget`` bounds what one search may ask for (parameters, values, characters in a
value); past it the search is a ``SearchTooCostly``, before any value is read or SQL built. The
databases' own limits (SQLite's expression depth and LIKE pattern length) are far above it, and
the statement's cost grows with it, so no accepted search can fail or run on for either reason.
"""

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Final

from ..fhirformat import has_forbidden_characters
from .dates import DateRange, date_range
from .errors import InvalidSearch, SearchTooCostly
from .searchparams import DATE_PREFIXES, ParamType, SearchParameter, parameters_for

DEFAULT_COUNT: Final = 20
MAX_COUNT: Final = 500
#: Offsets and snapshot numbers are at most a signed 64-bit integer, the largest both databases hold.
LARGEST: Final = 2**63 - 1

#: Parameters that shape the result rather than select it, read here.
RESULT_PARAMETERS: Final = ("_count", "_sort", "_total", "_snapshot", "_offset")
TOTAL_MODES: Final = ("none", "estimate", "accurate")


@dataclass(frozen=True)
class DateValue:
    prefix: str
    range: DateRange


@dataclass(frozen=True)
class Criterion:
    parameter: SearchParameter
    modifier: str | None
    #: Alternatives (ORed); a DateValue for dates, a bool for :missing, else the text.
    values: tuple[str | DateValue | bool, ...]


@dataclass(frozen=True)
class SortKey:
    parameter: SearchParameter
    descending: bool


@dataclass(frozen=True)
class SearchQuery:
    resource_type: str
    criteria: tuple[Criterion, ...] = ()
    sort: tuple[SortKey, ...] = ()
    count: int = DEFAULT_COUNT
    offset: int = 0
    #: Pin the search to the store as of this transaction (set by paging links).
    snapshot: int | None = None
    total: bool = True
    #: Parameters the server does not know, left out of the search (lenient handling only).
    ignored: tuple[str, ...] = ()


@dataclass(frozen=True)
class Limit:
    """One cap on a search, and what raises it (the server's setting), for the client's message."""

    most: int
    setting: str


@dataclass(frozen=True)
class SearchBudget:
    """The most one search may ask for; the REST layer makes it from the server's settings."""

    #: Name=value pairs that select (not _count, _sort and the other result parameters).
    parameters: Limit
    #: Values in all, each comma-separated alternative counted.
    values: Limit
    #: Characters in one name or value, result parameters' included.
    value_length: Limit


def _too_costly(limit: Limit, what: str, found: str) -> SearchTooCostly:
    return SearchTooCostly(f"{found}; this server accepts at most {limit.most:,} {what} "
                           f"(the setting {limit.setting} raises the limit)")


def _check_budget(params: list[tuple[str, str]], budget: SearchBudget) -> None:
    """Refuse a search past ``budget``: counted on the text alone, before anything is parsed."""
    longest = budget.value_length.most
    selecting = 0
    values = 0
    for name, value in params:
        if len(name) > longest or len(value) > longest:
            part, size = ("name", len(name)) if len(name) > longest else ("value", len(value))
            raise _too_costly(budget.value_length, "characters in a search parameter's name or value",
                              f"the search parameter {name[:40]!r} has a {part} of {size:,} characters")
        if name in RESULT_PARAMETERS:
            continue
        selecting += 1
        values += len(split_values(value)) if "," in value else 1
    if selecting > budget.parameters.most:
        raise _too_costly(budget.parameters, "search parameters in one search",
                          f"the search has {selecting:,} search parameters")
    if values > budget.values.most:
        raise _too_costly(budget.values, "values in one search (each comma-separated alternative counts)",
                          f"the search has {values:,} values")


def split_values(text: str) -> list[str]:
    """Comma-separated alternatives; ``\\,`` is a literal comma."""
    return [part.replace("\\,", ",").replace("\\\\", "\\") for part in re.split(r"(?<!\\),", text)]


def _date_value(parameter: SearchParameter, text: str) -> DateValue:
    prefix = text[:2] if text[:2] in DATE_PREFIXES else "eq"
    body = text[2:] if text[:2] in DATE_PREFIXES else text
    try:
        return DateValue(prefix, date_range(body))
    except ValueError as exc:
        raise InvalidSearch(f"{parameter.name}: {exc}") from None


def _criterion(parameter: SearchParameter, modifier: str | None, text: str) -> Criterion:
    if modifier is not None and modifier not in parameter.modifiers:
        supported = ", ".join(f":{m}" for m in parameter.modifiers)
        raise InvalidSearch(f"the modifier :{modifier} is not supported on {parameter.name} "
                            f"(a {parameter.type} parameter; supported: {supported})")
    if modifier == "missing":
        if text not in ("true", "false"):
            raise InvalidSearch(f"{parameter.name}:missing takes true or false, not '{text}'")
        return Criterion(parameter, modifier, (text == "true",))
    parts = [part for part in split_values(text) if part != ""]
    if not parts:
        raise InvalidSearch(f"{parameter.name} has no value")
    if parameter.type is ParamType.DATE:
        return Criterion(parameter, modifier, tuple(_date_value(parameter, part) for part in parts))
    return Criterion(parameter, modifier, tuple(parts))


def _integer(name: str, text: str, minimum: int, maximum: int = LARGEST) -> int:
    """A whole number of at least ``minimum``; anything larger than ``maximum`` counts as ``maximum``."""
    digits = text.strip()
    if not re.fullmatch(r"-?[0-9]+", digits):
        raise InvalidSearch(f"{name} must be a whole number, not '{text}'")
    value = int(digits) if len(digits) <= 19 else (LARGEST if digits[0] != "-" else -LARGEST)
    if value < minimum:
        raise InvalidSearch(f"{name} must be at least {minimum}")
    return min(value, maximum)


def _sort(resource_type: str, text: str) -> tuple[SortKey, ...]:
    known = parameters_for(resource_type)
    keys = []
    for name in (part.strip() for part in text.split(",") if part.strip()):
        descending = name.startswith("-")
        parameter = known.get(name.lstrip("-"))
        if parameter is None:
            raise InvalidSearch(f"cannot sort by '{name.lstrip('-')}': not a search parameter of {resource_type}")
        keys.append(SortKey(parameter, descending))
    return tuple(keys)


def parse_search(resource_type: str, params: Iterable[tuple[str, str]], *, strict: bool = True,
                 budget: SearchBudget | None = None) -> SearchQuery:
    """Read search parameters (name, value) pairs into a SearchQuery, or raise InvalidSearch.

    An unknown parameter is refused when ``strict``; otherwise it is ignored and named in
    ``ignored`` (FHIR's default, ``Prefer: handling=lenient``). A known parameter with a value or
    modifier that cannot be read is refused either way. With a ``budget`` (every search a client
    sends), a search past it is refused first (``SearchTooCostly``), ignored parameters counted:
    each is still read and echoed back.
    """
    if budget is not None:
        params = list(params)
        _check_budget(params, budget)
    known = parameters_for(resource_type)
    criteria: list[Criterion] = []
    options: dict[str, str] = {}
    ignored: list[str] = []
    for raw_name, value in params:
        if has_forbidden_characters(raw_name) or has_forbidden_characters(value):
            raise InvalidSearch(f"the search parameter {raw_name!r} holds a control character, which no FHIR "
                                "value can contain")
        if raw_name in RESULT_PARAMETERS:
            if raw_name in options:
                raise InvalidSearch(f"{raw_name} may be given only once")
            options[raw_name] = value
            continue
        name, _, modifier = raw_name.partition(":")
        parameter = known.get(name)
        if parameter is None and not strict:
            ignored.append(raw_name)
            continue
        if parameter is None:
            supported = ", ".join(sorted(known))
            raise InvalidSearch(f"'{name}' is not a supported search parameter of {resource_type} "
                                f"(supported: {supported})")
        criteria.append(_criterion(parameter, modifier or None, value))
    total = options.get("_total", "accurate")
    if total not in TOTAL_MODES:
        raise InvalidSearch(f"_total must be one of {', '.join(TOTAL_MODES)}, not '{total}'")
    return SearchQuery(
        resource_type=resource_type,
        criteria=tuple(criteria),
        sort=_sort(resource_type, options.get("_sort", "")),
        count=_integer("_count", options["_count"], 0, MAX_COUNT) if "_count" in options else DEFAULT_COUNT,
        offset=_integer("_offset", options["_offset"], 0) if "_offset" in options else 0,
        snapshot=_integer("_snapshot", options["_snapshot"], 0) if "_snapshot" in options else None,
        total=total != "none",
        ignored=tuple(ignored),
    )
