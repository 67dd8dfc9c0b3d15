"""JSON and XML at the HTTP edge: which format a client wants, and reading what it sent.

``_format`` wins over ``Accept``; with neither, the answer is ``application/fhir+json``. A client
that accepts nothing we can write gets 406; a body in a media type we cannot read gets 415.
Headers are read by werkzeug's parsers (RFC 9110), not by hand.
"""

from functools import lru_cache
from typing import Final

from fastapi import Request
from fastapi.responses import Response
from werkzeug.datastructures import MIMEAccept
from werkzeug.http import parse_accept_header, parse_list_header, parse_options_header

from ..fhirformat import FormatError, JsonDict, parse, parse_json, parse_xml, to_json, to_xml
from .outcomes import error

JSON: Final = "application/fhir+json"
XML: Final = "application/fhir+xml"

#: Every media type (and _format shorthand) we read or write, to the FHIR type it means.
MEDIA_TYPES: Final = {
    "json": JSON, "application/json": JSON, "application/fhir+json": JSON, "text/json": JSON,
    "xml": XML, "application/xml": XML, "application/fhir+xml": XML, "text/xml": XML,
}
#: What we answer in, in the order that wins a tie (equal q, equal specificity): FHIR's JSON first.
_OFFERS: Final = tuple(media for media in MEDIA_TYPES if "/" in media)
FORM: Final = "application/x-www-form-urlencoded"
#: Media ranges of an Accept header read. Clients name a handful (a browser six); past these the
#: rest are ignored, so a header of thousands (8 KB of ``a/b,``: 100 ms of werkzeug's parsing and
#: matching, every range against every offer) costs what one of 32 does.
MAX_RANGES: Final = 32


def _media_type(header: str) -> str:
    """The media type of a Content-Type (or ``_format``) value, without its parameters, lower case."""
    return parse_options_header(header)[0].lower()


def _accepted(header: str) -> MIMEAccept:
    """The client's media ranges and their q-values (RFC 9110 12.5.1), by werkzeug's parser.

    Parameters are dropped (``application/fhir+json; fhirVersion=4.0`` is FHIR JSON): werkzeug
    would match a range with parameters only to an offer with the same ones. Ranges with a q-value
    that is not one are skipped, as RFC 9110 has it; nothing a client sends makes this raise. Only
    the first ``MAX_RANGES`` count.
    """
    ranges = ", ".join(parse_list_header(header)[:MAX_RANGES])
    return MIMEAccept([(_media_type(media), quality) for media, quality in parse_accept_header(ranges, MIMEAccept)])


@lru_cache(maxsize=256)
def _best(header: str, offers: tuple[str, ...]) -> str | None:
    """The offer the client would rather have: highest q, then the most specific range (a type
    beats ``type/*``, which beats ``*/*``), then the first offer; None if it accepts none.

    Remembered by header (docs/performance.md, "Fast paths"): clients send the same few, and
    parsing one costs more than the lookup.
    """
    return _accepted(header).best_match(offers)


def prefers(request: Request, media_type: str) -> bool:
    """Whether the client would rather have ``media_type`` than FHIR JSON or XML (a tie goes to FHIR)."""
    return _best(request.headers.get("accept", ""), (JSON, XML, media_type)) == media_type


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
    offer = _best(header, _OFFERS)
    if offer is None:
        raise error(406, "not-supported", f"cannot answer in any of the accepted types ({header}); "
                    "this server writes application/fhir+json and application/fhir+xml")
    return MEDIA_TYPES[offer]


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
