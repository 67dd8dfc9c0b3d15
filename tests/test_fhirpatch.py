"""$diff's FHIRPath Patch: exact round trips, and one operation per moved or inserted step."""

import copy
import random

import pytest
from fhir.resources.R4B.parameters import Parameters
from hypothesis import given, settings
from hypothesis import strategies as st

from service import fhirformat
from service.fhirpatch import apply, diff

from .conftest import EXTERNAL
from .variation_fixtures import action, q, trust_pathway

pytestmark = pytest.mark.fast  # no database, server process or browser: make test-fast runs it


def operations(patch: dict) -> list[dict]:
    return [{p["name"]: next(v for k, v in p.items() if k != "name") for p in op["part"]} for op in patch["parameter"]]


def pathway(n: int = 4) -> dict:
    return trust_pathway(
        "RHQ",
        [
            action(f"s{i}", "follow-up", "telephone", "nurse", f"Review {i}", timingDuration=q(2 * (i + 1), "wk"))
            for i in range(n)
        ],
    )


def test_the_two_published_zika_versions_round_trip_and_the_patch_is_valid_fhir() -> None:
    old = fhirformat.parse_json(
        (EXTERNAL / "json" / "fhir-spec__PlanDefinition-zika-virus-intervention-initial.json").read_bytes()
    )
    new = fhirformat.parse_json(
        (EXTERNAL / "json" / "fhir-spec__PlanDefinition-zika-virus-intervention.json").read_bytes()
    )
    patch = diff(old, new)
    Parameters.model_validate(patch)
    assert apply(old, patch) == new
    assert {
        "type": "replace",
        "path": "PlanDefinition.version",
        "value": "2.0.0",
        "previousValue": "1.0.0",
    } in operations(patch)


def test_a_moved_step_is_one_move() -> None:
    old = pathway()
    new = copy.deepcopy(old)
    new["action"].insert(0, new["action"].pop(3))
    assert operations(diff(old, new)) == [
        {"type": "move", "path": "PlanDefinition.action", "source": 3, "destination": 0}
    ]


def test_an_inserted_step_is_one_insert_and_a_changed_value_one_replace() -> None:
    old = pathway()
    new = copy.deepcopy(old)
    new["action"].insert(2, action("new", "investigation", "none", title="Bloods", timingDuration=q(5, "wk")))
    new["action"][4]["timingDuration"]["value"] = 9
    ops = operations(diff(old, new))
    assert [(o["type"], o["path"]) for o in ops] == [
        ("insert", "PlanDefinition.action"),
        ("replace", "PlanDefinition.action[4].timingDuration.value"),
    ]
    assert ops[0]["index"] == 2 and ops[1]["value"] == 9 and ops[1]["previousValue"] == 8


def test_a_deleted_step_is_one_delete() -> None:
    old = pathway()
    new = copy.deepcopy(old)
    del new["action"][1]
    assert operations(diff(old, new)) == [{"type": "delete", "path": "PlanDefinition.action[1]"}]


@settings(max_examples=80, deadline=None)
@given(seed=st.integers(0, 10_000), size=st.integers(1, 7), edits=st.integers(1, 6))
def test_applying_the_diff_of_a_and_b_to_a_gives_b(seed: int, size: int, edits: int) -> None:
    rng = random.Random(seed)
    old = pathway(size)
    new = copy.deepcopy(old)
    for _ in range(edits):
        choice = rng.randrange(5)
        steps = new["action"]
        if choice == 0 and steps:
            steps.insert(rng.randrange(len(steps) + 1), steps.pop(rng.randrange(len(steps))))
        elif choice == 1:
            steps.insert(
                rng.randrange(len(steps) + 1),
                action(
                    f"n{rng.randrange(999)}", "wound-check", "face-to-face", timingDuration=q(rng.randrange(1, 30), "d")
                ),
            )
        elif choice == 2 and len(steps) > 1:
            steps.pop(rng.randrange(len(steps)))
        elif choice == 3 and steps:
            rng.choice(steps)["title"] = f"Renamed {rng.randrange(99)}"
        else:
            new["title"] = f"Pathway {rng.randrange(99)}"
    patch = diff(old, new)
    Parameters.model_validate(patch)
    assert apply(old, patch) == new
