"""Small hand-built pathways for the variation tests: the days in each are worked out by hand."""

from fhir.resources.R4B.plandefinition import PlanDefinition

from service.normalise import normalise
from service.pathway import Pathway

from .conftest import minimal_pathway

BASE = "http://harmonise.example.org/fhir"
UCUM = "http://unitsofmeasure.org"
TOPIC = "laparoscopic-cholecystectomy-follow-up"


def q(value, code: str) -> dict:
    return {"value": value, "unit": code, "system": UCUM, "code": code}


def action(id_: str, kind: str, mode: str, role: str | None = None, title: str | None = None, **rest) -> dict:
    result = {
        "id": id_,
        "title": title or f"{kind} by {mode}",
        "code": [
            {"coding": [{"system": f"{BASE}/CodeSystem/pathway-step", "code": kind}]},
            {"coding": [{"system": f"{BASE}/CodeSystem/contact-mode", "code": mode}]},
        ],
        **rest,
    }
    if role:
        result["participant"] = [
            {"type": "practitioner", "role": {"coding": [{"system": f"{BASE}/CodeSystem/care-role", "code": role}]}}
        ]
    return result


def build(resource: dict) -> Pathway:
    pathway, problems = normalise(PlanDefinition.model_validate(resource))
    assert problems == []
    return pathway


def trust_pathway(ods: str, actions: list[dict], version: str = "1.0.0") -> dict:
    resource = minimal_pathway(
        id=f"{ods.lower()}-test",
        url=f"http://{ods.lower()}.example.org/fhir/PlanDefinition/test",
        version=version,
        action=actions,
    )
    resource["extension"][0]["valueIdentifier"]["value"] = ods
    resource["action"][0]["trigger"] = [{"type": "named-event", "name": "day-of-surgery"}]
    return resource


def guideline() -> dict:
    """Telephone review in weeks 4-8 (days 28-56); face-to-face review at 6-9 months."""
    resource = minimal_pathway(
        id="guideline-test",
        url=f"{BASE}/PlanDefinition/guideline-test",
        version="1.0.0",
        publisher="Test network",
        action=[
            action(
                "review-6w",
                "follow-up",
                "telephone",
                "specialist-nurse",
                "Telephone review",
                trigger=[{"type": "named-event", "name": "day-of-surgery"}],
                timingRange={"low": q(4, "wk"), "high": q(8, "wk")},
                requiredBehavior="must",
            ),
            action(
                "review-9m",
                "follow-up",
                "face-to-face",
                "consultant",
                "Clinic review",
                timingRange={"low": q(6, "mo"), "high": q(9, "mo")},
                requiredBehavior="must",
            ),
        ],
    )
    resource["meta"]["profile"] = [f"{BASE}/StructureDefinition/network-guideline"]
    return resource


def four_trusts() -> dict[str, dict]:
    """Contacts 3 / 2 / 3 / 5, each trust differing in one planted way."""

    def phone_6w(id_: str) -> dict:
        return action(id_, "follow-up", "telephone", "specialist-nurse", "Telephone review", timingDuration=q(6, "wk"))

    def clinic_8m(id_: str) -> dict:
        return action(
            id_,
            "follow-up",
            "face-to-face",
            "consultant",
            "Clinic review",  # noqa: E731
            timingDuration=q(8, "mo"),
        )

    return {
        # RHQ: an extra 2-week wound check (day 14), which the guideline does not have.
        "RHQ": trust_pathway(
            "RHQ",
            [
                action("wound", "wound-check", "face-to-face", "nurse", "Wound check", timingDuration=q(2, "wk")),
                phone_6w("call"),
                clinic_8m("clinic"),
            ],
        ),
        # RFF: the clinic review at 12 months (day 365), outside the 6-9 month window.
        "RFF": trust_pathway(
            "RFF",
            [
                phone_6w("a"),
                action("b", "follow-up", "face-to-face", "consultant", "Clinic review", timingDuration=q(12, "mo")),
            ],
        ),
        # RP5: an extra telephone contact at 4 months (day 122), warranted in the register.
        "RP5": trust_pathway(
            "RP5",
            [
                phone_6w("p1"),
                clinic_8m("p3"),
                action(
                    "p2",
                    "follow-up",
                    "telephone",
                    "specialist-nurse",
                    "Extra telephone check",
                    timingDuration=q(4, "mo"),
                ),
            ],
        ),
        # RFR: clinic reviews every 2 months from month 3, four times: days 91, 152, 213, 274.
        "RFR": trust_pathway(
            "RFR",
            [
                phone_6w("r1"),
                action(
                    "r2",
                    "follow-up",
                    "face-to-face",
                    "consultant",
                    "Clinic review",
                    timingTiming={
                        "repeat": {"count": 4, "period": 2, "periodUnit": "mo", "boundsRange": {"low": q(3, "mo")}}
                    },
                ),
            ],
        ),
    }
