"""Shared pieces of the REST handlers' answers: query parameters, resources, write results."""

from fastapi import Request
from fastapi.responses import Response

from ..problems import Problem
from ..store import StoredVersion
from . import bundles
from .formats import JSON, fhir_response, is_pretty, response_format
from .headers import Return, prefer_return, version_headers
from .outcomes import issue, outcome, problem_issue
from .subsetting import apply, requested_subset

#: Query parameters about presentation, read by the REST layer rather than the search.
PRESENTATION = ("_format", "_pretty", "_summary", "_elements")


def query_parameters(request: Request, extra: list[tuple[str, str]] | None = None) -> list[tuple[str, str]]:
    """The request's (name, value) pairs in order, repeats kept, with ``extra`` (a form body) after."""
    return list(request.query_params.multi_items()) + (extra or [])


def resource_response(request: Request, version: StoredVersion) -> Response:
    """A stored version, cut down by _summary/_elements, with its ETag and Last-Modified.

    When the client wants the whole resource as compact JSON, the answer is the stored text
    itself (the store keeps exactly ``to_json(resource, pretty=False)``), sent without parsing it.
    """
    assert version.content is not None
    subset = requested_subset(request)
    headers = version_headers(version)
    media_type = response_format(request)
    if media_type == JSON and not is_pretty(request) and subset.whole:
        return Response(version.content.encode("utf-8"), headers=headers, media_type=f"{JSON}; charset=utf-8")
    return fhir_response(request, apply(version.existing(), subset), headers=headers, media_type=media_type)


def written(request: Request, version: StoredVersion, status: int, warnings: list[Problem],
            message: str) -> Response:
    """A write's answer, shaped by the client's Prefer: return=... header."""
    headers = version_headers(version)
    headers["Location"] = f"{bundles.full_url(request, version)}/_history/{version.version_id}"
    preference = prefer_return(request)
    if preference is Return.MINIMAL:
        return fhir_response(request, None, status, headers)
    if preference is Return.OPERATION_OUTCOME:
        body = outcome([issue("information", "informational", message)] + [problem_issue(p) for p in warnings])
        return fhir_response(request, body, status, headers)
    return fhir_response(request, version.resource, status, headers)
