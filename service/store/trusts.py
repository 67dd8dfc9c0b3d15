"""The network's trusts as FHIR Organizations, identified by their ODS codes (BRIEF: the trusts)."""

from .. import conventions as c
from ..fhirformat import JsonDict


def trust_organization(ods: str, name: str) -> JsonDict:
    """The Organization of one trust; its id is its ODS code, so ``Organization/RHQ`` reads it."""
    return {
        "resourceType": "Organization",
        "id": ods,
        "identifier": [{"system": c.ODS_SYSTEM, "value": ods}],
        "active": True,
        "type": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/organization-type",
                              "code": "prov", "display": "Healthcare Provider"}]}],
        "name": name,
    }


def trust_organizations() -> list[JsonDict]:
    return [trust_organization(ods, name) for ods, name in c.TRUSTS.items()]
