"""The guideline lifecycle, after the HL7 CRMI artifact lifecycle: draft, active, retired.

An active or retired version is never edited back: a change is a new version, made as a draft
(``draft``), approved (``approve``: who and when, without changing status) and released
(``release``: the draft becomes the topic's agreed guideline and the previous one is retired in
the same transaction, so a topic never has two agreed guidelines, nor none in between). A
withdrawn guideline is retired (``retire``). Each is one audited change, made through a
``Writer`` the caller opens (the API as the token's holder, the command line as the local
administrator), so the command line and the API share one implementation and one set of rules.

Every other write of a guideline (a PUT, a transaction entry, a delete) is held to the same rules
by ``check_edit``: it may change a draft, and nothing else.
"""

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from typing import Final

from packaging.version import InvalidVersion, Version

from .. import conventions as c
from ..fhirformat import JsonDict
from ..pathway import PathwayKind
from ..store import NotFound, StoredVersion, Writer, new_id, parse_search
from ..store.content import fingerprint, unstamp
from ..store.query import MAX_COUNT
from .sources import Record, StoreSource, as_record

#: An approval's comment, as CRMI's $approve records one in R4 (an ArtifactAssessment carried as this core
#: extension on the artifact): type ``documentation``, the text, the approver (``user``), the day (``authoredOn``).
APPROVAL_EXTENSION: Final = "http://hl7.org/fhir/StructureDefinition/cqf-artifactComment"
_ID_UNSAFE: Final = re.compile(r"[^A-Za-z0-9\-.]+")


class LifecycleError(Exception):
    """A transition the lifecycle does not allow: 409 (the state forbids it) or 422 (the request asks wrongly)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status, self.message = status, message


def is_guideline(resource: JsonDict | None) -> bool:
    return PathwayKind.of_resource(resource) is PathwayKind.NETWORK_GUIDELINE


def check_edit(current: JsonDict | None, proposed: JsonDict | None) -> None:
    """The lifecycle's rule for an ordinary write (create, update, delete) of a network guideline.

    >>> check_edit(None, {"resourceType": "PlanDefinition", "status": "active",
    ...                   "meta": {"profile": [c.NETWORK_GUIDELINE_PROFILE]}})
    Traceback (most recent call last):
    ...
    service.application.guidelines.LifecycleError: a new network guideline is created as a draft; ...
    """
    if not (is_guideline(current) or is_guideline(proposed)):
        return
    if current is None:
        if proposed is not None and proposed.get("status") != "draft":
            raise LifecycleError(422, "a new network guideline is created as a draft; it becomes the agreed "
                                      "guideline by $release (harmonise guideline release)")
        return
    status = current.get("status")
    if status in ("active", "retired"):
        if proposed is None:
            raise LifecycleError(409, f"a {status} guideline is never deleted: retire it ($retire) and its history "
                                      "stays")
        if fingerprint(unstamp(current)) != fingerprint(unstamp(proposed)):
            raise LifecycleError(409, f"a {status} guideline is never edited: make a new draft version with $draft "
                                      "(harmonise guideline draft), change that, approve and release it")
    elif proposed is not None and proposed.get("status") != "draft":
        raise LifecycleError(422, "a draft becomes the agreed guideline only by $release, which retires the topic's "
                                  "previous guideline in the same change; it is not set by writing its status")


def _guideline(writer: Writer, guideline_id: str) -> StoredVersion:
    latest = writer.latest("PlanDefinition", guideline_id)
    if latest is None or latest.deleted:
        raise LifecycleError(404, f"PlanDefinition/{guideline_id} does not exist")
    if not is_guideline(latest.resource):
        raise LifecycleError(422, f"PlanDefinition/{guideline_id} is a trust pathway, not a network guideline: only "
                                  "guidelines have a network lifecycle")
    return latest


def topic_of(resource: JsonDict) -> str | None:
    """The pathway topic a PlanDefinition is about (its ``useContext`` coding), if it names one."""
    for context in resource.get("useContext") or []:
        for coding in (context.get("valueCodeableConcept") or {}).get("coding") or []:
            if coding.get("system") == c.PATHWAY_TOPIC_SYSTEM:
                return str(coding.get("code"))
    return None


def _others(writer: Writer, resource: JsonDict, status: str) -> list[StoredVersion]:
    """The topic's other network guidelines with this status."""
    topic = topic_of(resource)
    if topic is None:
        return []
    query = parse_search("PlanDefinition", [("context", f"{c.PATHWAY_TOPIC_SYSTEM}|{topic}"), ("status", status),
                                            ("_count", str(MAX_COUNT))])
    return [v for v in writer.search(query).versions if v.resource is not None and is_guideline(v.resource)]


def _write(writer: Writer, resource: JsonDict, resource_id: str) -> StoredVersion:
    return writer.update(resource, resource_id).version


def draft(writer: Writer, guideline_id: str, version: str, today: date) -> StoredVersion:
    """A new draft version of an active (or retired) guideline, as a resource of its own (CRMI $draft)."""
    source = _guideline(writer, guideline_id)
    content = unstamp(source.existing())
    if content.get("status") == "draft":
        raise LifecycleError(409, f"PlanDefinition/{guideline_id} is a draft already: change it, approve and "
                                  "release it")
    if not version.strip():
        raise LifecycleError(422, "$draft needs the new draft's version (parameter 'version')")
    url = content.get("url")
    taken = [v for v in _others(writer, content, "draft") + _others(writer, content, "active")
             + _others(writer, content, "retired") if v.existing().get("url") == url
             and v.existing().get("version") == version]
    if taken:
        raise LifecycleError(409, f"{url}|{version} exists already ({taken[0].reference}); choose another version")
    new: JsonDict = {key: value for key, value in content.items()
                     if key not in ("approvalDate", "lastReviewDate", "effectivePeriod", "endorser", "extension")}
    new["extension"] = [e for e in content.get("extension") or [] if e.get("url") != APPROVAL_EXTENSION]
    new.update(status="draft", version=version, date=today.isoformat())
    predecessor = {"type": "predecessor", "resource": f"{url}|{content.get('version')}"}
    new["relatedArtifact"] = [a for a in content.get("relatedArtifact") or [] if a.get("type") != "predecessor"]
    new["relatedArtifact"].append(predecessor)
    new_id_ = _ID_UNSAFE.sub("-", f"{guideline_id}-{version}")[:64].strip("-.") or new_id()
    if writer.latest("PlanDefinition", new_id_) is not None:
        new_id_ = new_id()
    new["id"] = new_id_
    return writer.create(new, new_id_)


def approve(writer: Writer, guideline_id: str, approval_date: date, approver: str, comment: str | None
            ) -> StoredVersion:
    """Record an approval (CRMI $approve): ``approvalDate``, the approver as an endorser, their comment as an
    artifact comment (``APPROVAL_EXTENSION``). The status does not change; a retired guideline is approved no more."""
    current = _guideline(writer, guideline_id)
    content = unstamp(current.existing())
    if content.get("status") == "retired":
        raise LifecycleError(409, f"PlanDefinition/{guideline_id} is retired: approve its successor instead")
    content["approvalDate"] = approval_date.isoformat()
    endorsers = [e for e in content.get("endorser") or [] if e.get("name") != approver]
    content["endorser"] = [*endorsers, {"name": approver}]
    if comment:
        record: list[JsonDict] = [{"url": "type", "valueCode": "documentation"},
                                  {"url": "text", "valueMarkdown": comment}, {"url": "user", "valueString": approver},
                                  {"url": "authoredOn", "valueDateTime": approval_date.isoformat()}]
        content["extension"] = [*(content.get("extension") or []), {"url": APPROVAL_EXTENSION, "extension": record}]
    return _write(writer, content, guideline_id)


@dataclass(frozen=True)
class Release:
    released: StoredVersion
    #: The topic's previous agreed guideline(s), retired in the same change.
    retired: tuple[StoredVersion, ...]


def release(writer: Writer, guideline_id: str, today: date, review_by: date | None = None) -> Release:
    """Make an approved draft the topic's agreed guideline and retire the one before it, in one transaction
    (CRMI $release). It is in use from ``today``; ``review_by`` (``effectivePeriod.end``) is when it must be
    reviewed, kept from the draft when not given."""
    current = _guideline(writer, guideline_id)
    content = unstamp(current.existing())
    if content.get("status") != "draft":
        raise LifecycleError(409, f"PlanDefinition/{guideline_id} is {content.get('status')}, not a draft: only a "
                                  "draft is released")
    if not content.get("approvalDate"):
        raise LifecycleError(409, f"PlanDefinition/{guideline_id} has not been approved: approve it ($approve, "
                                  "harmonise guideline approve) before it is released")
    retired = []
    for previous in _others(writer, content, "active"):
        old = unstamp(previous.existing())
        old["status"] = "retired"
        period = dict(old.get("effectivePeriod") or {})
        period["end"] = min(period.get("end") or today.isoformat(), today.isoformat())
        old["effectivePeriod"] = period
        retired.append(_write(writer, old, previous.resource_id))
    period = dict(content.get("effectivePeriod") or {})
    period["start"] = today.isoformat()
    if review_by is not None:
        period["end"] = review_by.isoformat()
    content.update(status="active", date=today.isoformat(), effectivePeriod=period)
    return Release(_write(writer, content, guideline_id), tuple(retired))


def retire(writer: Writer, guideline_id: str, today: date) -> StoredVersion:
    """Withdraw a guideline (CRMI $retire): the topic then has no agreed guideline until another is released."""
    current = _guideline(writer, guideline_id)
    content = unstamp(current.existing())
    if content.get("status") == "retired":
        raise LifecycleError(409, f"PlanDefinition/{guideline_id} is retired already")
    content["status"] = "retired"
    period = dict(content.get("effectivePeriod") or {})
    if not period.get("end") or period["end"] > today.isoformat():
        period["end"] = today.isoformat()
    content["effectivePeriod"] = period
    return _write(writer, content, guideline_id)


def store_proposal(writer: Writer, proposal: JsonDict, today: date) -> StoredVersion:
    """Keep a consensus proposal as a draft guideline of its topic: the topic's guideline's url and a new
    version where there is one, so that its page shows what changed."""
    draft_ = dict(proposal)
    existing = _others(writer, draft_, "active") + _others(writer, draft_, "retired")
    if existing:
        newest = max((v.existing() for v in existing), key=lambda r: str(r.get("date") or ""))
        draft_["url"] = newest.get("url")
        draft_["version"] = next_version(newest.get("version"))
    return _write(writer, draft_, str(draft_["id"]))


def next_version(version: str | None) -> str:
    """The version a new draft proposes after ``version``: the next minor one, where it reads as a version.

    >>> next_version("1.0.0"), next_version("2.3"), next_version("draft-b")
    ('1.1.0', '2.4.0', 'draft-b.1')
    """
    try:
        release = Version(version or "0").release
    except InvalidVersion:
        return f"{version}.1"
    major, minor = release[0], release[1] if len(release) > 1 else 0
    return f"{major}.{minor + 1}.0"


@dataclass(frozen=True)
class GuidelineRow:
    topic: str | None
    reference: str
    status: str
    version: str | None
    approved: str | None
    next_review: str | None
    title: str | None


def rows(resources: Iterable[tuple[str, JsonDict]]) -> list[GuidelineRow]:
    """One row per guideline (reference, content), by topic, agreed first, then drafts, then retired."""
    order = {"active": 0, "draft": 1, "retired": 2}
    found = [GuidelineRow(topic_of(r), ref, str(r.get("status")), r.get("version"), r.get("approvalDate"),
                          (r.get("effectivePeriod") or {}).get("end"), r.get("title"))
             for ref, r in resources if is_guideline(r)]
    return sorted(found, key=lambda row: (row.topic or "", order.get(row.status, 3), row.version or ""))


@dataclass(frozen=True)
class Approval:
    """An approval's comment as the guideline records it (``APPROVAL_EXTENSION``), read back for display."""

    date: str | None
    approver: str | None
    comment: str | None


def approvals(resource: JsonDict) -> list[Approval]:
    """Every approval comment the guideline version carries, in the order they were recorded."""
    found = []
    for extension in resource.get("extension") or []:
        if extension.get("url") != APPROVAL_EXTENSION:
            continue
        parts = {part.get("url"): part for part in extension.get("extension") or []}
        found.append(Approval((parts.get("authoredOn") or {}).get("valueDateTime"),
                              (parts.get("user") or {}).get("valueString"),
                              (parts.get("text") or {}).get("valueMarkdown")))
    return found


@dataclass(frozen=True)
class SideBySide:
    """A guideline version and the one it is read against: a draft beside its topic's agreed guideline, an agreed
    or retired one beside the version it was drafted from."""

    guideline: Record
    against: Record | None
    #: Why ``against`` was chosen, in words.
    against_is: str


def side_by_side(source: StoreSource, guideline_id: str) -> SideBySide:
    """The guideline ``guideline_id`` (LifecycleError 404/422 if it is none) and what it is read against."""
    try:
        stored = source.store.read("PlanDefinition", guideline_id)
    except NotFound:
        stored = None
    if stored is None or stored.resource is None:
        raise LifecycleError(404, f"PlanDefinition/{guideline_id} does not exist")
    if not is_guideline(stored.resource):
        raise LifecycleError(422, f"PlanDefinition/{guideline_id} is a trust pathway, not a network guideline")
    reference = f"PlanDefinition/{stored.resource_id}/_history/{stored.version_id}"
    this = as_record(stored.resource, reference)
    if this is None:
        raise LifecycleError(422, f"{reference} cannot be read as a pathway")
    topic = this.pathway.topic
    if this.pathway.status == "draft" and topic:
        records, _problems = source.plan_definitions([topic])
        active = [r for r in records if is_guideline(r.data) and r.data.get("status") == "active"]
        if active:
            return SideBySide(this, active[0], "the topic's agreed guideline")
    predecessor = next((a.get("resource") for a in stored.resource.get("relatedArtifact") or []
                        if a.get("type") == "predecessor" and a.get("resource")), None)
    found = source.chosen([str(predecessor)]) if predecessor else []
    return SideBySide(this, found[0] if found else None, "the version it was drafted from")

