"""The register of warranted variation: its entries, their FHIR form, and its file form.

An entry says the network agreed that one trust's difference from the guideline has a good
reason, until its ``review_by`` date. After that date the difference counts as unwarranted again
(and is flagged as expired) until the network reviews it: a lapsed justification must not keep
silencing a difference.

In the store each entry is a FHIR ``Basic`` with the ``warranted-variation`` profile
(``to_resource`` / ``from_resource``; docs/profile.md); ``guidelines/variation-register.yaml`` is
the file form that ``harmonise load`` imports and ``harmonise export`` writes.
"""

import hashlib
from datetime import date
from pathlib import Path
from typing import Any, Final

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError, field_validator

from . import conventions as c
from .conventions import TRUSTS
from .fhirformat import JsonDict
from .problems import Problem, error
from .variation.dimension import Dimension

REGISTER_FILE = "variation-register.yaml"


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
    #: Set when the network ended the entry (``harmonise register retire``): it warrants nothing from then
    #: on, and is kept, with why, as the record of what was once agreed.
    retired_on: date | None = None
    retired_because: str | None = None

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
            self.retired_on is None
            and self.trust == trust
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


# --- the FHIR form: a Basic with the warranted-variation profile ---------------------------------------

#: The order entries are written in the YAML file (the order the file has always used); the retirement
#: fields only for entries that have them.
_FILE_FIELDS: Final = ("trust", "topic", "step", "dimension", "rationale", "agreed_by", "agreed_on", "review_by",
                       "retired_on", "retired_because")


def entry_id(trust: str, topic: str, step: str, dimension: str) -> str:
    """The resource id of the entry for this difference: one entry per (trust, topic, step, dimension).

    Made from the key, so that the same entry in the file and in the store are one resource, and
    within FHIR's 64 characters whatever the topic's length.

    >>> entry_id("RCU", "tonsillectomy-follow-up", "sleep-review", "mode")
    'wv-rcu-2d9d5ffa5c6a2910'
    """
    digest = hashlib.sha256(f"{trust}|{topic}|{step}|{dimension}".encode()).hexdigest()[:16]
    return f"wv-{trust.lower()}-{digest}"


def _extension(resource: JsonDict, url: str) -> dict[str, Any] | None:
    for extension in resource.get("extension") or []:
        if isinstance(extension, dict) and extension.get("url") == url:
            return extension
    return None


def to_resource(entry: RegisterEntry) -> JsonDict:
    """The entry as a FHIR ``Basic`` (profile ``warranted-variation``)."""
    extensions: list[JsonDict] = [
        {"url": c.VARIATION_TOPIC_EXTENSION, "valueCoding": {"system": c.PATHWAY_TOPIC_SYSTEM, "code": entry.topic}}]
    if entry.step:
        extensions.append({"url": c.VARIATION_STEP_EXTENSION, "valueString": entry.step})
    extensions += [
        {"url": c.VARIATION_DIMENSION_EXTENSION, "valueCode": entry.dimension.value},
        {"url": c.VARIATION_RATIONALE_EXTENSION, "valueString": entry.rationale},
        {"url": c.VARIATION_REVIEW_BY_EXTENSION, "valueDate": entry.review_by.isoformat()},
    ]
    if entry.retired_on is not None:
        extensions.append({"url": c.VARIATION_RETIRED_EXTENSION, "extension": [
            {"url": "date", "valueDate": entry.retired_on.isoformat()},
            {"url": "reason", "valueString": entry.retired_because or "(no reason given)"}]})
    return {
        "resourceType": "Basic",
        "id": entry_id(entry.trust, entry.topic, entry.step, entry.dimension.value),
        "meta": {"profile": [c.WARRANTED_VARIATION_PROFILE]},
        "extension": extensions,
        "code": {"coding": [{"system": c.REGISTER_ENTRY_TYPE_SYSTEM, "code": c.WARRANTED_VARIATION_CODE,
                             "display": "Warranted variation"}]},
        "subject": {"reference": f"Organization/{entry.trust}",
                    "identifier": {"system": c.ODS_SYSTEM, "value": entry.trust}, "display": TRUSTS[entry.trust]},
        "created": entry.agreed_on.isoformat(),
        "author": {"display": entry.agreed_by},
    }


def is_register_entry(resource: JsonDict) -> bool:
    profiles = (resource.get("meta") or {}).get("profile") or []
    return resource.get("resourceType") == "Basic" and c.WARRANTED_VARIATION_PROFILE in profiles


def from_resource(resource: JsonDict) -> RegisterEntry:
    """The entry a ``warranted-variation`` Basic holds; ValueError naming the element when it holds none."""
    def value(url: str, key: str, name: str, required: bool = True) -> Any:
        found = _extension(resource, url)
        if found is None or found.get(key) is None:
            if required:
                raise ValueError(f"Basic.extension('{url}').{key}: the register entry's {name} is missing")
            return None
        return found[key]

    subject = (resource.get("subject") or {}).get("identifier") or {}
    topic = value(c.VARIATION_TOPIC_EXTENSION, "valueCoding", "topic")
    try:
        return RegisterEntry.model_validate({
            "trust": subject.get("value") or "",
            "topic": topic.get("code") if isinstance(topic, dict) else "",
            "step": value(c.VARIATION_STEP_EXTENSION, "valueString", "step", required=False) or "",
            "dimension": value(c.VARIATION_DIMENSION_EXTENSION, "valueCode", "dimension"),
            "rationale": value(c.VARIATION_RATIONALE_EXTENSION, "valueString", "rationale"),
            "agreed_by": (resource.get("author") or {}).get("display") or "",
            "agreed_on": resource.get("created") or "",
            "review_by": value(c.VARIATION_REVIEW_BY_EXTENSION, "valueDate", "review date"),
            **_retirement(_extension(resource, c.VARIATION_RETIRED_EXTENSION)),
        })
    except ValidationError as exc:
        first = exc.errors()[0]
        raise ValueError(f"Basic ({'.'.join(str(p) for p in first['loc'])}): "
                         f"{str(first['msg']).removeprefix('Value error, ')}") from None


def _retirement(extension: dict[str, Any] | None) -> dict[str, Any]:
    if extension is None:
        return {}
    parts = {part.get("url"): part for part in extension.get("extension") or [] if isinstance(part, dict)}
    return {"retired_on": (parts.get("date") or {}).get("valueDate"),
            "retired_because": (parts.get("reason") or {}).get("valueString")}


def register_yaml(entries: list[RegisterEntry]) -> str:
    """The file form of the register, entries in a stable order (trust, topic, step, dimension)."""
    ordered = sorted(entries, key=lambda e: (e.topic, e.trust, e.step, e.dimension.value))
    items = [{name: (value if isinstance(value, date) else str(value))
              for name in _FILE_FIELDS for value in [getattr(entry, name)] if value is not None} for entry in ordered]
    header = ("# Register of warranted variation, written by `harmonise export` from the store (the record).\n"
              "# Fields: docs/profile.md, \"The variation register\". `harmonise load` imports this file.\n")
    return header + yaml.safe_dump(items, sort_keys=False, allow_unicode=True, width=100)


def entry_problems(resource: JsonDict) -> list[Problem]:
    """Why a valid FHIR Basic cannot be stored as a register entry (its profile, its fields), or nothing."""
    if not is_register_entry(resource):
        return [error(f"this server holds Basic resources only as register entries, with the profile "
                      f"{c.WARRANTED_VARIATION_PROFILE} in meta.profile", "Basic.meta.profile", rule="register")]
    try:
        from_resource(resource)
    except ValueError as exc:
        return [error(str(exc), "Basic", rule="register")]
    return []
