"""Shared fixtures: the repository's folders and the external FHIR examples beside the clone.

The external examples (published by others, with their sources) are not part of the repository:
they are read from ``../shared/fixtures`` beside the clone, or from ``HARMONISE_FIXTURES``.

The store and server fixtures (``database_url``, ``server``, ``client``) are in ``tests/stores.py``,
the browser's (``context``, ``visit``) in ``tests/browsers.py`` and the workspace's (``network``,
``https``, ``workspace_with_draft``) in ``tests/workspaces.py``, given to every test module by
``pytest_plugins`` below: name one as a test's parameter, import nothing (a helper function is
imported as usual). A module whose tests need no database, no server process and no browser says so with
``pytestmark = pytest.mark.fast``; ``make test-fast`` runs only those (CONTRIBUTING.md).
"""

import copy
import os
import tempfile
from pathlib import Path

import pytest

from service import fhirformat

REPOSITORY = Path(__file__).resolve().parent.parent
SHARED_FIXTURES = Path(os.environ.get("HARMONISE_FIXTURES") or REPOSITORY.parent / "shared" / "fixtures")
EXTERNAL = SHARED_FIXTURES / "external"
EXTERNAL_INVALID = SHARED_FIXTURES / "external-invalid"
PATHWAYS = REPOSITORY / "pathways"
GUIDELINES = REPOSITORY / "guidelines"

pytest_plugins = ["tests.stores", "tests.browsers", "tests.workspaces"]

#: Fixtures that start a database, a server or a browser: a test marked fast must use none of them.
SLOW_FIXTURES = frozenset({"database_url", "server", "client", "network", "https", "context", "visit",
                           "workspace_with_draft"})

EXTERNAL_FILES = sorted(EXTERNAL.glob("*/*.json")) + sorted(EXTERNAL.glob("*/*.xml"))
EXTERNAL_INVALID_FILES = sorted(EXTERNAL_INVALID.glob("*.xml"))


def pytest_configure(config: pytest.Config) -> None:
    # The external examples are part of the contract: their absence is a failure, not a skip.
    if not EXTERNAL_FILES:
        raise pytest.UsageError(f"no external FHIR fixtures found under {EXTERNAL}: put the shared folder "
                                "beside the clone, or set HARMONISE_FIXTURES to its fixtures folder")
    # A command run without --database uses HARMONISE_DATABASE_URL: in tests, a store of this run's own,
    # never the harmonise.db of the working folder (which a test would fill and the next would read).
    default = Path(tempfile.mkdtemp(prefix="harmonise-default-store-")) / "harmonise.db"
    os.environ["HARMONISE_DATABASE_URL"] = f"sqlite:///{default}"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        used = SLOW_FIXTURES.intersection(getattr(item, "fixturenames", ()))
        if used and item.get_closest_marker("fast"):
            raise pytest.UsageError(f"{item.nodeid} is marked fast but uses {', '.join(sorted(used))}: "
                                    "a fast test needs no database, server or browser")


def minimal_pathway(**overrides) -> dict:
    """A small, convention-following trust pathway to vary in tests (built by hand)."""
    base = "http://harmonise.example.org/fhir"
    ucum = "http://unitsofmeasure.org"

    def step(id_, kind, mode, **timing):
        return {
            "id": id_,
            "title": f"{kind} ({mode})",
            "code": [
                {"coding": [{"system": f"{base}/CodeSystem/pathway-step", "code": kind}]},
                {"coding": [{"system": f"{base}/CodeSystem/contact-mode", "code": mode}]},
            ],
            **timing,
        }

    pathway = {
        "resourceType": "PlanDefinition",
        "id": "rhq-test",
        "meta": {"profile": [f"{base}/StructureDefinition/trust-pathway"]},
        "extension": [
            {
                "url": f"{base}/StructureDefinition/owning-organization",
                "valueIdentifier": {"system": "https://fhir.nhs.uk/Id/ods-organization-code", "value": "RHQ"},
            }
        ],
        "url": "http://rhq.example.org/fhir/PlanDefinition/test",
        "version": "1.0.0",
        "name": "RHQTest",
        "title": "Test pathway",
        "type": {
            "coding": [
                {"system": "http://terminology.hl7.org/CodeSystem/plan-definition-type", "code": "clinical-protocol"}
            ]
        },
        "status": "active",
        "experimental": True,
        "date": "2025-01-01",
        "publisher": "Sheffield Teaching Hospitals NHS Foundation Trust",
        "useContext": [
            {
                "code": {"system": "http://terminology.hl7.org/CodeSystem/usage-context-type", "code": "focus"},
                "valueCodeableConcept": {
                    "coding": [
                        {"system": f"{base}/CodeSystem/pathway-topic", "code": "laparoscopic-cholecystectomy-follow-up"}
                    ]
                },
            },
            {
                "code": {"system": "http://terminology.hl7.org/CodeSystem/usage-context-type", "code": "program"},
                "valueCodeableConcept": {
                    "coding": [{"system": f"{base}/CodeSystem/hosted-network", "code": "gastroenterology"}]
                },
            },
        ],
        "action": [
            step(
                "wound",
                "wound-check",
                "face-to-face",
                trigger=[{"type": "named-event", "name": "day-of-surgery"}],
                timingDuration={"value": 10, "unit": "d", "system": ucum, "code": "d"},
            ),
            step(
                "review",
                "follow-up",
                "telephone",
                timingDuration={"value": 6, "unit": "wk", "system": ucum, "code": "wk"},
            ),
        ],
    }
    pathway.update(overrides)
    return copy.deepcopy(pathway)


def write_json(path: Path, resource: dict) -> Path:
    path.write_bytes(fhirformat.to_json(resource))
    return path
