"""SMART-on-FHIR style scopes and the network-lead scope: the one definition of what a token may do.

A resource scope is ``<context>/<type>.<access>`` (SMART App Launch v1): context ``system`` (a
backend service, e.g. a trust's integration engine) or ``user`` (a person signed in to a client);
type a resource type or ``*``; access ``read``, ``write`` or ``*``. ``patient/`` scopes grant
nothing: Harmonise holds no patient data. Scopes it does not know (``openid``, ``launch``) are
ignored, as SMART asks of servers.

``network-lead`` is Harmonise's own scope. It marks the holder as a lead of the network, who may
change network-wide content: network guidelines, Measures, unowned resources and any trust's
pathways. It grants no access by itself: a network lead still needs a write scope for the type.
"""

import re
from dataclasses import dataclass
from enum import StrEnum
from typing import Final


class Access(StrEnum):
    READ = "read"
    WRITE = "write"


ALL_TYPES: Final = "*"
NETWORK_LEAD: Final = "network-lead"
#: Contexts whose scopes grant access here.
CONTEXTS: Final = ("system", "user")
_RESOURCE_SCOPE: Final = re.compile(
    r"(?P<context>patient|user|system)/(?P<type>\*|[A-Z][A-Za-z]{0,63})\.(?P<access>read|write|\*)"
)

#: The grammar in words, for the CapabilityStatement and error messages.
GRAMMAR: Final = (
    "Scopes (SMART App Launch v1 style, space-separated in the token's 'scope' claim): "
    "system/<type>.<read|write|*> or user/<type>.<read|write|*>, <type> a resource type or *; "
    f"patient/ scopes grant nothing. '{NETWORK_LEAD}' marks the holder as a lead of the network."
)


@dataclass(frozen=True)
class ResourceScope:
    context: str
    resource_type: str
    #: read, write or * (both).
    access: str

    def grants(self, resource_type: str, access: Access) -> bool:
        """``resource_type`` ``*`` asks for every type at once (system-level operations)."""
        return (self.context in CONTEXTS and self.resource_type in (ALL_TYPES, resource_type)
                and self.access in ("*", access.value))

    def __str__(self) -> str:
        return f"{self.context}/{self.resource_type}.{self.access}"


def resource_scope(text: str) -> ResourceScope | None:
    match = _RESOURCE_SCOPE.fullmatch(text)
    return ResourceScope(match["context"], match["type"], match["access"]) if match else None


def is_known(text: str) -> bool:
    """True for a scope this server understands (for checking what ``harmonise token`` is asked for)."""
    return text == NETWORK_LEAD or resource_scope(text) is not None


def needed(resource_type: str, access: Access) -> str:
    """The scope a client lacking access should ask for (RFC 6750 ``insufficient_scope``)."""
    return f"system/{resource_type}.{access.value}"


@dataclass(frozen=True)
class Scopes:
    """What one token was granted."""

    granted: tuple[ResourceScope, ...] = ()
    network_lead: bool = False

    @classmethod
    def parse(cls, text: str) -> "Scopes":
        words = text.split()
        granted = tuple(scope for scope in (resource_scope(word) for word in words) if scope is not None)
        return cls(granted, NETWORK_LEAD in words)

    def allows(self, resource_type: str, access: Access) -> bool:
        return any(scope.grants(resource_type, access) for scope in self.granted)

    def __str__(self) -> str:
        return " ".join([str(scope) for scope in self.granted] + ([NETWORK_LEAD] if self.network_lead else []))


#: The scopes of each role, for tokens (``harmonise token``) and workspace accounts alike: everyone reads
#: everything; a trust writes its pathways and activity; a network lead writes everything.
READ_ALL: Final = "system/*.read"
TRUST_WRITES: Final = ("system/PlanDefinition.write", "system/MeasureReport.write")
WRITE_ALL: Final = "system/*.write"
