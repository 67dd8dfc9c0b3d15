"""SearchQuery to SQL: which versions are visible in a snapshot, which match, in what order.

A search reads "the store as of transaction N": for each resource, its newest version with
``txn <= N``, unless that version is a deletion. Because transaction numbers are handed out in
commit order (see ``schema.clock``), the set of rows a snapshot sees never changes, so offset
paging over a snapshot visits every match exactly once however the data changes meanwhile.
Each version row records the txn that superseded it, so that is a condition on the row alone.

A criterion selects version keys from the search index (``pk IN (SELECT version_pk ...)``), so a
selective search starts from its few index rows, found through ``ix_search_index_key`` for
exact value matches, rather than visiting every version of the type. Many criteria are one
INTERSECT of such selections, so a statement's planning grows with their number, not faster
(``matches``).

A search with one criterion that selects rows (not ``:missing`` or ``:not``) and the default order
is answered from the index rows alone (``keyed``): they carry their version's visibility and id,
so counting is one range of ``ix_search_index_key`` (index-only on PostgreSQL), and a page is
that range read in id order up to the page's end; only the page's versions are then fetched.
"""

from functools import lru_cache
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, bindparam, exists, false, func, intersect, not_, or_, select
from sqlalchemy.sql.elements import BindParameter
from sqlalchemy.sql.selectable import ScalarSelect

from .query import Criterion, DateValue, SearchQuery, SortKey
from .schema import VALUE_PREFIX, clock, resource_version, search_index
from .searchparams import ParamType, SearchParameter, normalize

V = resource_version.alias("v")
_ROW = search_index.alias("si")


def visible(resource_type: str, snapshot: int) -> ColumnElement[bool]:
    """``V`` is the current, undeleted version of a ``resource_type`` as of ``snapshot``: written
    by then, and not superseded by then."""
    return and_(V.c.resource_type == resource_type, V.c.txn <= snapshot,
                or_(V.c.superseded_txn.is_(None), V.c.superseded_txn > snapshot), V.c.deleted == false())


#: The indexed prefix of each column compared whole (``schema.search_index``).
_KEYS = {"value": "value_key", "namespace": "namespace_key"}


def _equals(column: Any, text: str) -> ColumnElement[bool]:
    """``column = text``, written so that ``ix_search_index_key`` answers it.

    A text shorter than the indexed prefix equals a value exactly when the value's prefix does
    (a value with more characters has a longer prefix), so the index alone decides; a longer text
    is compared whole as well.
    """
    key = column.table.c[_KEYS[column.name]]
    if len(text) < VALUE_PREFIX:
        return key == text
    return and_(key == text[:VALUE_PREFIX], column == text)


def _like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _string(modifier: str | None, text: str) -> ColumnElement[bool]:
    if modifier == "exact":
        return _equals(_ROW.c.value, text)
    if modifier == "contains":
        return _ROW.c.normalized.like(f"%{_like(normalize(text))}%", escape="\\")
    return _ROW.c.normalized.like(f"{_like(normalize(text))}%", escape="\\")


def _token(text: str) -> ColumnElement[bool]:
    if "|" not in text:
        return _equals(_ROW.c.value, text)
    system, _, code = text.partition("|")
    if system == "":
        return and_(_ROW.c.namespace.is_(None), _equals(_ROW.c.value, code))
    if code == "":
        return _equals(_ROW.c.namespace, system)
    return and_(_equals(_ROW.c.value, code), _equals(_ROW.c.namespace, system))


def _uri(parameter: SearchParameter, modifier: str | None, text: str) -> ColumnElement[bool]:
    if modifier == "below":
        return _ROW.c.value.like(f"{_like(text)}%", escape="\\")
    if parameter.versioned and "|" in text:
        url, _, version = text.partition("|")
        return and_(_equals(_ROW.c.value, url), _equals(_ROW.c.namespace, version))
    return _equals(_ROW.c.value, text)


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


def _alternatives(item: Criterion) -> ColumnElement[bool]:
    return or_(*(_value(item.parameter, item.modifier, value) for value in item.values))


def _one_row_per_version(item: Criterion) -> bool:
    """At most one index row of a version meets ``item``: a single value pinning every column a row
    of its parameter varies in (rows of one version differ, see ``indexing.index_rows``)."""
    if len(item.values) != 1 or item.modifier not in (None, "exact"):
        return False
    value = item.values[0]
    if not isinstance(value, str):
        return False
    parameter = item.parameter
    if parameter.type is ParamType.STRING:  # :exact: normalized follows from value, no namespace
        return item.modifier == "exact"
    system, bar, code = value.partition("|")
    if parameter.type is ParamType.TOKEN:  # value and namespace, nothing else
        return bar != "" and code != ""
    return parameter.versioned and bar != ""  # a canonical's url and version


#: The bound parameters of ``keyed``'s statements.
SNAPSHOT: BindParameter[Any] = bindparam("snapshot")
LIMIT: BindParameter[Any] = bindparam("limit")
OFFSET: BindParameter[Any] = bindparam("offset")


def keyed(query: SearchQuery, clocked: bool = False) -> tuple[Select, Select] | None:
    """(count, page) statements read from the search index alone, for a search with one row-selecting
    criterion in the default order; None for any other search (then ``matches`` and ``ordered``).

    Both take the parameter ``snapshot``; the page also ``limit`` and ``offset``. The count counts
    the matching versions; the page selects them (all columns of V) ordered by id. At one snapshot a
    resource has at most one visible version, so distinct versions are distinct resources; the rows
    need no DISTINCT when a version has at most one matching row. Statements are built once per
    search (type and criteria), then reused with new parameters.

    ``clocked``: the page reads its snapshot from the clock in the same statement (one round trip
    less) and returns it in each row's column ``snapshot``; its parameter ``snapshot`` is unused.
    """
    if len(query.criteria) != 1 or query.sort or query.criteria[0].modifier in ("missing", "not"):
        return None
    return _keyed(query.resource_type, query.criteria[0], clocked)


@lru_cache(maxsize=1024)
def _keyed(resource_type: str, item: Criterion, clocked: bool) -> tuple[Select, Select]:
    snapshot = select(clock.c.txn).where(clock.c.id == 1).scalar_subquery() if clocked else SNAPSHOT
    rows = (select(_ROW.c.resource_id, _ROW.c.version_pk)
            .where(_ROW.c.resource_type == resource_type, _ROW.c.txn <= snapshot,
                   or_(_ROW.c.superseded_txn.is_(None), _ROW.c.superseded_txn > snapshot),
                   _ROW.c.param == item.parameter.name, _alternatives(item)))
    if not _one_row_per_version(item):
        rows = rows.distinct()
    count = select(func.count()).select_from(rows.subquery())
    page = rows.order_by(_ROW.c.resource_id).limit(LIMIT).offset(OFFSET).subquery("k")
    columns = (V, snapshot.label("snapshot")) if clocked else (V,)
    return count, select(*columns).join(page, V.c.pk == page.c.version_pk).order_by(page.c.resource_id)


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


#: Up to this many row-selecting criteria are each a semi-join of their own (the planner starts from
#: the most selective); more are one INTERSECT (see ``matches``).
SEPARATE = 4


def _current(snapshot: int) -> tuple[ColumnElement[bool], ...]:
    """The index row belongs to a version current at ``snapshot`` (its copies of txn and superseded_txn)."""
    return _ROW.c.txn <= snapshot, or_(_ROW.c.superseded_txn.is_(None), _ROW.c.superseded_txn > snapshot)


def _selected(resource_type: str, item: Criterion, *conditions: ColumnElement[bool]) -> Select:
    """The keys of the versions with an index row that ``item`` (a row-selecting criterion) selects."""
    selects = () if item.modifier == "missing" else (_alternatives(item),)
    return select(_ROW.c.version_pk).where(_ROW.c.resource_type == resource_type, *conditions,
                                           _ROW.c.param == item.parameter.name, *selects)


def _refused(item: Criterion) -> ColumnElement[bool]:
    """An index row whose presence refuses its version (``:not``, ``:missing=true``)."""
    if item.modifier == "missing":
        return _ROW.c.param == item.parameter.name
    return and_(_ROW.c.param == item.parameter.name, _alternatives(item))


def _negative(item: Criterion) -> bool:
    return item.modifier == "not" or (item.modifier == "missing" and item.values[0] is True)


def matches(query: SearchQuery, snapshot: int) -> Select:
    """SELECT the matching versions (all columns of V), unordered.

    A few row-selecting criteria are each ``pk IN (SELECT version_pk ...)``, a semi-join the
    planner may start from. Many are one ``pk IN (... INTERSECT ...)``, each part planned alone
    and read once: as semi-joins of their own they put every copy of the index into one
    equivalence class (``v.pk = si_1.version_pk = si_2.version_pk ...``), and PostgreSQL's
    planning time grew with the cube of their number (15 s at 150). The criteria that refuse a
    version by one of its rows (``:not``, ``:missing=true``) are one NOT EXISTS, however many.
    """
    selecting = [item for item in query.criteria if not _negative(item)]
    refused = [_refused(item) for item in query.criteria if _negative(item)]
    conditions = [visible(query.resource_type, snapshot)]
    if len(selecting) <= SEPARATE:
        conditions += [V.c.pk.in_(_selected(query.resource_type, item)) for item in selecting]
    else:
        current = _current(snapshot)
        conditions.append(V.c.pk.in_(intersect(*(_selected(query.resource_type, item, *current)
                                                  for item in selecting))))
    if refused:
        conditions.append(~exists().where(_ROW.c.version_pk == V.c.pk, or_(*refused)))
    return select(V).where(*conditions)


def ordered(statement: Select, sort: tuple[SortKey, ...]) -> Select:
    """Sorted by the keys (resources without a value last), then by id so every order is total."""
    order = []
    for key in sort:
        value = _sort_value(key)
        order += [value.is_(None), value.desc() if key.descending else value.asc()]
    return statement.order_by(*order, V.c.resource_id)
