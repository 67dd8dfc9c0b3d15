"""What the FHIR API supports, per resource type: the one source of truth.

The router asks ``require()`` before every interaction, the search code reads the store's
search-parameter registry through ``ResourceSupport.search_parameters``, and the
CapabilityStatement is generated from the same objects. Adding an interaction here without a
route, or a route without declaring it here, cannot show up in ``/metadata``.
"""

from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Final

from .. import conventions as c
from .. import loader
from ..fhirformat import JsonDict
from ..problems import Problem
from ..store.searchparams import SearchParameter, parameters_for
from .outcomes import FhirError, issue


class Interaction(StrEnum):
    """FHIR R4 type-level and instance-level interaction codes."""

    READ = "read"
    VREAD = "vread"
    UPDATE = "update"
    DELETE = "delete"
    HISTORY_INSTANCE = "history-instance"
    HISTORY_TYPE = "history-type"
    CREATE = "create"
    SEARCH_TYPE = "search-type"


class SystemInteraction(StrEnum):
    TRANSACTION = "transaction"


@dataclass(frozen=True)
class Operation:
    name: str
    definition: str
    type_level: bool
    instance_level: bool


VALIDATE: Final = Operation("validate", "http://hl7.org/fhir/OperationDefinition/Resource-validate",
                            type_level=True, instance_level=True)

Checker = Callable[[JsonDict], list[Problem]]


def check_plan_definition(resource: JsonDict) -> list[Problem]:
    """FHIR validity errors and convention warnings, exactly as ``harmonise validate`` finds them."""
    return loader.check_plan_definition(resource)[2]


@dataclass(frozen=True)
class ResourceSupport:
    type: str
    interactions: frozenset[Interaction]
    operations: tuple[Operation, ...] = ()
    #: Profiles the server knows and checks (shown as supportedProfile).
    profiles: tuple[str, ...] = ()
    conditional_create: bool = False
    #: Checks a resource before it is written or validated; None if the type is read-only.
    checker: Checker | None = None
    documentation: str = ""

    @property
    def search_parameters(self) -> dict[str, SearchParameter]:
        return parameters_for(self.type) if Interaction.SEARCH_TYPE in self.interactions else {}

    def operation(self, name: str, *, instance: bool) -> Operation | None:
        for operation in self.operations:
            if operation.name == name and (operation.instance_level if instance else operation.type_level):
                return operation
        return None


_READ_ONLY: Final = frozenset({Interaction.READ, Interaction.VREAD, Interaction.HISTORY_INSTANCE,
                               Interaction.HISTORY_TYPE, Interaction.SEARCH_TYPE})

RESOURCES: Final[dict[str, ResourceSupport]] = {
    "PlanDefinition": ResourceSupport(
        type="PlanDefinition",
        interactions=frozenset(Interaction),
        operations=(VALIDATE,),
        profiles=(c.TRUST_PATHWAY_PROFILE, c.NETWORK_GUIDELINE_PROFILE),
        conditional_create=True,
        checker=check_plan_definition,
        documentation="Trust pathways and network guidelines, and any other valid FHIR R4 PlanDefinition. "
                      "Harmonise convention gaps are warnings, never a reason to refuse valid FHIR.",
    ),
    "Organization": ResourceSupport(
        type="Organization",
        interactions=_READ_ONLY,
        documentation="The network's trusts, id = ODS code; created by `harmonise load`, read-only here.",
    ),
}

SYSTEM_INTERACTIONS: Final = (SystemInteraction.TRANSACTION,)


def support(resource_type: str) -> ResourceSupport:
    """The type's support, or 404 for a type the server does not serve."""
    found = RESOURCES.get(resource_type)
    if found is None:
        raise FhirError(404, [issue("error", "not-supported",
                                    f"this server does not serve the resource type '{resource_type}' "
                                    f"(it serves {', '.join(RESOURCES)})")])
    return found


def require(resource_type: str, interaction: Interaction) -> ResourceSupport:
    """The type's support if it allows ``interaction``; else 404 (unknown type) or 405."""
    found = support(resource_type)
    if interaction not in found.interactions:
        raise FhirError(405, [issue("error", "not-supported",
                                    f"{resource_type} does not support the {interaction.value} interaction here")])
    return found


def require_system(interaction: SystemInteraction) -> None:
    if interaction not in SYSTEM_INTERACTIONS:
        raise FhirError(405, [issue("error", "not-supported", f"this server does not support {interaction.value}")])


def require_operation(resource_type: str, name: str, *, instance: bool) -> ResourceSupport:
    found = support(resource_type)
    if found.operation(name, instance=instance) is None:
        level = "instance" if instance else "type"
        raise FhirError(404, [issue("error", "not-supported",
                                    f"the operation ${name} is not defined at {level} level for {resource_type}")])
    return found
