"""The register of warranted variation (``guidelines/variation-register.yaml``).

An entry says the network agreed that one trust's difference from the guideline has a good
reason, until its ``review_by`` date. After that date the difference counts as unwarranted again
(and is flagged as expired) until the network reviews it: a lapsed justification must not keep
silencing a difference.
"""

from datetime import date
from enum import StrEnum
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError, field_validator

from .conventions import TRUSTS
from .problems import Problem, error

REGISTER_FILE = "variation-register.yaml"


class Dimension(StrEnum):
    PRESENCE = "presence"
    TIMING = "timing"
    COUNT = "count"
    MODE = "mode"
    PARTICIPANT = "participant"
    CONDITION = "condition"


class RegisterEntry(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    trust: str
    topic: str
    #: The guideline action's id, or "" for the whole pathway.
    step: str = ""
    dimension: Dimension
    rationale: str
    agreed_by: str
    agreed_on: date
    review_by: date

    @field_validator("trust")
    @classmethod
    def _known_trust(cls, value: str) -> str:
        if value not in TRUSTS:
            raise ValueError(f"'{value}' is not one of the network's ODS codes ({', '.join(TRUSTS)})")
        return value

    @field_validator("step", mode="before")
    @classmethod
    def _empty_step(cls, value: object) -> object:
        return "" if value is None else value

    def covers(self, trust: str, topic: str, step: str | None, dimension: Dimension) -> bool:
        return (
            self.trust == trust
            and self.topic == topic
            and self.dimension == dimension
            and self.step in ("", step or "")
        )

    def expired(self, today: date) -> bool:
        return self.review_by < today


def read_register(guidelines: Path) -> tuple[list[RegisterEntry], list[Problem]]:
    """The register's entries, and a problem per bad entry (the good ones are still used)."""
    path = guidelines / REGISTER_FILE
    if not path.is_file():
        return [], []
    try:
        data = yaml.safe_load(path.read_text("utf-8"))
    except yaml.YAMLError as exc:
        return [], [error(f"not valid YAML: {exc}", rule="register").located(str(path))]
    if data is None:
        return [], []
    if not isinstance(data, list):
        return [], [error("the register must be a YAML list of entries", rule="register").located(str(path))]
    entries: list[RegisterEntry] = []
    problems: list[Problem] = []
    for index, item in enumerate(data):
        try:
            entries.append(RegisterEntry.model_validate(item))
        except ValidationError as exc:
            for err in exc.errors():
                field = ".".join(str(part) for part in err["loc"])
                message = str(err["msg"]).removeprefix("Value error, ")
                problems.append(
                    error(message, f"[{index}].{field}" if field else f"[{index}]", rule="register").located(str(path))
                )
    return entries, problems
