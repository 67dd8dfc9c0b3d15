"""Search (GET and POST ``_search``) and history (type and instance), as paged Bundles.

Both answer from a snapshot of the store (see ``store.sql``), and their paging links carry it.
Search parameters are read by the store's registry; unknown ones are ignored and reported in an
outcome entry unless the client sends ``Prefer: handling=strict``.

Every search has a budget (the server's ``RequestLimits``): so many parameters, values and
characters per value (``store.query.SearchBudget``, checked before any SQL is built), and a POST
form of so many bytes, read no further than that and split into no more fields than a search
within the budget can have.
"""

from dataclasses import replace
from functools import cache
from typing import Annotated
from urllib.parse import parse_qsl

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from ..fhirformat import to_json
from ..security import settings
from ..security.settings import RequestLimits
from ..store import Limit, SearchBudget, Store, parse_search
from ..store.dates import date_range
from ..store.errors import InvalidSearch
from ..store.query import RESULT_PARAMETERS
from . import bundles
from .auth import reads
from .dependencies import StoreDep
from .formats import FORM, JSON, fhir_response, is_pretty, response_format
from .headers import strict_handling
from .outcomes import FhirError, error, issue
from .registry import Interaction, require
from .responses import PRESENTATION, query_parameters
from .subsetting import requested_subset
from .validation import checked_id

router = APIRouter(dependencies=[reads()])


@cache
def budget(limits: RequestLimits) -> SearchBudget:
    """The search budget of these settings, each limit named by the variable that sets it."""
    return SearchBudget(parameters=Limit(limits.search_parameters, settings.MAX_SEARCH_PARAMETERS),
                        values=Limit(limits.search_values, settings.MAX_SEARCH_VALUES),
                        value_length=Limit(limits.search_value_length, settings.MAX_SEARCH_VALUE_LENGTH))


def _limits(request: Request) -> RequestLimits:
    limits: RequestLimits = request.app.state.security.limits
    return limits


def _form_too_large(limits: RequestLimits) -> FhirError:
    return error(413, "too-costly", f"the form body is larger than this server accepts for a search "
                 f"({limits.form_bytes:,} bytes; the setting {settings.MAX_FORM_BYTES} raises the limit)")


async def form_body(request: Request) -> bytes:
    """A POST _search body, refused with 413 once it is known to be over ``form_bytes``: from its
    Content-Length before reading anything, or while streaming one sent without it."""
    limits = _limits(request)
    declared = request.headers.get("content-length", "")
    if declared.isascii() and declared.isdigit() and int(declared) > limits.form_bytes:
        raise _form_too_large(limits)
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limits.form_bytes:
            raise _form_too_large(limits)
        chunks.append(chunk)
    return b"".join(chunks)


FormDep = Annotated[bytes, Depends(form_body)]


def form_fields(body: bytes, limits: RequestLimits) -> list[tuple[str, str]]:
    """The form's (name, value) pairs: at most as many as a search within the budget can have (each
    result and presentation parameter once besides the search parameters)."""
    most = limits.search_parameters + len(RESULT_PARAMETERS) + len(PRESENTATION)
    try:
        return parse_qsl(body.decode("utf-8", errors="replace"), keep_blank_values=True, max_num_fields=most)
    except ValueError:
        raise error(400, "too-costly", f"the form has more fields than a search may have ({most:,}: at most "
                    f"{limits.search_parameters:,} search parameters, the setting {settings.MAX_SEARCH_PARAMETERS} "
                    "raises the limit, and each result and presentation parameter once)") from None


def _search(request: Request, store: Store, resource_type: str, params: list[tuple[str, str]]) -> Response:
    require(resource_type, Interaction.SEARCH_TYPE)
    subset = requested_subset(request)
    query = parse_search(resource_type, [(k, v) for k, v in params if k not in PRESENTATION],
                         strict=strict_handling(request), budget=budget(_limits(request)))
    if subset.count_only:
        query = replace(query, count=0)
    page = store.search(query)
    used = [(name, value) for name, value in params if name not in query.ignored]
    notes = [issue("warning", "not-supported", f"the search parameter '{name}' is not supported and was ignored "
                   "(send Prefer: handling=strict to have it refused)") for name in query.ignored]
    media_type = response_format(request)
    if media_type == JSON and not is_pretty(request) and subset.whole:
        # The resources' stored text goes into the Bundle as it is (see responses.resource_response).
        bundle = bundles.searchset(request, resource_type, used, page, subset, notes, stored=True)
        return Response(bundles.splice_stored(to_json(bundle, pretty=False), page),
                        media_type=f"{JSON}; charset=utf-8")
    return fhir_response(request, bundles.searchset(request, resource_type, used, page, subset, notes),
                         media_type=media_type)


@router.get("/{resource_type}")
def search(resource_type: str, request: Request, store: StoreDep) -> Response:
    return _search(request, store, resource_type, query_parameters(request))


@router.post("/{resource_type}/_search")
def search_by_post(resource_type: str, request: Request, store: StoreDep,
                   body: FormDep) -> Response:
    """POST _search: parameters in a form body (and the URL), answered exactly as GET."""
    content_type = request.headers.get("content-type", FORM)
    if body.strip() and not content_type.lower().startswith(FORM):
        raise error(415, "not-supported", f"POST _search takes {FORM}, not {content_type}")
    form = form_fields(body, _limits(request))
    return _search(request, store, resource_type, query_parameters(request, form))


@router.get("/{resource_type}/_history")
def type_history(resource_type: str, request: Request, store: StoreDep) -> Response:
    require(resource_type, Interaction.HISTORY_TYPE)
    return _history(request, store, resource_type, None)


@router.get("/{resource_type}/{resource_id}/_history")
def instance_history(resource_type: str, resource_id: str, request: Request,
                     store: StoreDep) -> Response:
    require(resource_type, Interaction.HISTORY_INSTANCE)
    return _history(request, store, resource_type, checked_id(resource_id))


#: What a history request may say besides presentation parameters.
HISTORY_PARAMETERS = ("_since", "_count", "_snapshot", "_offset")


def _history(request: Request, store: Store, resource_type: str, resource_id: str | None) -> Response:
    params = [(name, value) for name, value in query_parameters(request) if name not in PRESENTATION]
    for name, _value in params:
        if name not in HISTORY_PARAMETERS:
            raise InvalidSearch(f"'{name}' is not a history parameter (supported: {', '.join(HISTORY_PARAMETERS)})")
    paging = parse_search(resource_type, [(name, value) for name, value in params if name != "_since"],
                          budget=budget(_limits(request)))
    since = dict(params).get("_since")
    try:
        since_bound = date_range(since).low if since else None
    except ValueError as exc:
        raise InvalidSearch(f"_since: {exc}") from None
    page = store.history(resource_type, resource_id, since=since_bound, count=paging.count, offset=paging.offset,
                         snapshot=paging.snapshot)
    path = resource_type if resource_id is None else f"{resource_type}/{resource_id}"
    return fhir_response(request, bundles.history(request, f"{path}/_history", query_parameters(request), page))
