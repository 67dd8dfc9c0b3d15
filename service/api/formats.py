"""JSON and XML at the HTTP edge: which format a client wants, and reading what it sent.

``_format`` wins over ``Accept``; with neither, the answer is ``application/fhir+json``. A client
that accepts nothing we can write gets 406; a body in a media type we cannot read gets 415.
"""

from functools import lru_cache
from typing import Final

from fastapi import Request
from fastapi.responses import Response

from ..fhirformat import FormatError, JsonDict, parse, parse_json, parse_xml, to_json, to_xml
from .outcomes import error

JSON: Final = "application/fhir+json"
XML: Final = "application/fhir+xml"

#: Every media type (and _format shorthand) we read or write, to the FHIR type it means.
MEDIA_TYPES: Final = {
    "json": JSON, "application/json": JSON, "application/fhir+json": JSON, "text/json": JSON,
    "xml": XML, "application/xml": XML, "application/fhir+xml": XML, "text/xml": XML,
}
_WILDCARDS: Final = ("*/*", "application/*")
FORM: Final = "application/x-www-form-urlencoded"


def _media_type(header: str) -> str:
    return header.split(";", 1)[0].strip().lower()


def _accepted(header: str) -> list[str]:
    """Media ranges in the client's order of preference (q-values, then as written)."""
    ranges = []
    for position, part in enumerate(header.split(",")):
        media, *params = [piece.strip() for piece in part.split(";")]
        quality = 1.0
        for param in params:
            if param.startswith("q="):
                try:
                    quality = float(param[2:])
                except ValueError:
                    quality = 0.0
        if media and quality > 0:
            ranges.append((-quality, position, media.lower()))
    return [media for _q, _p, media in sorted(ranges)]


def prefers(request: Request, media_type: str) -> bool:
    """Whether the client's most preferred media range (by q-value, then as written) is this one."""
    ranges = _accepted(request.headers.get("accept", ""))
    return bool(ranges) and ranges[0] == media_type


def response_format(request: Request) -> str:
    """The FHIR media type to answer in, or a 406 FhirError."""
    requested = request.query_params.get("_format")
    if requested is not None:
        found = MEDIA_TYPES.get(_media_type(requested))
        if found is None:
            raise error(406, "not-supported", f"_format={requested} is not supported (use json or xml)")
        return found
    header = request.headers.get("accept", "").strip()
    if not header:
        return JSON
    found = _negotiated(header)
    if found is None:
        raise error(406, "not-supported", f"cannot answer in any of the accepted types ({header}); "
                    "this server writes application/fhir+json and application/fhir+xml")
    return found


@lru_cache(maxsize=256)
def _negotiated(header: str) -> str | None:
    """What to answer a request with this Accept header in; None if nothing it accepts.

    Remembered by header: clients send the same few, and parsing one costs more than the lookup.
    """
    for media in _accepted(header):
        if media in MEDIA_TYPES:
            return MEDIA_TYPES[media]
        if media in _WILDCARDS:
            return JSON
    return None


def is_pretty(request: Request) -> bool:
    return request.query_params.get("_pretty", "false").lower() == "true"


def render(resource: JsonDict, media_type: str, pretty: bool) -> bytes:
    return to_xml(resource, pretty=pretty) if media_type == XML else to_json(resource, pretty=pretty)


def fhir_response(request: Request, resource: JsonDict | None, status: int = 200,
                  headers: dict[str, str] | None = None, media_type: str | None = None) -> Response:
    """A response in the negotiated format; an empty body when ``resource`` is None."""
    if resource is None:
        return Response(status_code=status, headers=headers)
    media_type = media_type or response_format(request)
    body = render(resource, media_type, is_pretty(request))
    return Response(body, status_code=status, headers=headers, media_type=f"{media_type}; charset=utf-8")


def read_resource(body: bytes, content_type: str | None) -> JsonDict:
    """The request body as a FHIR JSON dict: 415 for a media type we do not read, 400 if unreadable."""
    if not body.strip():
        raise error(400, "required", "the request has no body; send a FHIR resource")
    media = _media_type(content_type) if content_type else None
    if media is not None and media not in MEDIA_TYPES:
        raise error(415, "not-supported", f"cannot read a body of type {media}; "
                    "send application/fhir+json or application/fhir+xml")
    kind = MEDIA_TYPES.get(media) if media else None
    try:
        if kind == JSON:
            return parse_json(body)
        if kind == XML:
            return parse_xml(body)
        return parse(body)
    except FormatError as exc:
        raise error(400, "structure", f"the body is not readable FHIR: {exc.message}", exc.path) from None
