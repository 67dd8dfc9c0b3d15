"""Searchset and history Bundles, with paging links pinned to the page's snapshot.

Every link carries ``_snapshot`` (the store's transaction number when the first page was read)
and ``_offset``: following ``next`` reads the same frozen result set, so a client that pages to
the end sees each match exactly once even while others write.
"""

import re
from collections.abc import Sequence
from typing import Final
from urllib.parse import urlencode

from fastapi import Request

from ..fhirformat import JsonDict
from ..store import Page, StoredVersion
from .headers import etag
from .subsetting import Subset, apply

#: Parameters a link sets itself, so they are not copied from the request.
_PAGING = ("_count", "_snapshot", "_offset")
#: The port a scheme implies, left out of a base URL.
_DEFAULT_PORTS: Final = {"http": 80, "https": 443}


def base_url(request: Request) -> str:
    """The FHIR base for links and Location headers, e.g. ``https://pathways.example.nhs.uk/fhir``.

    It is the configured public base (``SecuritySettings.public_base_url``; ``harmonise serve``
    sets it to the address it listens on when none is configured), else the address of the socket
    the server accepted the connection on: never the Host header, which the client chooses, so no
    request can plant another site's address in a Bundle, a Location or the CapabilityStatement.
    """
    configured: str | None = request.app.state.security.public_base_url
    if configured:
        return configured
    scope = request.scope
    scheme = scope.get("scheme", "http")
    host, port = scope.get("server") or ("localhost", None)
    if port is None:  # a Unix socket (its path is no host name), or no address at all
        netloc = "localhost"
    else:
        netloc = f"[{host}]" if ":" in host else host  # an IPv6 address in brackets
        netloc += "" if port == _DEFAULT_PORTS.get(scheme) else f":{port}"
    return f"{scheme}://{netloc}{scope.get('root_path', '')}".rstrip("/")


def full_url(request: Request, version: StoredVersion) -> str:
    return f"{base_url(request)}/{version.reference}"


def _link(relation: str, url: str) -> JsonDict:
    return {"relation": relation, "url": url}


def page_links(path_url: str, params: Sequence[tuple[str, str]], page: Page) -> list[JsonDict]:
    """self, first, previous, next and last for one page of a snapshot."""
    kept = [(name, value) for name, value in params if name not in _PAGING]

    def at(offset: int) -> str:
        query = kept + [("_count", str(page.count)), ("_snapshot", str(page.snapshot)), ("_offset", str(offset))]
        return f"{path_url}?{urlencode(query)}"

    links = [_link("self", at(page.offset)), _link("first", at(0))]
    if page.count and page.offset > 0:
        links.append(_link("previous", at(max(0, page.offset - page.count))))
    if page.has_next:
        links.append(_link("next", at(page.offset + page.count)))
    if page.count and page.total is not None:
        links.append(_link("last", at(max(0, (page.total - 1) // page.count * page.count))))
    return links


def stored_placeholder(number: int) -> str:
    """Stands in a Bundle for the stored text of its ``number``-th resource (see ``splice_stored``):
    NUL cannot occur in stored content, so the placeholder cannot clash with it."""
    return f"\x00{number}\x00"


#: A placeholder as compact JSON writes it.
_PLACED: Final = re.compile(rb'"\\u0000([0-9]+)\\u0000"')


def splice_stored(body: bytes, page: Page) -> bytes:
    """Compact JSON of a Bundle built with ``stored=True``, each placeholder replaced by the stored
    text of its version: the bytes rendering the parsed resources would give, without parsing them."""
    contents = [version.content for version in page.versions]
    return _PLACED.sub(lambda match: contents[int(match.group(1))].encode("utf-8"), body)  # type: ignore[union-attr]


def searchset(request: Request, resource_type: str, params: Sequence[tuple[str, str]], page: Page,
              subset: Subset, notes: Sequence[JsonDict] = (), stored: bool = False) -> JsonDict:
    """A searchset Bundle; ``notes`` (issues about the search itself) go in an outcome entry.

    With ``stored``, each resource is a placeholder for its stored text, for ``splice_stored``.
    """
    bundle: JsonDict = {"resourceType": "Bundle", "type": "searchset"}
    if page.total is not None:
        bundle["total"] = page.total
    bundle["link"] = page_links(f"{base_url(request)}/{resource_type}", params, page)
    bundle["entry"] = [
        {"fullUrl": full_url(request, version),
         "resource": stored_placeholder(number) if stored else apply(version.existing(), subset),
         "search": {"mode": "match"}}
        for number, version in enumerate(page.versions) if version.content is not None
    ]
    if notes:
        bundle["entry"].append({"resource": {"resourceType": "OperationOutcome", "issue": list(notes)},
                                "search": {"mode": "outcome"}})
    if not bundle["entry"]:
        del bundle["entry"]
    return bundle


def _history_entry(request: Request, version: StoredVersion) -> JsonDict:
    entry: JsonDict = {"fullUrl": full_url(request, version)}
    if version.resource is not None:
        entry["resource"] = version.resource
    entry["request"] = {"method": version.method,
                        "url": version.resource_type if version.method == "POST" else version.reference}
    status = {"POST": "201 Created", "PUT": "200 OK", "DELETE": "204 No Content"}[version.method]
    if version.method == "PUT" and version.version_id == 1:
        status = "201 Created"
    entry["response"] = {"status": status, "etag": etag(version.version_id), "lastModified": version.last_updated}
    return entry


def history(request: Request, path: str, params: Sequence[tuple[str, str]], page: Page) -> JsonDict:
    """A history Bundle, newest version first."""
    bundle: JsonDict = {"resourceType": "Bundle", "type": "history", "total": page.total,
                        "link": page_links(f"{base_url(request)}/{path}", params, page)}
    entries = [_history_entry(request, version) for version in page.versions]
    if entries:
        bundle["entry"] = entries
    return bundle

