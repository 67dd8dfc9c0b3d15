"""Read, vread, create, update and delete: the instance interactions on the store.

Each handler first asks the registry whether its interaction is supported for the type, so a
route can never serve something the CapabilityStatement does not list. Writes are authenticated
before the body is read (``auth.WriteAccess``) and go through ``Caller.write``, which checks
ownership against what is stored and records the audit trail in the same transaction. Handlers
are plain functions (FastAPI runs them in its thread pool); the store does the locking.
"""

from fastapi import APIRouter, Request
from fastapi.responses import Response

from ..store.errors import NotFound
from .auth import WriteAccess, reads
from .conditional import existing_match
from .dependencies import BodyDep, StoreDep
from .formats import read_resource
from .headers import if_match
from .registry import Interaction, require
from .responses import resource_response, written
from .search import budget as search_budget
from .validation import accept, checked_id, expect_id, expect_type, version_number

router = APIRouter()


@router.post("/{resource_type}")
def create(resource_type: str, request: Request, store: StoreDep, caller: WriteAccess, body: BodyDep) -> Response:
    support = require(resource_type, Interaction.CREATE)
    resource = read_resource(body, request.headers.get("content-type"))
    expect_type(resource, resource_type)
    warnings = accept(support, resource)
    condition = request.headers.get("if-none-exist")
    with caller.write(store) as writer:
        existing = (existing_match(writer, support, condition, search_budget(request.app.state.security.limits))
                    if condition is not None else None)
        if existing is not None:
            return written(request, existing, 200, [], f"{existing.reference} already matches {condition}; "
                           "nothing was created")
        version = writer.create(resource)
    return written(request, version, 201, warnings, f"Created {version.reference}")


@router.get("/{resource_type}/{resource_id}", dependencies=[reads()])
def read(resource_type: str, resource_id: str, request: Request, store: StoreDep) -> Response:
    require(resource_type, Interaction.READ)
    return resource_response(request, store.read(resource_type, checked_id(resource_id)))


@router.get("/{resource_type}/{resource_id}/_history/{version_id}", dependencies=[reads()])
def vread(resource_type: str, resource_id: str, version_id: str, request: Request,
          store: StoreDep) -> Response:
    require(resource_type, Interaction.VREAD)
    number = version_number(version_id)
    if number is None:
        raise NotFound(f"{resource_type}/{resource_id} has no version '{version_id}'")
    return resource_response(request, store.vread(resource_type, checked_id(resource_id), number))


@router.put("/{resource_type}/{resource_id}")
def update(resource_type: str, resource_id: str, request: Request, store: StoreDep, caller: WriteAccess,
           body: BodyDep) -> Response:
    """Update, or create with the client's id; If-Match makes it conditional on the version read."""
    support = require(resource_type, Interaction.UPDATE)
    checked_id(resource_id)
    resource = read_resource(body, request.headers.get("content-type"))
    expect_type(resource, resource_type)
    expect_id(resource, resource_id)
    warnings = accept(support, resource)
    expected = if_match(request)
    with caller.write(store) as writer:
        result = writer.update(resource, resource_id, expected)
    message = (f"Created {result.version.reference}" if result.created else
               f"Updated {result.version.reference}" if result.changed else
               f"{result.version.reference} already had this content; no new version was made")
    return written(request, result.version, 201 if result.created else 200, warnings, message)


@router.delete("/{resource_type}/{resource_id}")
def delete(resource_type: str, resource_id: str, request: Request, store: StoreDep, caller: WriteAccess) -> Response:
    require(resource_type, Interaction.DELETE)
    checked_id(resource_id)
    expected = if_match(request)
    with caller.write(store) as writer:
        if writer.latest(resource_type, resource_id) is None:
            raise NotFound(f"{resource_type}/{resource_id} does not exist")
        writer.delete(resource_type, resource_id, expected)
    return Response(status_code=204)
