"""What the store hands back: resource versions and pages of them."""

from dataclasses import dataclass
from functools import cached_property

import simplejson

from ..fhirformat import JsonDict


@dataclass(frozen=True)
class StoredVersion:
    """One version of one resource as stored.

    ``content`` is the stored text: the version's canonical compact FHIR JSON (``content.to_text``,
    id and meta stamped), or None for a deletion. ``resource`` is the same as a dict, parsed from it
    the first time it is asked for (decimals as ``Decimal``, so ``2.50`` stays ``2.50``); a reader
    that only sends the stored JSON on never parses it.
    """

    resource_type: str
    resource_id: str
    version_id: int
    last_updated: str
    #: POST, PUT or DELETE: the interaction that made this version.
    method: str
    content: str | None

    @classmethod
    def written(cls, resource_type: str, resource_id: str, version_id: int, last_updated: str, method: str,
                content: str | None, resource: JsonDict | None) -> "StoredVersion":
        """A version just written, whose dict (``resource``, the parse of ``content``) is already at hand."""
        version = cls(resource_type, resource_id, version_id, last_updated, method, content)
        version.__dict__["resource"] = resource  # the cached_property's slot: no parse needed
        return version

    @cached_property
    def resource(self) -> JsonDict | None:
        """The version as a FHIR JSON dict; None for a deletion."""
        if self.content is None:
            return None
        # The store wrote this text itself (content.to_text) after the input was checked, so it is
        # read back without the checks meant for untrusted input (fhirformat.parse_json).
        return simplejson.loads(self.content, use_decimal=True)

    def existing(self) -> JsonDict:
        """``resource``, for a caller that has already ruled out a deletion (a read answers 410 for one)."""
        if self.resource is None:
            raise ValueError(f"{self.resource_type}/{self.resource_id} version {self.version_id} is a deletion")
        return self.resource

    @property
    def deleted(self) -> bool:
        return self.content is None

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
