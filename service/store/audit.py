"""The audit trail: one FHIR Provenance for every version the store writes, in the same transaction.

The Writer records it as it inserts the version (see ``store.Writer``), so no change can be made
without its record, and a write that fails or is rolled back leaves neither. Provenance resources
are written once and never changed; the API serves them read-only.

Each says what (``target``: the versioned reference), when (``recorded``: the version's
lastUpdated), how (``activity``: create, update or delete), who (``agent.who``: the token subject
in the issuer's namespace, or the local administrator; ``agent.onBehalfOf``: the trust) and from
where (the client's address, in an extension on the agent).
"""

import getpass
import socket
from dataclasses import dataclass
from enum import StrEnum
from typing import Final

from .. import conventions as c
from ..fhirformat import JsonDict
from .records import StoredVersion

#: The resource type of the audit records; writing one is never itself audited.
AUDIT_TYPE: Final = "Provenance"
#: Namespace of agents that are not token holders (the local administrator, anonymous development writes).
LOCAL_AGENTS: Final = f"{c.BASE}/NamingSystem/local-agent"
CLIENT_ADDRESS_EXTENSION: Final = f"{c.BASE}/StructureDefinition/client-address"
DATA_OPERATION: Final = "http://terminology.hl7.org/CodeSystem/v3-DataOperation"
PARTICIPANT_TYPE: Final = "http://terminology.hl7.org/CodeSystem/provenance-participant-type"
LOCAL_ADMIN_SUBJECT: Final = "local-admin"


class Activity(StrEnum):
    """v3 DataOperation codes."""

    CREATE = "CREATE"
    UPDATE = "UPDATE"
    DELETE = "DELETE"

    @property
    def display(self) -> str:
        return {"CREATE": "create", "UPDATE": "revise", "DELETE": "delete"}[self.value]


@dataclass(frozen=True)
class Agent:
    """Who makes a write and from where."""

    subject: str
    #: The namespace of ``subject``: the token's issuer, or ``LOCAL_AGENTS``.
    system: str
    #: ODS code of the trust the agent acts for.
    trust: str | None = None
    #: The client's network address (for a local administrator, the host name).
    address: str | None = None
    display: str | None = None


def _os_user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no login name in a bare container
        return "unknown-user"


def local_admin(command: str | None = None) -> Agent:
    """Whoever runs a command that writes to the database directly (``harmonise load``, ``import-activity``)."""
    host = socket.gethostname()
    doing = f" ({command})" if command else ""
    return Agent(LOCAL_ADMIN_SUBJECT, LOCAL_AGENTS, address=host, display=f"local admin {_os_user()}@{host}{doing}")


def provenance(version: StoredVersion, activity: Activity, agent: Agent) -> JsonDict:
    """The audit record of one version."""
    who: JsonDict = {"identifier": {"system": agent.system, "value": agent.subject}}
    if agent.display:
        who["display"] = agent.display
    participant: JsonDict = {
        "type": {"coding": [{"system": PARTICIPANT_TYPE, "code": "author", "display": "Author"}]},
        "who": who,
    }
    if agent.address:
        participant["extension"] = [{"url": CLIENT_ADDRESS_EXTENSION, "valueString": agent.address}]
    if agent.trust:
        participant["onBehalfOf"] = {"reference": f"Organization/{agent.trust}",
                                     "identifier": {"system": c.ODS_SYSTEM, "value": agent.trust}}
    return {
        "resourceType": AUDIT_TYPE,
        "target": [{"reference": f"{version.reference}/_history/{version.version_id}"}],
        "recorded": version.last_updated,
        "activity": {"coding": [{"system": DATA_OPERATION, "code": activity.value, "display": activity.display}]},
        "agent": [participant],
    }


def agent_of(record: JsonDict) -> Agent | None:
    """The agent an audit record names (what ``provenance`` wrote, read back); None if it names none."""
    for participant in record.get("agent") or []:
        who = participant.get("who") or {}
        identifier = who.get("identifier") or {}
        if not identifier.get("value") and not who.get("display"):
            continue
        address = next((e.get("valueString") for e in participant.get("extension") or []
                        if e.get("url") == CLIENT_ADDRESS_EXTENSION), None)
        trust = ((participant.get("onBehalfOf") or {}).get("identifier") or {}).get("value")
        return Agent(str(identifier.get("value") or ""), str(identifier.get("system") or ""),
                     str(trust) if trust else None, address, who.get("display"))
    return None
