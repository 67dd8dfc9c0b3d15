"""SearchQuery to SQL: which versions are visible in a snapshot, which match, in what order.

A search reads "the store as of transaction N": for each resource, its newest version with
``txn <= N``, unless that version is a deletion. Because transaction numbers are handed out in
commit order (see ``schema.clock``), the set of rows a snapshot sees never changes, so offset
paging over a snapshot visits every match exactly once however the data changes meanwhile.
"""

from typing import Any

from sqlalchemy import ColumnElement, Select, and_, exists, false, func, not_, or_, select
from sqlalchemy.sql.selectable import ScalarSelect

from .query import Criterion, DateValue, SearchQuery, SortKey
from .schema import resource_version, search_index
from .searchparams import ParamType, SearchParameter, normalize

V = resource_version.alias("v")
_NEWER = resource_version.alias("newer")
_ROW = search_index.alias("si")


def visible(resource_type: str, snapshot: int) -> ColumnElement[bool]:
    """``V`` is the current, undeleted version of a ``resource_type`` as of ``snapshot``."""
    newer = exists().where(
        _NEWER.c.resource_type == V.c.resource_type,
        _NEWER.c.resource_id == V.c.resource_id,
        _NEWER.c.version_id > V.c.version_id,
        _NEWER.c.txn <= snapshot,
    )
    return and_(V.c.resource_type == resource_type, V.c.txn <= snapshot, V.c.deleted == false(), ~newer)


def _like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _string(modifier: str | None, text: str) -> ColumnElement[bool]:
    if modifier == "exact":
        return _ROW.c.value == text
    if modifier == "contains":
        return _ROW.c.normalized.like(f"%{_like(normalize(text))}%", escape="\\")
    return _ROW.c.normalized.like(f"{_like(normalize(text))}%", escape="\\")


def _token(text: str) -> ColumnElement[bool]:
    if "|" not in text:
        return _ROW.c.value == text
    system, _, code = text.partition("|")
    if system == "":
        return and_(_ROW.c.namespace.is_(None), _ROW.c.value == code)
    if code == "":
        return _ROW.c.namespace == system
    return and_(_ROW.c.namespace == system, _ROW.c.value == code)


def _uri(parameter: SearchParameter, modifier: str | None, text: str) -> ColumnElement[bool]:
    if modifier == "below":
        return _ROW.c.value.like(f"{_like(text)}%", escape="\\")
    if parameter.versioned and "|" in text:
        url, _, version = text.partition("|")
        return and_(_ROW.c.value == url, _ROW.c.namespace == version)
    return _ROW.c.value == text


def _date(value: DateValue) -> ColumnElement[bool]:
    """The prefixes as FHIR R4 defines them on ranges: target [low, high), search value ``value.range``."""
    low, high = _ROW.c.low, _ROW.c.high
    search = value.range
    within = and_(low >= search.low, high <= search.high)
    return {
        "eq": within,
        "ne": not_(within),
        "gt": high > search.high,
        "lt": low < search.low,
        "ge": or_(high > search.high, within),
        "le": or_(low < search.low, within),
        "sa": low >= search.high,
        "eb": high <= search.low,
        "ap": and_(low < search.high, high > search.low),
    }[value.prefix]


def _value(parameter: SearchParameter, modifier: str | None, value: str | DateValue | bool) -> ColumnElement[bool]:
    if isinstance(value, DateValue):
        return _date(value)
    assert isinstance(value, str)
    if parameter.type is ParamType.STRING:
        return _string(modifier, value)
    if parameter.type is ParamType.TOKEN:
        return _token(value)
    return _uri(parameter, modifier, value)


def _rows(parameter: SearchParameter, *conditions: ColumnElement[bool]) -> ColumnElement[bool]:
    return exists().where(_ROW.c.version_pk == V.c.pk, _ROW.c.param == parameter.name, *conditions)


def criterion(item: Criterion) -> ColumnElement[bool]:
    if item.modifier == "missing":
        return ~_rows(item.parameter) if item.values[0] else _rows(item.parameter)
    alternatives = or_(*(_value(item.parameter, item.modifier, value) for value in item.values))
    if item.modifier == "not":
        return ~_rows(item.parameter, alternatives)
    return _rows(item.parameter, alternatives)


def _sort_value(key: SortKey) -> ScalarSelect[Any]:
    """The value a resource sorts by: its least value ascending, its greatest descending."""
    if key.parameter.type is ParamType.DATE:
        column = _ROW.c.high if key.descending else _ROW.c.low
    elif key.parameter.type is ParamType.STRING:
        column = _ROW.c.normalized
    else:
        column = _ROW.c.value
    aggregate = func.max(column) if key.descending else func.min(column)
    return (select(aggregate).where(_ROW.c.version_pk == V.c.pk, _ROW.c.param == key.parameter.name)
            .scalar_subquery())


def matches(query: SearchQuery, snapshot: int) -> Select:
    """SELECT the matching versions (all columns of V), unordered."""
    return select(V).where(visible(query.resource_type, snapshot), *(criterion(item) for item in query.criteria))


def ordered(statement: Select, sort: tuple[SortKey, ...]) -> Select:
    """Sorted by the keys (resources without a value last), then by id so every order is total."""
    order = []
    for key in sort:
        value = _sort_value(key)
        order += [value.is_(None), value.desc() if key.descending else value.asc()]
    return statement.order_by(*order, V.c.resource_id)
