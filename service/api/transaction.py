"""``POST /fhir`` with a transaction Bundle: all entries are written in one store write, or none.

Entries are checked first (so a bad resource, or one the token may not write, refuses the Bundle
before anything is written), then carried out in the order FHIR prescribes (DELETE, POST, PUT),
each against the ownership rules and with its audit record, in the same store transaction. POST entries with a
``urn:uuid:`` fullUrl get their ids up front, and references to those fullUrls are rewritten.
A trust can so replace its whole set of pathways atomically.
"""

from dataclasses import dataclass
from typing import Any, Final

from fastapi import APIRouter, Request
from fastapi.responses import Response

from ..fhirformat import JsonDict
from ..store import SearchBudget, StoredVersion, Writer, new_id
from ..store.errors import NotFound, StoreError
from . import bundles
from .auth import Caller, WriteAccess
from .conditional import existing_match
from .dependencies import BodyDep, StoreDep
from .formats import fhir_response, read_resource
from .headers import etag
from .outcomes import FhirError, error, store_error
from .registry import Interaction, ResourceSupport, SystemInteraction, require, require_system
from .search import budget as search_budget
from .validation import accept, checked_id, expect_id, expect_type, version_number

router = APIRouter()

_ORDER: Final = {"DELETE": 0, "POST": 1, "PUT": 2}
_INTERACTIONS: Final = {"DELETE": Interaction.DELETE, "POST": Interaction.CREATE, "PUT": Interaction.UPDATE}


@dataclass
class Entry:
    index: int
    method: str
    support: ResourceSupport
    resource_id: str | None
    resource: JsonDict | None
    if_match: int | None
    if_none_exist: str | None
    #: For a conditional create that matched: the resource it matched, so nothing is created.
    existing: StoredVersion | None = None
    response: JsonDict | None = None


def _within_entry(index: int, path: str) -> str:
    """An element path of an entry's resource (``PlanDefinition.status``) as a path in the Bundle."""
    if path.startswith("Bundle."):
        return path
    _type, dot, rest = path.partition(".")
    return f"Bundle.entry[{index}].resource.{rest}" if dot else f"Bundle.entry[{index}].resource"


def _entry_error(index: int, exc: FhirError | StoreError) -> FhirError:
    """The failing entry's error, with its message and element paths placed in the Bundle."""
    failure = exc if isinstance(exc, FhirError) else store_error(exc)
    issues = [{**item, "diagnostics": f"entry {index}: {item.get('diagnostics', '')}",
               "expression": [_within_entry(index, path) for path in item.get("expression", [])]
               or [f"Bundle.entry[{index}]"]}
              for item in failure.issues]
    return FhirError(failure.status, issues)


def _version_number(text: Any, index: int) -> int | None:
    if text is None:
        return None
    number = version_number(str(text).removeprefix("W/").strip('"'))
    if number is None:
        raise error(400, "invalid", 'ifMatch must name a version like W/"2"', f"Bundle.entry[{index}].request.ifMatch")
    return number


def _read_entry(index: int, raw: Any, base: str, caller: Caller) -> Entry:
    if not isinstance(raw, dict) or not isinstance(raw.get("request"), dict):
        raise error(400, "required", "every entry needs a request (method and url)", f"Bundle.entry[{index}].request")
    request = raw["request"]
    method = str(request.get("method", "")).upper()
    if method not in _ORDER:
        raise error(400, "not-supported", f"{method or 'no method'} is not supported in a transaction here "
                    "(use POST, PUT or DELETE)", f"Bundle.entry[{index}].request.method")
    url = str(request.get("url", "")).removeprefix(base).strip("/")
    if "?" in url:
        raise error(400, "not-supported", "conditional URLs are not supported in a transaction",
                    f"Bundle.entry[{index}].request.url")
    resource_type, _, target = url.partition("/")
    support = require(resource_type, _INTERACTIONS[method])
    caller.require(resource_type)
    resource: JsonDict | None = None
    if method != "DELETE":
        sent = raw.get("resource")
        if not isinstance(sent, dict):
            raise error(400, "required", f"a {method} entry needs a resource", f"Bundle.entry[{index}].resource")
        expect_type(sent, resource_type, "the resource")
        accept(support, sent)
        resource = sent
    resource_id: str | None = None
    if method != "POST":
        if not target:
            raise error(400, "invalid", f"a {method} entry's url must be Type/id", f"Bundle.entry[{index}].request.url")
        resource_id = checked_id(target)
        if resource is not None:
            expect_id(resource, resource_id)
    return Entry(index, method, support, resource_id, resource, _version_number(request.get("ifMatch"), index),
                 request.get("ifNoneExist"))


def _rewrite(value: Any, ids: dict[str, str]) -> Any:
    """References to a ``urn:uuid:`` fullUrl in the Bundle, pointed at the id it was given."""
    if isinstance(value, dict):
        return {key: (ids.get(item, item) if key == "reference" and isinstance(item, str) else _rewrite(item, ids))
                for key, item in value.items()}
    if isinstance(value, list):
        return [_rewrite(item, ids) for item in value]
    return value


def _response(status: str, version: StoredVersion | None, request: Request) -> JsonDict:
    if version is None:
        return {"status": status}
    return {"status": status, "location": f"{bundles.full_url(request, version)}/_history/{version.version_id}",
            "etag": etag(version.version_id), "lastModified": version.last_updated}


def _carry_out(entry: Entry, writer: Writer, request: Request) -> JsonDict:
    resource_type = entry.support.type
    if entry.method == "DELETE":
        assert entry.resource_id is not None
        if writer.latest(resource_type, entry.resource_id) is None:
            raise NotFound(f"{resource_type}/{entry.resource_id} does not exist")
        writer.delete(resource_type, entry.resource_id, entry.if_match)
        return _response("204 No Content", None, request)
    assert entry.resource is not None
    if entry.method == "POST":
        if entry.existing is not None:
            return _response("200 OK", entry.existing, request)
        return _response("201 Created", writer.create(entry.resource, entry.resource_id), request)
    assert entry.resource_id is not None
    outcome = writer.update(entry.resource, entry.resource_id, entry.if_match)
    return _response("201 Created" if outcome.created else "200 OK", outcome.version, request)


def _unique_targets(entries: list[Entry]) -> None:
    seen: dict[str, int] = {}
    for entry in entries:
        if entry.resource_id is None:
            continue
        key = f"{entry.support.type}/{entry.resource_id}"
        if key in seen:
            raise error(400, "invalid", f"{key} is the target of entries {seen[key]} and {entry.index}; "
                        "a transaction may change a resource only once", f"Bundle.entry[{entry.index}]")
        seen[key] = entry.index


def _assign_ids(entries: list[Entry], raw_entries: list[JsonDict], writer: Writer, budget: SearchBudget) -> None:
    """Give POST entries their ids now (a conditional create that matches takes the match's), and
    point references to their ``urn:uuid:`` fullUrls at them."""
    ids = {}
    for entry in entries:
        if entry.method == "POST":
            if entry.if_none_exist:
                try:
                    entry.existing = existing_match(writer, entry.support, entry.if_none_exist, budget)
                except (FhirError, StoreError) as exc:
                    raise _entry_error(entry.index, exc) from None
            entry.resource_id = entry.existing.resource_id if entry.existing else new_id()
            full_url = raw_entries[entry.index].get("fullUrl")
            if isinstance(full_url, str) and full_url.startswith("urn:uuid:"):
                ids[full_url] = f"{entry.support.type}/{entry.resource_id}"
    for entry in entries:
        if entry.resource is not None:
            entry.resource = _rewrite(entry.resource, ids)


@router.post("/")
def transaction(request: Request, store: StoreDep, caller: WriteAccess, body: BodyDep) -> Response:
    """Carry out a transaction Bundle atomically; the first failing entry's error refuses it all."""
    require_system(SystemInteraction.TRANSACTION)
    bundle = read_resource(body, request.headers.get("content-type"))
    expect_type(bundle, "Bundle")
    if bundle.get("type") != "transaction":
        raise error(400, "not-supported", f"only transaction Bundles are processed here, not {bundle.get('type')!r}",
                    "Bundle.type")
    raw_entries = bundle.get("entry") or []
    if not isinstance(raw_entries, list):
        raise error(400, "structure", "Bundle.entry must be a list of entries", "Bundle.entry")
    entries: list[Entry] = []
    for index, raw in enumerate(raw_entries):
        try:
            entries.append(_read_entry(index, raw, bundles.base_url(request), caller))
        except (FhirError, StoreError) as exc:
            raise _entry_error(index, exc) from None
    _unique_targets(entries)
    with caller.write(store) as writer:
        _assign_ids(entries, raw_entries, writer, search_budget(request.app.state.security.limits))
        for entry in sorted(entries, key=lambda item: (_ORDER[item.method], item.index)):
            try:
                entry.response = _carry_out(entry, writer, request)
            except (FhirError, StoreError) as exc:
                raise _entry_error(entry.index, exc) from None
    return fhir_response(request, {
        "resourceType": "Bundle", "type": "transaction-response",
        "entry": [{"response": entry.response} for entry in entries],
    })
