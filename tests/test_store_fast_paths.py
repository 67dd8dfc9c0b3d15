"""The store's fast paths give the same answers as the slow ones they replace.

- A read sends the stored text: byte for byte what re-serialising the parsed resource gives.
- Visibility is recorded on the row (``superseded_txn``): every snapshot sees what it saw before.
- Batch writes (``Writer.update_many``, ``create_many``) make exactly the rows of one-by-one writes.
- Upgrading a database made by the first schema keeps its content and fills the new column in.
- A search on one criterion is answered from the search index rows alone (``sql.keyed``): their
  copies of each version's visibility stay right through updates, deletions and batches, and every
  snapshot's pages and totals equal a brute-force filter over all versions. Totals are kept per
  snapshot only once the snapshot is reached. Upgrading a 0002 database fills the copies in.
"""

import copy
import json
from dataclasses import replace
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import simplejson
from sqlalchemy import func, select, text
from starlette.testclient import TestClient

from service.api.app import create_app
from service.fhirformat import to_json
from service.security.settings import SecuritySettings
from service.store import Store, parse_search, sql
from service.store.audit import AUDIT_TYPE
from service.store.engine import make_engine
from service.store.schema import resource_version, search_index

from .conftest import minimal_pathway
from .stores import ServerThread, at_revision, bearer, database


def _precise(**overrides: Any) -> dict:
    """A pathway with a decimal written with trailing zeros, an exponent, and text beyond ASCII."""
    resource = minimal_pathway(**overrides)
    resource["action"][0]["timingDuration"] = {"value": Decimal("2.50"), "unit": "d",
                                               "system": "http://unitsofmeasure.org", "code": "d"}
    resource["extension"].append({"url": "http://example.org/x", "valueDecimal": Decimal("1.0E+2")})
    resource["description"] = "Café review – “day 10” ✓ \\ \" / \u2028"
    return resource


def test_a_read_sends_the_stored_bytes_which_are_what_the_slow_path_renders(database_url: str,
                                                                            tmp_path: Path) -> None:
    with ServerThread(database_url) as server, httpx.Client(base_url=server.base, headers=bearer()) as client:
        put = client.put("/PlanDefinition/precise", content=to_json(_precise(id="precise")),
                         headers={"Content-Type": "application/fhir+json"})
        assert put.status_code == 201, put.text
        fast = client.get("/PlanDefinition/precise")
        stored = server.store.read("PlanDefinition", "precise")
        assert fast.status_code == 200
        assert fast.content == stored.content.encode("utf-8")  # the stored text itself...
        assert fast.content == to_json(stored.resource, pretty=False)  # ...is what rendering the dict gives
        assert fast.headers["content-type"] == "application/fhir+json; charset=utf-8"
        assert fast.headers["etag"] == 'W/"1"'
        assert b'"value":2.50' in fast.content and b'"valueDecimal":1.0E+2' in fast.content
        # Everything else still goes through the dict, with the decimals kept.
        pretty = client.get("/PlanDefinition/precise", params={"_pretty": "true"})
        assert simplejson.loads(pretty.content, use_decimal=True) == stored.resource
        assert b'"value": 2.50' in pretty.content
        summary_false = client.get("/PlanDefinition/precise", params={"_summary": "false"})
        assert summary_false.content == fast.content
        elements = client.get("/PlanDefinition/precise", params={"_elements": "title"}).json()
        assert "action" not in elements and elements["meta"]["tag"][-1]["code"] == "SUBSETTED"
        xml = client.get("/PlanDefinition/precise", params={"_format": "xml"})
        assert xml.headers["content-type"].startswith("application/fhir+xml") and b'value="2.50"' in xml.content
        assert client.get("/PlanDefinition/precise/_history/1").content == fast.content


def test_the_parsed_resource_keeps_decimals_and_is_parsed_once(database_url: str) -> None:
    store = Store.open(database_url)
    with store.write() as writer:
        writer.update(_precise(id="precise"), "precise")
    version = store.read("PlanDefinition", "precise")
    assert "resource" not in version.__dict__  # not parsed by the read
    assert version.resource["action"][0]["timingDuration"]["value"] == Decimal("2.50")
    assert str(version.resource["action"][0]["timingDuration"]["value"]) == "2.50"
    assert version.resource is version.resource
    store.close()


def _visible(store: Store, snapshot: int) -> dict[str, int]:
    page = store.search(parse_search("PlanDefinition", [("_snapshot", str(snapshot)), ("_count", "50")]))
    return {version.resource_id: version.version_id for version in page.versions}


def test_superseded_versions_are_invisible_from_the_snapshot_that_superseded_them(
        database_url: str) -> None:
    store = Store.open(database_url)
    txns = []
    with store.write() as writer:  # a: v1; b: v1 and v2 in one transaction
        writer.update(minimal_pathway(id="a"), "a")
        writer.update_many([(minimal_pathway(id="b"), "b"), (minimal_pathway(id="b", title="B2"), "b")])
        txns.append(writer.txn)
    with store.write() as writer:  # a: v2
        writer.update(minimal_pathway(id="a", title="A2"), "a")
        txns.append(writer.txn)
    with store.write() as writer:  # a: deleted (v3)
        writer.delete("PlanDefinition", "a")
        txns.append(writer.txn)
    with store.write() as writer:  # a: back (v4)
        writer.update(minimal_pathway(id="a", title="A4"), "a")
        txns.append(writer.txn)
    first, second, third, fourth = txns
    assert _visible(store, first - 1) == {}
    assert _visible(store, first) == {"a": 1, "b": 2}
    assert _visible(store, second) == {"a": 2, "b": 2}
    assert _visible(store, third) == {"b": 2}
    assert _visible(store, fourth) == {"a": 4, "b": 2}
    title = parse_search("PlanDefinition", [("title:exact", "A2"), ("_snapshot", str(second))])
    assert [v.resource_id for v in store.search(title).versions] == ["a"]
    later = parse_search("PlanDefinition", [("title:exact", "A2"), ("_snapshot", str(third))])
    assert store.search(later).total == 0
    with store.engine.connect() as connection:
        rows = connection.execute(select(resource_version.c.resource_id, resource_version.c.version_id,
                                         resource_version.c.superseded_txn)
                                  .where(resource_version.c.resource_type == "PlanDefinition")).all()
    assert sorted(tuple(row) for row in rows) == [
        ("a", 1, second), ("a", 2, third), ("a", 3, fourth), ("a", 4, None), ("b", 1, first), ("b", 2, None)]
    store.close()


def test_a_long_search_value_is_matched_whole_not_by_its_indexed_prefix(database_url: str) -> None:
    store = Store.open(database_url)
    stem = "http://example.org/" + "x" * 200
    with store.write() as writer:
        for suffix in ("one", "two"):
            writer.update(minimal_pathway(id=f"long-{suffix}", url=f"{stem}/{suffix}"), f"long-{suffix}")
    for suffix in ("one", "two"):
        found = store.search(parse_search("PlanDefinition", [("url", f"{stem}/{suffix}")]))
        assert [v.resource_id for v in found.versions] == [f"long-{suffix}"]
    assert store.search(parse_search("PlanDefinition", [("url", stem)])).total == 0
    assert store.search(parse_search("PlanDefinition", [("url", stem[:127])])).total == 0
    store.close()


def _rows(store: Store) -> dict[str, Any]:
    """Every row of both tables, without what differs between two writes of the same content
    (keys, transaction numbers, times, the audit records' own ids)."""
    with store.engine.connect() as connection:
        versions = connection.execute(select(resource_version).order_by(resource_version.c.pk)).all()
        index = connection.execute(select(search_index)).all()
    position = {row.pk: number for number, row in enumerate(versions)}
    txns = sorted({row.txn for row in versions})

    def content(row: Any) -> Any:
        if row.content is None:
            return None
        data = json.loads(row.content)
        data["meta"].pop("lastUpdated")
        data.pop("recorded", None)
        if row.resource_type == AUDIT_TYPE:
            data.pop("id")
        return data

    def relative(txn: int | None) -> int | None:
        return None if txn is None else txns.index(txn)

    return {
        "versions": [(row.resource_type, None if row.resource_type == AUDIT_TYPE else row.resource_id,
                      row.version_id, row.method, row.deleted, relative(row.txn), relative(row.superseded_txn),
                      content(row)) for row in versions],
        "index": sorted((position[row.version_pk], row.param, row.value, row.namespace, row.normalized, row.low,
                         row.high) for row in index
                        if row.param not in ("_lastUpdated", "recorded")
                        and not (versions[position[row.version_pk]].resource_type == AUDIT_TYPE
                                 and row.param == "_id")),
    }


def test_batch_writes_make_exactly_the_rows_of_one_by_one_writes(tmp_path: Path) -> None:
    for backend in ("sqlite", "postgresql"):
        with database(backend, tmp_path) as single_url, database(backend, tmp_path) as batch_url:
            single, batch = Store.open(single_url), Store.open(batch_url)
            first = [(minimal_pathway(id=f"p{n}", title=f"P{n}"), f"p{n}") for n in range(5)]
            second = [
                (minimal_pathway(id="p0", title="P0 changed"), "p0"),       # an update
                (copy.deepcopy(first[1][0]), "p1"),                           # unchanged: no version
                (minimal_pathway(id="new"), "new"),                          # a create...
                (minimal_pathway(id="new", title="New 2"), "new"),           # ...and its next version
                (minimal_pathway(id="p3", title="P3 back"), "p3"),           # recreated after its deletion
                (_precise(id="precise"), "precise"),
            ]
            creates = [(minimal_pathway(id=f"c{n}"), f"c{n}") for n in range(3)]
            with single.write() as writer:
                one_by_one = [writer.update(resource, resource_id) for resource, resource_id in first]
            with single.write() as writer:
                writer.delete("PlanDefinition", "p3")
            with single.write() as writer:
                one_by_one += [writer.update(resource, resource_id) for resource, resource_id in second]
                made = [writer.create(resource, resource_id) for resource, resource_id in creates]
            with batch.write() as writer:
                batched = writer.update_many(first)
            with batch.write() as writer:
                writer.delete("PlanDefinition", "p3")
            with batch.write() as writer:
                batched += writer.update_many(second)
                made_many = writer.create_many(creates)
            assert _rows(single) == _rows(batch), backend
            assert ([(o.created, o.changed, o.version.version_id) for o in one_by_one]
                    == [(o.created, o.changed, o.version.version_id) for o in batched])
            assert ([(v.reference, v.version_id, v.method) for v in made]
                    == [(v.reference, v.version_id, v.method) for v in made_many])
            assert batched[-1].version.resource == batch.read("PlanDefinition", "precise").resource
            single.close()
            batch.close()


def _at_first_revision(url: str) -> None:
    """A database as the first schema (revision 0001) made it, before ``superseded_txn``."""
    at_revision(url, "0001")


def test_upgrading_a_first_schema_database_keeps_its_content_and_fills_in_visibility(
        database_url: str) -> None:
    _at_first_revision(database_url)
    # Versions as the store wrote them under 0001: a (v1 then v2, txns 1 and 2), b (v1, deleted at txn 3).
    rows = [
        (1, "a", 1, "PUT", False, {"resourceType": "PlanDefinition", "id": "a", "status": "active", "title": "A1"}),
        (2, "a", 2, "PUT", False, {"resourceType": "PlanDefinition", "id": "a", "status": "active", "title": "A2",
                                   "version": "2.50"}),
        (1, "b", 1, "PUT", False, {"resourceType": "PlanDefinition", "id": "b", "status": "draft"}),
        (3, "b", 2, "DELETE", True, None),
    ]
    engine = make_engine(database_url)
    with engine.begin() as connection:
        connection.execute(text("UPDATE clock SET txn = 3, last_updated = '2025-01-01T00:00:03.000000Z'"))
        for txn, resource_id, version_id, method, deleted, resource in rows:
            if resource is not None:
                resource["meta"] = {"versionId": str(version_id),
                                    "lastUpdated": f"2025-01-01T00:00:0{txn}.000000Z"}
            pk = connection.execute(text(
                "INSERT INTO resource_version (txn, resource_type, resource_id, version_id, last_updated, method, "
                "deleted, content) VALUES (:txn, 'PlanDefinition', :id, :version, :updated, :method, :deleted, "
                ":content) RETURNING pk"),
                {"txn": txn, "id": resource_id, "version": version_id, "updated": f"2025-01-01T00:00:0{txn}.000000Z",
                 "method": method, "deleted": deleted,
                 "content": None if resource is None else to_json(resource, pretty=False).decode()}).scalar_one()
            if resource is not None:
                connection.execute(text("INSERT INTO search_index (version_pk, param, value) VALUES (:pk, 'status', "
                                        ":status)"), {"pk": pk, "status": resource["status"]})
    engine.dispose()

    store = Store.open(database_url)
    with store.engine.connect() as connection:
        found = connection.execute(select(resource_version.c.resource_id, resource_version.c.version_id,
                                          resource_version.c.superseded_txn)).all()
    assert sorted(tuple(row) for row in found) == [("a", 1, 2), ("a", 2, None), ("b", 1, 3), ("b", 2, None)]
    assert store.read("PlanDefinition", "a").resource["title"] == "A2"
    assert store.vread("PlanDefinition", "a", 1).resource["title"] == "A1"
    assert _visible(store, 1) == {"a": 1, "b": 1}
    assert _visible(store, 2) == {"a": 2, "b": 1}
    assert _visible(store, 3) == {"a": 2}
    assert store.search(parse_search("PlanDefinition", [("status", "active")])).total == 1
    with store.write() as writer:  # and it writes on as usual
        writer.update({"resourceType": "PlanDefinition", "id": "a", "status": "retired"}, "a")
    assert _visible(store, 4) == {"a": 3}
    store.close()


def test_the_api_keeps_as_many_connections_as_the_setting_says(tmp_path: Path) -> None:
    """HARMONISE_DB_POOL_SIZE reaches the API's pool (a bad value is refused in tests/test_settings.py)."""
    url = f"sqlite:///{tmp_path / 'pool.db'}"
    app = create_app(url, SecuritySettings.from_environment(url, {"HARMONISE_DB_POOL_SIZE": "4"}))
    with TestClient(app) as client:
        assert client.get("/fhir/metadata").status_code == 200
        pool = app.state.store.engine.pool
        assert (pool.size(), pool._max_overflow) == (4, 0)  # noqa: SLF001
    engine = make_engine(f"sqlite:///{tmp_path / 'other.db'}")
    assert engine.pool.size() == 10  # the default, for the command line's one-connection work
    engine.dispose()


def test_a_search_splices_the_stored_bytes_into_what_the_slow_path_renders(database_url: str) -> None:
    with ServerThread(database_url) as server, httpx.Client(base_url=server.base, headers=bearer()) as client:
        for number in range(3):
            resource = _precise(id=f"precise-{number}", title=f"Precise {number}")
            assert client.put(f"/PlanDefinition/precise-{number}", content=to_json(resource),
                              headers={"Content-Type": "application/fhir+json"}).status_code == 201
        params = {"title": "precise", "_count": "2", "unknown": "x\\u0000"}
        fast = client.get("/PlanDefinition", params=params)
        assert fast.status_code == 200 and fast.headers["content-type"] == "application/fhir+json; charset=utf-8"
        bundle = simplejson.loads(fast.content, use_decimal=True)
        assert fast.content == to_json(bundle, pretty=False)  # exactly what rendering the dict gives
        assert bundle["total"] == 3 and bundle["entry"][-1]["search"]["mode"] == "outcome"
        for entry in bundle["entry"][:2]:
            stored = server.store.read("PlanDefinition", entry["resource"]["id"])
            assert entry["resource"] == stored.resource
            assert stored.content.encode("utf-8") in fast.content
        pretty = client.get("/PlanDefinition", params={**params, "_pretty": "true"})
        assert simplejson.loads(pretty.content, use_decimal=True)["entry"] == bundle["entry"]
        summary = client.get("/PlanDefinition", params={**params, "_summary": "true"}).json()
        assert summary["entry"][0]["resource"]["meta"]["tag"][-1]["code"] == "SUBSETTED"


# --- searches answered from the search index alone (sql.keyed) -------------------------------------

TOPIC = "http://harmonise.example.org/fhir/CodeSystem/pathway-topic"
NETWORK = "http://harmonise.example.org/fhir/CodeSystem/hosted-network"


def _with_topics(resource_id: str, topics: list[tuple[str, str]], **overrides: Any) -> dict:
    """A pathway whose useContext holds these (system, code) codings, all in one CodeableConcept."""
    resource = minimal_pathway(id=resource_id, **overrides)
    resource["useContext"] = [{"code": {"system": "http://terminology.hl7.org/CodeSystem/usage-context-type",
                                        "code": "focus"},
                               "valueCodeableConcept": {"coding": [{"system": s, "code": c} for s, c in topics]}}]
    return resource


def _copies_agree(store: Store) -> None:
    """Every index row carries its version's type, id, txn and superseded_txn and its value's prefixes;
    a deletion has no index rows."""
    with store.engine.connect() as connection:
        versions = {row.pk: row for row in connection.execute(select(resource_version)).all()}
        rows = connection.execute(select(search_index)).all()
    assert rows
    for row in rows:
        version = versions[row.version_pk]
        assert not version.deleted
        assert ((row.resource_type, row.resource_id, row.txn, row.superseded_txn)
                == (version.resource_type, version.resource_id, version.txn, version.superseded_txn))
        assert row.value_key == (None if row.value is None else row.value[:128])
        assert row.namespace_key == (None if row.namespace is None else row.namespace[:128])


def _history(store: Store) -> list[int]:
    """Writes that create, update, delete and recreate pathways, one by one and in batches; their txns."""
    txns = []
    plans = [
        [("w", [(TOPIC, "t1")]), ("x", [(TOPIC, "t1"), (NETWORK, "t1")]), ("y", [(TOPIC, "t2")])],
        [("x", [(TOPIC, "t2")]), ("z", [(TOPIC, "t1"), ("", "t1")]), ("z", [(TOPIC, "t1"), (TOPIC, "t2")])],
        "delete w",
        [("w", [(TOPIC, "t1")]), ("y", [(TOPIC, "t1")]), ("v", [(NETWORK, "t1")])],
        "delete y",
        [("x", [(TOPIC, "t1")])],
    ]
    for number, plan in enumerate(plans):
        with store.write() as writer:
            if isinstance(plan, str):
                writer.delete("PlanDefinition", plan.split()[1])
            elif number % 2:
                for resource_id, topics in plan:
                    writer.update(_with_topics(resource_id, topics, title=f"T{number}"), resource_id)
            else:
                writer.update_many([(_with_topics(resource_id, topics, title=f"T{number}"), resource_id)
                                    for resource_id, topics in plan])
            txns.append(writer.txn)
    return txns


def _brute_force(store: Store, snapshot: int, matches: Any) -> list[str]:
    """Ids of the resources whose version current at ``snapshot`` is undeleted and ``matches``, by id,
    worked out from every version row in Python."""
    with store.engine.connect() as connection:
        versions = connection.execute(select(resource_version)
                                      .where(resource_version.c.resource_type == "PlanDefinition")).all()
    current: dict[str, Any] = {}
    for row in versions:
        newer = row.resource_id not in current or row.version_id > current[row.resource_id].version_id
        if row.txn <= snapshot and newer:
            current[row.resource_id] = row
    return sorted(rid for rid, row in current.items() if not row.deleted and matches(json.loads(row.content)))


def _codings(resource: dict) -> list[tuple[str | None, str]]:
    return [(coding.get("system"), coding["code"]) for context in resource.get("useContext", [])
            for coding in context["valueCodeableConcept"]["coding"]]


SEARCHES: list[tuple[list[tuple[str, str]], Any]] = [
    ([("context", f"{TOPIC}|t1")], lambda r: (TOPIC, "t1") in _codings(r)),
    ([("context", f"{TOPIC}|t2")], lambda r: (TOPIC, "t2") in _codings(r)),
    ([("context", "t1")], lambda r: any(code == "t1" for _, code in _codings(r))),
    ([("context", f"{TOPIC}|t1,{NETWORK}|t1")],
     lambda r: bool({(TOPIC, "t1"), (NETWORK, "t1")} & set(_codings(r)))),
    ([("context", f"{TOPIC}|")], lambda r: any(system == TOPIC for system, _ in _codings(r))),
    ([("title:exact", "T3")], lambda r: r["title"] == "T3"),
    ([("title", "t")], lambda r: r["title"].lower().startswith("t")),
    ([("_id", "x")], lambda r: r["id"] == "x"),
]


def test_a_search_from_the_index_alone_equals_a_brute_force_filter_at_every_snapshot(
        database_url: str) -> None:
    store = Store.open(database_url)
    txns = _history(store)
    _copies_agree(store)
    for snapshot in range(txns[0] - 1, txns[-1] + 1):
        for params, matches in SEARCHES:
            expected = _brute_force(store, snapshot, matches)
            query = parse_search("PlanDefinition", [*params, ("_snapshot", str(snapshot))])
            assert sql.keyed(query) is not None
            for count in (1, 2, 50):
                found: list[str] = []
                offset = 0
                while True:
                    page = store.search(replace(query, count=count, offset=offset))
                    assert page.total == len(expected), (params, snapshot)
                    found += [version.resource_id for version in page.versions]
                    offset += count
                    if not page.has_next:
                        break
                assert found == expected, (params, snapshot, count)
            # and the general path (every criterion joined to its versions) agrees
            with store.engine.connect() as connection:
                general = connection.execute(sql.ordered(sql.matches(query, snapshot), ())).all()
            assert [row.resource_id for row in general] == expected
    store.close()


def test_index_copies_follow_each_version_superseded_in_a_batch_or_alone(database_url: str) -> None:
    store = Store.open(database_url)
    _history(store)
    with store.write() as writer:  # three versions of one resource in one batch, then an unchanged one
        writer.update_many([(_with_topics("u", [(TOPIC, str(n))]), "u") for n in range(3)]
                           + [(_with_topics("x", [(TOPIC, "t1")], title="T5"), "x")])
    with store.write() as writer:
        writer.delete("PlanDefinition", "u")
    _copies_agree(store)
    with store.engine.connect() as connection:
        current = connection.execute(select(search_index.c.resource_id).distinct()
                                     .where(search_index.c.resource_type == "PlanDefinition",
                                            search_index.c.superseded_txn.is_(None))).scalars().all()
    assert sorted(current) == ["v", "w", "x", "z"]
    store.close()


def test_totals_are_kept_per_snapshot_and_never_for_one_not_reached(database_url: str) -> None:
    store = Store.open(database_url)
    txns = _history(store)
    topic = [("context", f"{TOPIC}|t1")]
    first = store.search(parse_search("PlanDefinition", topic))
    assert first.snapshot == txns[-1] and first.total == 3  # counted, and kept
    future = parse_search("PlanDefinition", [*topic, ("_snapshot", str(txns[-1] + 1))])
    assert store.search(future).total == 3
    with store.write() as writer:
        writer.update(_with_topics("new", [(TOPIC, "t1")]), "new")
    again = store.search(parse_search("PlanDefinition", topic))
    assert (again.snapshot, again.total) == (txns[-1] + 1, 4)
    assert store.search(future).total == 4  # the snapshot named before it was reached was not kept
    later = parse_search("PlanDefinition", [*topic, ("_snapshot", str(first.snapshot)), ("_offset", "2")])
    assert store.search(later).total == 3
    assert store.search(parse_search("PlanDefinition", [*topic, ("_total", "none")])).total is None
    # a write's own searches (conditional create) see its uncommitted snapshot, never kept
    with store.write() as writer:
        writer.update(_with_topics("newer", [(TOPIC, "t1")]), "newer")
        assert writer.search(parse_search("PlanDefinition", topic)).total == 5
    assert store.search(parse_search("PlanDefinition", topic)).total == 5
    store.close()


def test_upgrading_a_second_schema_database_fills_in_the_index_copies(database_url: str) -> None:
    at_revision(database_url, "0002")
    engine = make_engine(database_url)
    long_url = "http://example.org/" + "u" * 300
    with engine.begin() as connection:  # as the store wrote them under 0002: a v1, a v2, b v1 then deleted
        connection.execute(text("UPDATE clock SET txn = 3, last_updated = '2025-01-01T00:00:03.000000Z'"))
        versions = [(1, "a", 1, False, 2, "t1"), (2, "a", 2, False, None, "t2"), (1, "b", 1, False, 3, "t1"),
                    (3, "b", 2, True, None, None)]
        for txn, resource_id, version_id, deleted, superseded, topic in versions:
            resource = None if deleted else {
                "resourceType": "PlanDefinition", "id": resource_id, "status": "active", "url": long_url,
                "meta": {"versionId": str(version_id), "lastUpdated": f"2025-01-01T00:00:0{txn}.000000Z"}}
            pk = connection.execute(text(
                "INSERT INTO resource_version (txn, resource_type, resource_id, version_id, last_updated, method, "
                "deleted, content, superseded_txn) VALUES (:txn, 'PlanDefinition', :id, :version, :updated, "
                "'PUT', :deleted, :content, :superseded) RETURNING pk"),
                {"txn": txn, "id": resource_id, "version": version_id, "deleted": deleted,
                 "updated": f"2025-01-01T00:00:0{txn}.000000Z", "superseded": superseded,
                 "content": None if resource is None else to_json(resource, pretty=False).decode()}).scalar_one()
            if topic is not None:
                for param, value, namespace in (("context", topic, TOPIC), ("url", long_url, None)):
                    connection.execute(text("INSERT INTO search_index (version_pk, param, value, namespace) "
                                            "VALUES (:pk, :param, :value, :namespace)"),
                                       {"pk": pk, "param": param, "value": value, "namespace": namespace})
    engine.dispose()
    store = Store.open(database_url)
    _copies_agree(store)
    with store.engine.connect() as connection:
        count = connection.execute(select(func.count()).select_from(search_index)).scalar_one()
    assert count == 6
    for snapshot, topic, expected in ((1, "t1", ["a", "b"]), (2, "t1", ["b"]), (2, "t2", ["a"]), (3, "t1", []),
                                      (3, "t2", ["a"])):
        query = parse_search("PlanDefinition", [("context", f"{TOPIC}|{topic}"), ("_snapshot", str(snapshot))])
        page = store.search(query)
        assert ([v.resource_id for v in page.versions], page.total) == (expected, len(expected)), (snapshot, topic)
    assert [v.resource_id for v in store.search(parse_search("PlanDefinition", [("url", long_url)])).versions] == ["a"]
    assert store.read("PlanDefinition", "a").version_id == 2
    with store.write() as writer:  # and it writes on as usual
        writer.update({"resourceType": "PlanDefinition", "id": "a", "status": "retired"}, "a")
    _copies_agree(store)
    store.close()
