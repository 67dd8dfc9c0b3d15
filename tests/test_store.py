"""The versioned store on SQLite and PostgreSQL: versions, history, search semantics, locking."""

import copy
import threading
from collections.abc import Iterator

import pytest
from sqlalchemy import inspect

from service.store import Gone, InvalidSearch, NotFound, PreconditionFailed, Store, WriteConflict, Writer, parse_search
from service.store.searchparams import REGISTRY

from .conftest import minimal_pathway
from .stores import BACKENDS, database

ODS = "https://fhir.nhs.uk/Id/ods-organization-code"
OWNER = "http://harmonise.example.org/fhir/StructureDefinition/owning-organization"


def plan(id_: str, **elements) -> dict:
    """A small valid PlanDefinition carrying just the elements a search test needs."""
    return {"resourceType": "PlanDefinition", "id": id_, "status": "active", **elements}


def owned_by(ods: str) -> list[dict]:
    return [{"url": OWNER, "valueIdentifier": {"system": ODS, "value": ods}}]


# Three resources whose search results below were worked out by hand.
ALPHA = plan(
    "a", url="http://x.org/pd/a", version="1.0.0", name="AlphaPlan", title="Wound care after surgery",
    publisher="Sheffield Teaching Hospitals NHS Foundation Trust", description="Follow-up on day 10",
    date="2024-03-15", effectivePeriod={"start": "2024-01-01", "end": "2024-12-31"},
    identifier=[{"system": "urn:sys", "value": "A1"}], topic=[{"coding": [{"system": "urn:topic", "code": "surgery"}]}],
    jurisdiction=[{"coding": [{"system": "urn:iso:std:iso:3166", "code": "GB"}]}],
    useContext=[{"code": {"system": "http://terminology.hl7.org/CodeSystem/usage-context-type", "code": "focus"},
                 "valueCodeableConcept": {"coding": [{"system": "urn:pathway-topic", "code": "tonsillectomy"}]}}],
    relatedArtifact=[{"type": "derived-from", "resource": "http://x.org/guide|2.0"}], extension=owned_by("RHQ"),
)
BETA = plan(
    "b", url="http://x.org/pd/b", version="2.0.0", status="draft", name="BetaPlan", title="Café review",
    publisher="Barnsley Hospital NHS Foundation Trust", date="2025-01",
    topic=[{"coding": [{"system": "urn:topic", "code": "medicine"}]}],
    relatedArtifact=[{"type": "derived-from", "resource": "http://x.org/guide|1.0"}], extension=owned_by("RFF"),
)
# 23:30 at UTC-1 on 31 December 2023 is 00:30 UTC on 1 January 2024.
GAMMA = plan("c", url="http://x.org/pd/a", version="2.0.0", status="retired", name="Gamma",
             title="wound CARE (revised)", date="2023-12-31T23:30:00-01:00", extension=owned_by("RHQ"))


@pytest.fixture(scope="module", params=BACKENDS)
def searchable(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    with database(request.param, tmp_path_factory.mktemp("search")) as url:
        store = Store.open(url)
        for resource in (ALPHA, BETA, GAMMA):
            with store.write() as writer:
                writer.update(resource, resource["id"])
        yield store
        store.close()


def ids(store: Store, *params: tuple[str, str]) -> list[str]:
    page = store.search(parse_search("PlanDefinition", [*params, ("_count", "50")]))
    return [version.resource_id for version in page.versions]


@pytest.mark.parametrize(("params", "expected"), [
    ([("_id", "a")], ["a"]),
    ([("_id", "a,c")], ["a", "c"]),
    ([("url", "http://x.org/pd/a")], ["a", "c"]),
    ([("url", "http://x.org/pd/a|2.0.0")], ["c"]),
    ([("url:below", "http://x.org/pd")], ["a", "b", "c"]),
    ([("version", "2.0.0")], ["b", "c"]),
    ([("status", "active,draft")], ["a", "b"]),
    ([("status:not", "retired")], ["a", "b"]),
    ([("name", "alpha")], ["a"]),
    ([("name", "plan")], []),
    ([("name:contains", "plan")], ["a", "b"]),
    ([("name:exact", "AlphaPlan")], ["a"]),
    ([("name:exact", "alphaplan")], []),
    ([("title", "cafe")], ["b"]),
    ([("title", "wound")], ["a", "c"]),
    ([("title:exact", "Wound care after surgery")], ["a"]),
    ([("publisher:missing", "true")], ["c"]),
    ([("publisher:missing", "false")], ["a", "b"]),
    ([("publisher", "barnsley")], ["b"]),
    ([("description:contains", "DAY")], ["a"]),
    ([("identifier", "urn:sys|A1")], ["a"]),
    ([("identifier", "A1")], ["a"]),
    ([("identifier", "urn:other|A1")], []),
    ([("topic", "surgery")], ["a"]),
    ([("topic", "urn:topic|")], ["a", "b"]),
    ([("jurisdiction", "urn:iso:std:iso:3166|GB")], ["a"]),
    ([("context", "urn:pathway-topic|tonsillectomy")], ["a"]),
    ([("context-type", "focus")], ["a"]),
    ([("derived-from", "http://x.org/guide")], ["a", "b"]),
    ([("derived-from", "http://x.org/guide|2.0")], ["a"]),
    ([("trust", "RHQ")], ["a", "c"]),
    ([("trust", f"{ODS}|RFF")], ["b"]),
    ([("date", "2024")], ["a", "c"]),
    ([("date", "2024-03-15")], ["a"]),
    ([("date", "lt2024-03-15")], ["c"]),
    ([("date", "ge2025-01-01")], ["b"]),
    ([("date", "le2024-01-01")], ["c"]),
    ([("date", "sa2024-06")], ["b"]),
    ([("date", "eb2024")], []),
    ([("date", "ne2024")], ["b"]),
    ([("date", "gt2024-12-31")], ["b"]),
    ([("date", "ap2023-12-31T23:59:00Z")], []),
    ([("date", "2024-01-01T00:30:00Z")], ["c"]),
    ([("effective", "ge2024-06-01")], ["a"]),
    ([("effective", "2024-06-01")], []),
    ([("effective", "ap2024-06-01")], ["a"]),
    ([("effective:missing", "true")], ["b", "c"]),
    ([("status", "active"), ("trust", "RHQ")], ["a"]),
    ([("title", "wound"), ("status", "retired")], ["c"]),
    ([("date", "ge2024"), ("date", "lt2025")], ["a", "c"]),
])
def test_search_parameters_modifiers_and_prefixes(searchable: Store, params, expected) -> None:
    assert ids(searchable, *params) == expected


@pytest.mark.parametrize(("sort", "expected"), [
    ("title", ["b", "c", "a"]),           # "cafe review" < "wound care (revised)" < "wound care after surgery"
    ("-date", ["b", "a", "c"]),
    ("publisher", ["b", "a", "c"]),       # Barnsley, Sheffield, then the one without a publisher
    ("-_id", ["c", "b", "a"]),
    ("version,-name", ["a", "c", "b"]),   # 1.0.0 first; then 2.0.0: Gamma before BetaPlan descending
])
def test_sort(searchable: Store, sort: str, expected: list[str]) -> None:
    assert ids(searchable, ("_sort", sort)) == expected


def test_count_total_and_offset_page_through_one_snapshot(searchable: Store) -> None:
    first = searchable.search(parse_search("PlanDefinition", [("_count", "2"), ("_sort", "_id")]))
    assert [v.resource_id for v in first.versions] == ["a", "b"] and first.total == 3 and first.has_next
    second = searchable.search(parse_search("PlanDefinition", [
        ("_count", "2"), ("_sort", "_id"), ("_offset", "2"), ("_snapshot", str(first.snapshot))]))
    assert [v.resource_id for v in second.versions] == ["c"] and not second.has_next
    untotalled = searchable.search(parse_search("PlanDefinition", [("_total", "none")]))
    assert untotalled.total is None and len(untotalled.versions) == 3


def test_last_updated_is_searchable(searchable: Store) -> None:
    gamma = searchable.read("PlanDefinition", "c")
    assert ids(searchable, ("_lastUpdated", f"ge{gamma.last_updated}")) == ["c"]
    assert ids(searchable, ("_lastUpdated", f"lt{gamma.last_updated}")) == ["a", "b"]


@pytest.mark.parametrize(("params", "message"), [
    ([("colour", "red")], "'colour' is not a supported search parameter"),
    ([("title:not", "x")], "the modifier :not is not supported on title"),
    ([("date", "ge2024-13")], "is not a real date"),
    ([("date", "yesterday")], "is not a FHIR date"),
    ([("status:missing", "maybe")], "takes true or false"),
    ([("_count", "-1")], "_count must be at least 0"),
    ([("_sort", "colour")], "cannot sort by 'colour'"),
    ([("_total", "exact")], "_total must be one of"),
])
def test_unreadable_searches_are_refused_with_a_reason(params, message: str) -> None:
    with pytest.raises(InvalidSearch, match=message):
        parse_search("PlanDefinition", params)


def test_every_registered_parameter_has_a_working_extractor() -> None:
    for resource_type, parameters in REGISTRY.items():
        for parameter in parameters.values():
            list(parameter.extract({"resourceType": resource_type}))  # nothing to extract, no error


def test_versions_and_history_of_one_resource(database_url: str) -> None:
    store = Store.open(database_url)
    first = minimal_pathway()
    second = minimal_pathway(title="Second title")
    with store.write() as writer:
        created = writer.update(first, "rhq-test")
    with store.write() as writer:
        updated = writer.update(second, "rhq-test", if_match=1)
    with store.write() as writer:
        unchanged = writer.update(copy.deepcopy(second), "rhq-test")
    with store.write() as writer:
        deleted = writer.delete("PlanDefinition", "rhq-test")

    assert (created.created, created.version.version_id) == (True, 1)
    assert (updated.created, updated.changed, updated.version.version_id) == (False, True, 2)
    assert (unchanged.changed, unchanged.version.version_id) == (False, 2)
    assert deleted is not None and deleted.version_id == 3

    history = store.history("PlanDefinition", "rhq-test")
    assert [(v.version_id, v.method, v.deleted) for v in history.versions] == [
        (3, "DELETE", True), (2, "PUT", False), (1, "PUT", False)]
    stamps = [v.last_updated for v in reversed(history.versions)]
    assert stamps == sorted(stamps) and len(set(stamps)) == 3
    assert stamps == [created.version.last_updated, updated.version.last_updated, deleted.last_updated]
    assert history.versions[1].resource["meta"] == {
        "versionId": "2", "lastUpdated": updated.version.last_updated, "profile": first["meta"]["profile"]}

    assert store.vread("PlanDefinition", "rhq-test", 2).resource["title"] == "Second title"
    with pytest.raises(Gone):
        store.read("PlanDefinition", "rhq-test")
    with pytest.raises(Gone):
        store.vread("PlanDefinition", "rhq-test", 3)
    with pytest.raises(NotFound):
        store.vread("PlanDefinition", "rhq-test", 4)
    with pytest.raises(NotFound):
        store.read("PlanDefinition", "never")
    assert store.search(parse_search("PlanDefinition", [])).total == 0
    store.close()


def test_stale_if_match_writes_nothing(database_url: str) -> None:
    store = Store.open(database_url)
    with store.write() as writer:
        writer.update(minimal_pathway(), "rhq-test")
        writer.update(minimal_pathway(title="Two"), "rhq-test")
    with pytest.raises(PreconditionFailed, match="is at version 2"), store.write() as writer:
        writer.update(minimal_pathway(title="Stale"), "rhq-test", if_match=1)
    with pytest.raises(PreconditionFailed, match="does not exist"), store.write() as writer:
        writer.update(minimal_pathway(id="other"), "other", if_match=1)
    assert store.read("PlanDefinition", "rhq-test").resource["title"] == "Two"
    assert store.history("PlanDefinition", "rhq-test").total == 2
    with pytest.raises(NotFound):
        store.read("PlanDefinition", "other")
    store.close()


def test_two_writers_with_the_same_if_match_exactly_one_wins(database_url: str) -> None:
    store = Store.open(database_url)
    with store.write() as writer:
        writer.update(minimal_pathway(), "rhq-test")
    barrier = threading.Barrier(2)
    outcomes: dict[str, str] = {}

    def write(title: str) -> None:
        barrier.wait()
        try:
            with store.write() as writer:
                writer.update(minimal_pathway(title=title), "rhq-test", if_match=1)
            outcomes[title] = "won"
        except PreconditionFailed:
            outcomes[title] = "412"

    threads = [threading.Thread(target=write, args=(title,)) for title in ("Left", "Right")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes.values()) == ["412", "won"]
    winner = next(title for title, result in outcomes.items() if result == "won")
    current = store.read("PlanDefinition", "rhq-test")
    assert (current.version_id, current.resource["title"]) == (2, winner)
    store.close()


def test_the_unique_version_constraint_refuses_a_second_version_n(database_url: str,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """Were the version check ever raced, the database still refuses a duplicate version: 409."""
    store = Store.open(database_url)
    with store.write() as writer:
        writer.update(minimal_pathway(), "rhq-test")
    stale = store.read("PlanDefinition", "rhq-test")
    with store.write() as writer:
        writer.update(minimal_pathway(title="Two"), "rhq-test")
    monkeypatch.setattr(Writer, "latest", lambda _self, _type, _id: stale)  # a writer that read before "Two"
    with pytest.raises(WriteConflict, match="retry"), store.write() as writer:
        writer.update(minimal_pathway(title="Lost"), "rhq-test")
    monkeypatch.undo()
    assert store.read("PlanDefinition", "rhq-test").resource["title"] == "Two"
    store.close()


def test_opening_migrates_once_and_again_is_harmless(database_url: str) -> None:
    Store.open(database_url).close()
    store = Store.open(database_url)
    tables = set(inspect(store.engine).get_table_names())
    assert {"clock", "resource_version", "search_index", "alembic_version"} <= tables
    store.close()


def test_matching_yields_every_match_of_one_snapshot_page_by_page(database_url: str) -> None:
    store = Store.open(database_url)
    for n in range(7):
        with store.write() as writer:
            writer.update(minimal_pathway(id=f"p{n}"), f"p{n}")
    found = []
    for version in store.matching(parse_search("PlanDefinition", [("_count", "3")])):
        found.append(version.resource_id)
        if len(found) == 1:  # written after the first page was read: not in this snapshot
            with store.write() as writer:
                writer.update(minimal_pathway(id="p9"), "p9")
    assert found == [f"p{n}" for n in range(7)]
    assert len(list(store.matching(parse_search("PlanDefinition", [("_count", "3")])))) == 8
    store.close()
