"""Which changes a principal may make: first the scope for the type, then who owns the content.

A trust owns its pathways (the owning-organization extension) and its MeasureReports (the
reporter). Everything else is network-wide: network guidelines (even though their owning
organisation is the host trust), Measures, and resources with no owning trust. A trust's token may
change a resource only if it owns both the stored version and the new content, so it can neither
take another trust's pathway nor give its own away; network-wide content needs the network-lead
scope.
"""

from collections.abc import Iterable
from typing import Final

from .. import conventions as c
from ..fhirformat import JsonDict
from ..pathway import PathwayKind
from ..store.searchparams import IndexValue, owning_trust, reporter_trust
from .scopes import NETWORK_LEAD, Access, needed
from .tokens import ODS_CLAIM, Principal

#: The rules in words, for the CapabilityStatement.
RULES: Final = (
    f"A trust's token (claim '{ODS_CLAIM}' = its ODS code) may change only PlanDefinitions whose owning-organization "
    "is that trust and MeasureReports whose reporter is that trust, checked on both the stored version and the "
    "new content. Network guidelines, Measures and content owned by no trust need the "
    f"'{NETWORK_LEAD}' scope, which also allows changing any trust's content."
)


class Denied(Exception):
    """A change the principal may not make (403); ``scope`` names a missing scope, if that is why."""

    def __init__(self, message: str, scope: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.scope = scope


def _ods_codes(values: Iterable[IndexValue]) -> frozenset[str]:
    return frozenset(value.value for value in values if value.namespace == c.ODS_SYSTEM and value.value)


def is_network_guideline(resource: JsonDict) -> bool:
    return PathwayKind.of_resource({"resourceType": "PlanDefinition", **resource}) is PathwayKind.NETWORK_GUIDELINE


def owners(resource_type: str, resource: JsonDict) -> frozenset[str]:
    """The ODS codes of the trusts owning a resource; empty for network-wide content."""
    if resource_type == "PlanDefinition" and not is_network_guideline(resource):
        return _ods_codes(owning_trust(resource))
    if resource_type == "MeasureReport":
        return _ods_codes(reporter_trust(resource))
    return frozenset()


def check_access(principal: Principal, resource_type: str, access: Access) -> None:
    """Raise Denied unless the principal's scopes grant ``access`` to the type (``*``: every type)."""
    if not principal.scopes.allows(resource_type, access):
        wanted = needed(resource_type, access)
        granted = str(principal.scopes) or "none"
        raise Denied(f"the token's scopes ({granted}) do not allow {access.value} access to {resource_type}; "
                     f"it needs a scope such as {wanted}", scope=wanted)


def _what(resource_type: str, resource: JsonDict) -> str:
    if resource_type == "PlanDefinition" and is_network_guideline(resource):
        return "a network guideline"
    if resource_type in ("PlanDefinition", "MeasureReport"):
        return f"a {resource_type} owned by no trust"
    return f"a {resource_type}, network-wide content"


def check_change(principal: Principal, resource_type: str, current: JsonDict | None,
                 proposed: JsonDict | None) -> None:
    """Raise Denied unless the principal may replace ``current`` (None: nothing stored) by ``proposed``
    (None: a deletion)."""
    check_access(principal, resource_type, Access.WRITE)
    if principal.scopes.network_lead:
        return
    for state, resource in (("the stored version", current), ("the new content", proposed)):
        if resource is None:
            continue
        found = owners(resource_type, resource)
        if not found:
            raise Denied(f"{state} is {_what(resource_type, resource)}: only a token with the network-lead "
                         "scope may change it")
        if principal.trust is None:
            raise Denied(f"{state} belongs to {', '.join(sorted(found))}, and this token speaks for no trust "
                         "(it has no ods claim) and is not a network lead's")
        if found != {principal.trust}:
            raise Denied(f"{state} belongs to {', '.join(sorted(found))}; a token for {principal.trust} may "
                         f"change only what {principal.trust} alone owns")
