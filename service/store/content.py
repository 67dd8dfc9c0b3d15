"""Resource content as stored: id and meta stamped by the store, compared without them.

The server owns ``id``, ``meta.versionId`` and ``meta.lastUpdated``; every other element is kept
exactly as the client sent it (decimals as written, element order as given).
"""

import simplejson

from ..fhirformat import JsonDict, to_json

SERVER_META = ("versionId", "lastUpdated")


def stamp(resource: JsonDict, resource_id: str, version_id: int, last_updated: str) -> JsonDict:
    """The resource with the server's id and meta, resourceType, id and meta first."""
    meta = {key: value for key, value in (resource.get("meta") or {}).items() if key not in SERVER_META}
    stamped: JsonDict = {"resourceType": resource["resourceType"], "id": resource_id,
                         "meta": {"versionId": str(version_id), "lastUpdated": last_updated, **meta}}
    stamped.update((key, value) for key, value in resource.items() if key not in ("resourceType", "id", "meta"))
    return stamped


def unstamp(resource: JsonDict) -> JsonDict:
    """The resource without the server's meta, as a client would write it back."""
    result = dict(resource)
    meta = {key: value for key, value in (resource.get("meta") or {}).items() if key not in SERVER_META}
    if meta:
        result["meta"] = meta
    else:
        result.pop("meta", None)
    return result


def fingerprint(resource: JsonDict) -> str:
    """Equal exactly when two resources hold the same content, whatever their key order or meta."""
    return simplejson.dumps(unstamp(resource), use_decimal=True, sort_keys=True, ensure_ascii=False,
                            separators=(",", ":"))


def to_text(resource: JsonDict) -> str:
    """The stored form: compact FHIR JSON. Read back by ``records.StoredVersion.resource``, and sent
    unchanged by the API when that is what a client asked for."""
    return to_json(resource, pretty=False).decode("utf-8")
