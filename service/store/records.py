"""What the store hands back: resource versions and pages of them."""

from dataclasses import dataclass

from ..fhirformat import JsonDict


@dataclass(frozen=True)
class StoredVersion:
    """One version of one resource as stored. ``resource`` is None for a deletion."""

    resource_type: str
    resource_id: str
    version_id: int
    last_updated: str
    #: POST, PUT or DELETE: the interaction that made this version.
    method: str
    resource: JsonDict | None

    @property
    def deleted(self) -> bool:
        return self.resource is None

    @property
    def reference(self) -> str:
        return f"{self.resource_type}/{self.resource_id}"


@dataclass(frozen=True)
class Page:
    """One page of a search or history, pinned to the store as it was at transaction ``snapshot``."""

    versions: tuple[StoredVersion, ...]
    snapshot: int
    offset: int
    count: int
    #: Number of matches in the whole snapshot, or None when the caller asked for no total.
    total: int | None
    has_next: bool


@dataclass(frozen=True)
class WriteOutcome:
    version: StoredVersion
    #: True when the write brought the resource into existence (201), else it was updated (200).
    created: bool
    #: False when the content was identical to the current version, so no version was made.
    changed: bool = True
