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
from .. import loader, register
from ..fhirformat import JsonDict
from ..problems import Problem
from ..store.searchparams import SearchParameter, parameters_for
from .outcomes import FhirError, issue
from .parameters import (
    ApplyParameters,
    ApproveParameters,
    CompareParameters,
    DiffParameters,
    DraftParameters,
    NoParameters,
    OperationParameters,
    ReleaseParameters,
    SignalsParameters,
    definition_parameters,
)


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
    #: The input parameters of an operation this server defines (its OperationDefinition's ``in`` parameters,
    #: and what its route is given); None for one HL7 defines, whose route reads its own.
    inputs: type[OperationParameters] | None = None


VALIDATE: Final = Operation(
    "validate", "http://hl7.org/fhir/OperationDefinition/Resource-validate", type_level=True, instance_level=True
)
COMPARE: Final = Operation("compare", f"{c.BASE}/OperationDefinition/PlanDefinition-compare", type_level=True,
                           instance_level=False, inputs=CompareParameters)
DIFF: Final = Operation("diff", f"{c.BASE}/OperationDefinition/Resource-diff", type_level=True, instance_level=True,
                        inputs=DiffParameters)
SIGNALS: Final = Operation("signals", f"{c.BASE}/OperationDefinition/signals", type_level=False, instance_level=False,
                           inputs=SignalsParameters)
APPLY: Final = Operation("apply", f"{c.BASE}/OperationDefinition/PlanDefinition-apply", type_level=False,
                         instance_level=True, inputs=ApplyParameters)
PACKAGE: Final = Operation("package", f"{c.BASE}/OperationDefinition/PlanDefinition-package", type_level=False,
                           instance_level=True, inputs=NoParameters)
#: The guideline lifecycle (HL7 CRMI): instance-level operations on network guidelines, network leads only.
DRAFT: Final = Operation("draft", f"{c.BASE}/OperationDefinition/PlanDefinition-draft", type_level=False,
                         instance_level=True, inputs=DraftParameters)
APPROVE: Final = Operation("approve", f"{c.BASE}/OperationDefinition/PlanDefinition-approve",
                           type_level=False, instance_level=True, inputs=ApproveParameters)
RELEASE: Final = Operation("release", f"{c.BASE}/OperationDefinition/PlanDefinition-release",
                           type_level=False, instance_level=True, inputs=ReleaseParameters)
RETIRE: Final = Operation("retire", f"{c.BASE}/OperationDefinition/PlanDefinition-retire", type_level=False,
                          instance_level=True, inputs=NoParameters)
LIFECYCLE: Final = (DRAFT, APPROVE, RELEASE, RETIRE)
EXPAND: Final = Operation("expand", "http://hl7.org/fhir/OperationDefinition/ValueSet-expand", type_level=True,
                          instance_level=True)
CODE_SYSTEM_VALIDATE_CODE: Final = Operation(
    "validate-code", "http://hl7.org/fhir/OperationDefinition/CodeSystem-validate-code", type_level=True,
    instance_level=True)
VALUE_SET_VALIDATE_CODE: Final = Operation(
    "validate-code", "http://hl7.org/fhir/OperationDefinition/ValueSet-validate-code", type_level=True,
    instance_level=True)
#: Operations at the server's base (``/$diff``, ``/$signals``).
SYSTEM_OPERATIONS: Final = (DIFF, SIGNALS)



Checker = Callable[[JsonDict], list[Problem]]


def check_plan_definition(resource: JsonDict) -> list[Problem]:
    """FHIR validity errors and convention warnings, exactly as ``harmonise validate`` finds them."""
    return loader.check_plan_definition(resource)[2]


def check_register_entry(resource: JsonDict) -> list[Problem]:
    """FHIR validity, then the warranted-variation profile's fields (``register.entry_problems``)."""
    return loader.check_resource(resource) or register.entry_problems(resource)


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
    #: Readable only with a token granting read of the type, even where reads are otherwise open.
    reads_need_token: bool = False

    @property
    def search_parameters(self) -> dict[str, SearchParameter]:
        return parameters_for(self.type) if Interaction.SEARCH_TYPE in self.interactions else {}

    def operation(self, name: str, *, instance: bool) -> Operation | None:
        for operation in self.operations:
            if operation.name == name and (operation.instance_level if instance else operation.type_level):
                return operation
        return None


_READ_ONLY: Final = frozenset(
    {
        Interaction.READ,
        Interaction.VREAD,
        Interaction.HISTORY_INSTANCE,
        Interaction.HISTORY_TYPE,
        Interaction.SEARCH_TYPE,
    }
)

RESOURCES: Final[dict[str, ResourceSupport]] = {
    "PlanDefinition": ResourceSupport(
        type="PlanDefinition",
        interactions=frozenset(Interaction),
        operations=(VALIDATE, COMPARE, DIFF, APPLY, PACKAGE, *LIFECYCLE),
        profiles=(c.TRUST_PATHWAY_PROFILE, c.NETWORK_GUIDELINE_PROFILE),
        conditional_create=True,
        checker=check_plan_definition,
        documentation="Trust pathways and network guidelines, and any other valid FHIR R4 PlanDefinition. "
        "Harmonise convention gaps are warnings, never a reason to refuse valid FHIR.",
    ),
    "OperationDefinition": ResourceSupport(
        type="OperationDefinition",
        interactions=frozenset({Interaction.READ}),
        documentation="The definitions of this server's own operations ($compare, $diff), built in.",
    ),
    "MeasureReport": ResourceSupport(
        type="MeasureReport",
        interactions=frozenset(Interaction),
        conditional_create=True,
        checker=loader.check_resource,
        documentation="Monthly activity of a trust on a pathway topic for one of the network's measures "
        "(reporter = the trust's ODS code, group.code = the pathway topic). `harmonise monitor` "
        "and $signals chart them.",
    ),
    "Measure": ResourceSupport(
        type="Measure",
        interactions=frozenset(Interaction),
        checker=loader.check_resource,
        documentation="The network's activity measures: improvementNotation gives the desired direction; the "
        f"extension {c.BASE}/StructureDefinition/measure-target an optional target.",
    ),
    "Basic": ResourceSupport(
        type="Basic",
        interactions=frozenset(Interaction),
        profiles=(c.WARRANTED_VARIATION_PROFILE,),
        checker=check_register_entry,
        documentation="The register of warranted variation: one Basic per entry (profile warranted-variation; "
        "subject = the trust, the topic, step, dimension, rationale and review date as extensions, created = "
        "the day it was agreed, author = who agreed it). $compare, harmonise compare and the site judge "
        "differences by it. Readable by anyone; written only with a network lead's token. "
        "`harmonise load` imports guidelines/variation-register.yaml as these; `harmonise export` writes it.",
    ),
    "StructureDefinition": ResourceSupport(
        type="StructureDefinition",
        interactions=frozenset({Interaction.READ, Interaction.SEARCH_TYPE}),
        documentation="The Harmonise profiles (trust-pathway, network-guideline, warranted-variation) and "
        "extensions (owning-organization, variation-*), part of the software: read-only, the same in "
        "every store. Also in the FHIR package (harmonise package).",
    ),
    "CodeSystem": ResourceSupport(
        type="CodeSystem",
        interactions=frozenset({Interaction.READ, Interaction.SEARCH_TYPE}),
        operations=(CODE_SYSTEM_VALIDATE_CODE,),
        documentation="The network's own code systems (pathway-topic, hosted-network, pathway-step, contact-mode, "
        "care-role, variation-dimension, register-entry-type), part of the software: read-only. $validate-code "
        "with url (type level), code, system, display, coding or codeableConcept.",
    ),
    "ValueSet": ResourceSupport(
        type="ValueSet",
        interactions=frozenset({Interaction.READ, Interaction.SEARCH_TYPE}),
        operations=(EXPAND, VALUE_SET_VALIDATE_CODE),
        documentation="One ValueSet per network code system (every code of it), the profiles' binding targets: "
        "read-only. $expand and $validate-code (url at type level, or on ValueSet/[id]).",
    ),
    "Organization": ResourceSupport(
        type="Organization",
        interactions=_READ_ONLY,
        documentation="The network's trusts, id = ODS code; created by `harmonise load`, read-only here.",
    ),
    "Provenance": ResourceSupport(
        type="Provenance",
        interactions=_READ_ONLY,
        reads_need_token=True,
        documentation="The audit trail: one Provenance per version written (create, update or delete), through "
        "this API or by `harmonise load` / `import-activity`, recorded in the same database transaction and "
        "never changed. target = the version, recorded = when, activity = what was done, agent.who = the token "
        "subject (or local-admin), agent.onBehalfOf = the trust, extension client-address = from where. "
        "Readable only with a token granting Provenance read, whatever the read setting.",
    ),
}

SYSTEM_INTERACTIONS: Final = (SystemInteraction.TRANSACTION,)


def _returns(type_: str, documentation: str) -> JsonDict:
    """An operation's one ``out`` parameter, ``return``."""
    return {"name": "return", "use": "out", "min": 1, "max": "1", "type": type_, "documentation": documentation}


_LIFECYCLE_RULES: Final = (" Network leads only. An active or retired guideline is never edited back: PUT, "
                            "delete or a transaction entry that would change one is refused with 409, a status "
                            "set by writing with 422.")


def _definition(operation: Operation, title: str, description: str, returns: JsonDict,
                base: str | None = None) -> JsonDict:
    """The OperationDefinition of one of Harmonise's operations, from what this module declares about it.

    Its ``in`` parameters are its inputs model's fields, the ones its route is given; its levels and
    resource types are where the CapabilityStatement lists it (``RESOURCES``, ``SYSTEM_OPERATIONS``).
    """
    if operation.inputs is None:
        raise TypeError(f"${operation.name} has no inputs model to define its parameters")
    definition: JsonDict = {
        "resourceType": "OperationDefinition",
        "id": operation.definition.rsplit("/", 1)[1],
        "url": operation.definition,
        "version": "1.0.0",
        "name": title.replace(" ", ""),
        "title": title,
        "status": "active",
        "kind": "operation",
        "publisher": "Harmonise",
        "description": description,
        "code": operation.name,
        "system": operation in SYSTEM_OPERATIONS,
        "type": operation.type_level,
        "instance": operation.instance_level,
        "resource": [name for name, support in RESOURCES.items() if operation in support.operations],
        "parameter": [*definition_parameters(operation.inputs), returns],
    }
    if base:
        definition["base"] = base
    return definition


def _crmi(operation: Operation) -> str:
    return f"http://hl7.org/fhir/uv/crmi/OperationDefinition/crmi-{operation.name}"


#: The OperationDefinitions of Harmonise's own operations, served at ``/OperationDefinition/[id]``.
OPERATION_DEFINITIONS: Final[dict[str, JsonDict]] = {
    definition["id"]: definition
    for definition in (
        _definition(
            COMPARE,
            "Compare pathways",
            "The variation report of harmonise compare (docs/comparison.md): the trusts' current active "
            "pathways for a topic, or chosen versions, against the agreed guideline or the network "
            "consensus, every difference classified. Answers plain JSON (the report schema in "
            "docs/schemas/compare-report.schema.json) when the request accepts application/json, "
            "otherwise a Parameters whose 'return' is a Binary holding that JSON.",
            _returns("Binary", "The report as application/json."),
        ),
        _definition(
            DIFF,
            "Diff two versions",
            "Differences between two resources or versions as a FHIRPath Patch, compatible with HAPI "
            "FHIR's $diff, except that list items (actions) are matched by identity and meaning, not "
            "position: a moved step is one move, an inserted step one insert.",
            _returns("Parameters", "The FHIRPath Patch."),
        ),
        _definition(
            SIGNALS,
            "Early-warning signals",
            "The open early-warning signals of harmonise monitor, newest first, as a Bundle (type collection) of "
            "DetectedIssue resources: special-cause concern in a measure (Making Data Count rules), a pathway "
            "that moved away from the guideline it adopted, a guideline past its review date, a warranted-"
            "variation justification past its review date. Computed on request from the stored pathway "
            "versions and MeasureReports; not stored.",
            _returns("Bundle", "DetectedIssue resources, newest first."),
        ),
        _definition(
            APPLY,
            "Apply a PlanDefinition",
            "FHIR R4 PlanDefinition/$apply for a trust pathway or network guideline and one patient: a CarePlan "
            "(status draft, intent proposal) whose activity references a contained RequestGroup with one action "
            "per step, carrying its date (timingDateTime) or date window (timingPeriod), its kind and contact "
            "mode (code), who delivers it (participant: a contained PractitionerRole coded in care-role), "
            "requiredBehavior, and its conditions as written. Conditions are not evaluated. Dates are the "
            "index date plus the day offsets of the variation report (service.timing: a month is 30.4375 days, "
            "rounded to whole days, halves up, once at the end); a repeat becomes one dated sub-action per "
            "occurrence. See docs/integrators.md.",
            _returns("CarePlan", "The CarePlan with its contained RequestGroup."),
            base="http://hl7.org/fhir/OperationDefinition/PlanDefinition-apply",
        ),
        _definition(
            PACKAGE,
            "Package a PlanDefinition",
            "CRMI $package: a Bundle (collection) of the PlanDefinition and everything it depends on: the "
            "Harmonise profiles it claims and the extensions they name, the ValueSets they bind, and the "
            "network CodeSystems those and the PlanDefinition use. The whole package is `harmonise package`.",
            _returns("Bundle", "The PlanDefinition, then its dependencies."),
        ),
        _definition(
            DRAFT,
            "Draft a new guideline version",
            "CRMI $draft: a new draft version of an active or retired network guideline, as a resource of its own "
            "(same url, the given version, a predecessor link)." + _LIFECYCLE_RULES,
            _returns("PlanDefinition", "The new draft."),
            base=_crmi(DRAFT),
        ),
        _definition(
            APPROVE,
            "Approve a guideline",
            "CRMI $approve: records an approval (approvalDate, the approver as an endorser, their comment as a "
            "cqf-artifactComment extension, as CRMI records an ArtifactAssessment in R4) without changing the "
            "status." + _LIFECYCLE_RULES,
            _returns("PlanDefinition", "The approved guideline."),
            base=_crmi(APPROVE),
        ),
        _definition(
            RELEASE,
            "Release a guideline",
            "CRMI $release: an approved draft becomes the topic's agreed guideline (status active, "
            "effectivePeriod.start today) and the topic's previous one is retired, in one transaction: a topic "
            "never has two agreed guidelines, nor none in between." + _LIFECYCLE_RULES,
            _returns("Bundle", "The released guideline and those it retired."),
            base=_crmi(RELEASE),
        ),
        _definition(
            RETIRE,
            "Retire a guideline",
            "Withdraws a guideline (status retired, effectivePeriod.end today); the topic has no agreed guideline "
            "until another is released." + _LIFECYCLE_RULES,
            _returns("PlanDefinition", "The retired guideline."),
        ),
    )
}


def support(resource_type: str) -> ResourceSupport:
    """The type's support, or 404 for a type the server does not serve."""
    found = RESOURCES.get(resource_type)
    if found is None:
        raise FhirError(
            404,
            [
                issue(
                    "error",
                    "not-supported",
                    f"this server does not serve the resource type '{resource_type}' "
                    f"(it serves {', '.join(RESOURCES)})",
                )
            ],
        )
    return found


def require(resource_type: str, interaction: Interaction) -> ResourceSupport:
    """The type's support if it allows ``interaction``; else 404 (unknown type) or 405."""
    found = support(resource_type)
    if interaction not in found.interactions:
        raise FhirError(
            405,
            [
                issue(
                    "error",
                    "not-supported",
                    f"{resource_type} does not support the {interaction.value} interaction here",
                )
            ],
        )
    return found


def require_system(interaction: SystemInteraction) -> None:
    if interaction not in SYSTEM_INTERACTIONS:
        raise FhirError(405, [issue("error", "not-supported", f"this server does not support {interaction.value}")])


def require_system_operation(name: str) -> None:
    if not any(operation.name == name for operation in SYSTEM_OPERATIONS):
        raise FhirError(404, [issue("error", "not-supported", f"the operation ${name} is not defined at system level")])


def require_operation(resource_type: str, name: str, *, instance: bool) -> ResourceSupport:
    found = support(resource_type)
    if found.operation(name, instance=instance) is None:
        level = "instance" if instance else "type"
        raise FhirError(
            404,
            [
                issue(
                    "error",
                    "not-supported",
                    f"the operation ${name} is not defined at {level} level for {resource_type}",
                )
            ],
        )
    return found
