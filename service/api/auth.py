"""Bearer tokens at the HTTP edge: who is calling, and whether they may read or write what they ask.

Routes declare what they do: a route that changes the store takes ``WriteAccess`` (401 without a
valid token, 403 without a write scope for the URL's type) and writes through
``Caller.write(store)``, which hands the store the caller as the audit agent and the ownership
check of ``security.policy`` as the permit; a route that reads takes ``reads(...)`` (open unless
the settings or the type say otherwise). The CapabilityStatement's ``security`` is generated here
from the same settings, scopes and rules.
"""

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Annotated, Any, Final

from fastapi import Depends, Request

from ..application import guidelines
from ..fhirformat import JsonDict
from ..security import policy
from ..security.scopes import ALL_TYPES, GRAMMAR, Access, Scopes
from ..security.settings import ALLOW_ANONYMOUS_WRITES, SecuritySettings
from ..security.tokens import InvalidToken, Principal, verify
from ..store import Store, Writer
from ..store.audit import LOCAL_AGENTS, Agent
from .outcomes import FhirError, issue
from .registry import RESOURCES

REALM: Final = "harmonise"
SECURITY_SERVICE: Final = "http://terminology.hl7.org/CodeSystem/restful-security-service"
#: Who writes when anonymous writes are switched on for local development: anyone, for anything.
ANONYMOUS: Final = Principal("anonymous", LOCAL_AGENTS, Scopes.parse("system/*.* network-lead"))
#: The types whose reads need a token whatever the settings (the registry says which).
_READS_NEED_TOKEN: Final = frozenset(name for name, support in RESOURCES.items() if support.reads_need_token)


def settings_of(request: Request) -> SecuritySettings:
    return request.app.state.security


def _quoted(value: str) -> str:
    """A challenge parameter value: printable ASCII without quotes or backslashes (RFC 6750 3), whatever
    the request put into the message."""
    return "".join(ch if " " <= ch <= "~" and ch not in '"\\' else "?" for ch in value)


def _challenge(error: str | None = None, description: str | None = None, scope: str | None = None) -> str:
    """An RFC 6750 ``WWW-Authenticate`` value."""
    parts = [f'realm="{REALM}"']
    for name, value in (("error", error), ("error_description", description), ("scope", scope)):
        if value:
            parts.append(f'{name}="{_quoted(value)}"')
    return "Bearer " + ", ".join(parts)


def unauthorized(message: str, error: str | None = None, expired: bool = False) -> FhirError:
    """401: no usable token; the challenge tells the client to send one."""
    headers = {"WWW-Authenticate": _challenge(error, message if error else None)}
    return FhirError(401, [issue("error", "expired" if expired else "login", message)], headers)


def forbidden(denied: policy.Denied) -> FhirError:
    """403: a valid token that does not allow this; a missing scope is named in the challenge."""
    headers = ({"WWW-Authenticate": _challenge("insufficient_scope", denied.message, denied.scope)}
               if denied.scope else {})
    return FhirError(403, [issue("error", "forbidden", denied.message)], headers)


def _principal(request: Request) -> Principal | None:
    """The caller of a request with a bearer token, None without one; 401 for a token that does not verify."""
    header = request.headers.get("authorization")
    if header is None:
        return None
    scheme, _, token = header.strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise unauthorized("the Authorization header must be 'Bearer <token>'", "invalid_request")
    try:
        return verify(settings_of(request), token.strip())
    except InvalidToken as exc:
        raise unauthorized(exc.message, "invalid_token", exc.expired) from None


@dataclass(frozen=True)
class Caller:
    """Who is writing, and from where."""

    principal: Principal
    address: str | None

    @property
    def agent(self) -> Agent:
        principal = self.principal
        role = (f"{ALLOW_ANONYMOUS_WRITES}=1" if principal is ANONYMOUS else
                "network lead" if principal.scopes.network_lead else
                f"trust {principal.trust}" if principal.trust else "no trust")
        return Agent(principal.subject, principal.issuer, principal.trust, self.address,
                     f"{principal.subject} ({role})")

    def require(self, resource_type: str) -> None:
        """403 unless the token may write this type at all (before any body is read)."""
        try:
            policy.check_access(self.principal, resource_type, Access.WRITE)
        except policy.Denied as denied:
            raise forbidden(denied) from None

    def permit(self, resource_type: str, current: JsonDict | None, proposed: JsonDict | None) -> None:
        """The store's permit: the ownership rules, checked on what is stored, as a 403."""
        try:
            policy.check_change(self.principal, resource_type, current, proposed)
        except policy.Denied as denied:
            raise forbidden(denied) from None

    def _permit_edit(self, resource_type: str, current: JsonDict | None, proposed: JsonDict | None) -> None:
        """The permit of an ordinary write: the ownership rules, then the guideline lifecycle's (409/422)."""
        self.permit(resource_type, current, proposed)
        guidelines.check_edit(current, proposed)

    @contextmanager
    def write(self, store: Store, *, lifecycle: bool = False) -> Iterator[Writer]:
        """One atomic write, audited as this caller and checked change by change; ``lifecycle`` for the
        guideline operations, which make the transitions ordinary writes may not."""
        with store.write(self.agent, self.permit if lifecycle else self._permit_edit) as writer:
            yield writer


def write_access(request: Request) -> Caller:
    """The caller of a route that writes: 401 without a valid token (unless anonymous writes are on),
    403 without a write scope for the type in the URL."""
    principal = _principal(request)
    if principal is None:
        if not settings_of(request).allow_anonymous_writes:
            raise unauthorized("writing needs a bearer token (Authorization: Bearer <JWT>); "
                               "`harmonise token` issues one for local use")
        principal = ANONYMOUS
    caller = Caller(principal, request.client.host if request.client else None)
    resource_type = request.path_params.get("resource_type")
    if resource_type is not None:
        caller.require(resource_type)
    return caller


WriteAccess = Annotated[Caller, Depends(write_access)]


def reads(*resource_types: str) -> Any:
    """A dependency for a route that reads ``resource_types`` (none given: the type in its URL;
    a route with none reads every type). Open unless reads need a token, or the type does.

    A token that is sent is checked even where reads are open. The check is a coroutine (it does
    no I/O: verifying an HS256 token is a hash) so that FastAPI runs it in the event loop rather
    than handing it to the thread pool; an open read without a token costs a few lookups.
    """

    async def read_access(request: Request) -> None:
        sent = request.headers.get("authorization") is not None
        principal = _principal(request) if sent else None
        wanted = resource_types or (request.path_params.get("resource_type", ALL_TYPES),)
        if not (settings_of(request).reads_require_token or any(name in _READS_NEED_TOKEN for name in wanted)):
            return
        if principal is None:
            raise unauthorized(f"reading {', '.join(wanted)} needs a bearer token (Authorization: Bearer <JWT>)")
        try:
            for name in wanted:
                policy.check_access(principal, name, Access.READ)
        except policy.Denied as denied:
            raise forbidden(denied) from None

    return Depends(read_access)


def capability_security(settings: SecuritySettings) -> JsonDict:
    """``CapabilityStatement.rest.security``, from the settings the server runs with."""
    protected = ", ".join(name for name, support in RESOURCES.items() if support.reads_need_token)
    reads_text = ("Every read needs a bearer token with a read scope for the type." if settings.reads_require_token
                  else f"Reads are open, except {protected}, which needs a token with a read scope for it.")
    writes_text = (f"LOCAL DEVELOPMENT MODE ({ALLOW_ANONYMOUS_WRITES}=1): writes without a token are accepted "
                   "and recorded as anonymous." if settings.allow_anonymous_writes else
                   "Every write needs a bearer token with a write scope for the type: 401 without a valid token, "
                   "403 without the scope or the ownership.")
    return {
        "cors": False,
        "service": [{"coding": [{"system": SECURITY_SERVICE, "code": "SMART-on-FHIR", "display": "SMART-on-FHIR"}],
                     "text": f"OAuth 2.0 bearer tokens: JWT signed with HS256, issuer '{settings.issuer}', "
                             f"audience '{settings.audience}'"}],
        "description": f"{reads_text} {writes_text} {GRAMMAR} {policy.RULES} Every create, update and delete is "
                       "recorded as a Provenance (who, when, what, from where) in the same transaction.",
    }
