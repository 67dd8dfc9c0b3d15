"""The fixed identifiers of the Harmonise profile (docs/profile.md) and the network's trusts.

Everything that names a URL, a code system or a trust comes from here, so the validator, the
model and the outputs cannot disagree about them.
"""

from typing import Final

BASE: Final = "http://harmonise.example.org/fhir"

TRUST_PATHWAY_PROFILE: Final = f"{BASE}/StructureDefinition/trust-pathway"
NETWORK_GUIDELINE_PROFILE: Final = f"{BASE}/StructureDefinition/network-guideline"
OWNING_ORGANIZATION_EXTENSION: Final = f"{BASE}/StructureDefinition/owning-organization"

#: A register entry of warranted variation is a Basic with this profile (docs/profile.md).
WARRANTED_VARIATION_PROFILE: Final = f"{BASE}/StructureDefinition/warranted-variation"
#: Basic.code of a register entry.
REGISTER_ENTRY_TYPE_SYSTEM: Final = f"{BASE}/CodeSystem/register-entry-type"
WARRANTED_VARIATION_CODE: Final = "warranted-variation"
#: The register entry's fields that Basic has no element for, one extension each.
VARIATION_TOPIC_EXTENSION: Final = f"{BASE}/StructureDefinition/variation-topic"
VARIATION_STEP_EXTENSION: Final = f"{BASE}/StructureDefinition/variation-step"
VARIATION_DIMENSION_EXTENSION: Final = f"{BASE}/StructureDefinition/variation-dimension"
VARIATION_RATIONALE_EXTENSION: Final = f"{BASE}/StructureDefinition/variation-rationale"
VARIATION_REVIEW_BY_EXTENSION: Final = f"{BASE}/StructureDefinition/variation-review-by"
#: An ended entry: when (``date``) and why (``reason``), as sub-extensions.
VARIATION_RETIRED_EXTENSION: Final = f"{BASE}/StructureDefinition/variation-retired"

PATHWAY_TOPIC_SYSTEM: Final = f"{BASE}/CodeSystem/pathway-topic"
HOSTED_NETWORK_SYSTEM: Final = f"{BASE}/CodeSystem/hosted-network"
PATHWAY_STEP_SYSTEM: Final = f"{BASE}/CodeSystem/pathway-step"
CONTACT_MODE_SYSTEM: Final = f"{BASE}/CodeSystem/contact-mode"
CARE_ROLE_SYSTEM: Final = f"{BASE}/CodeSystem/care-role"

ODS_SYSTEM: Final = "https://fhir.nhs.uk/Id/ods-organization-code"
USAGE_CONTEXT_TYPE_SYSTEM: Final = "http://terminology.hl7.org/CodeSystem/usage-context-type"
PLAN_DEFINITION_TYPE_SYSTEM: Final = "http://terminology.hl7.org/CodeSystem/plan-definition-type"
UCUM_SYSTEM: Final = "http://unitsofmeasure.org"

#: Contact modes that are scheduled patient contacts (BRIEF, report contract).
SCHEDULED_CONTACT_MODES: Final = frozenset({"face-to-face", "telephone", "video"})

#: The seven acute providers of the network (BRIEF), by ODS code.
TRUSTS: Final[dict[str, str]] = {
    "RFF": "Barnsley Hospital NHS Foundation Trust",
    "RFS": "Chesterfield Royal Hospital NHS Foundation Trust",
    "RP5": "Doncaster and Bassetlaw Teaching Hospitals NHS Foundation Trust",
    "RXF": "Mid Yorkshire Teaching NHS Trust",
    "RFR": "The Rotherham NHS Foundation Trust",
    "RCU": "Sheffield Children's NHS Foundation Trust",
    "RHQ": "Sheffield Teaching Hospitals NHS Foundation Trust",
}
