"""A pathway's workbook rows to a trust-pathway PlanDefinition, and back (docs/spreadsheets.md).

Pure: rows in, FHIR JSON out (``to_plan_definition``), and FHIR JSON in, rows out (``to_rows``).
No store, no files: the application layer reads the workbook and the store, and writes.

What a workbook cannot show of a stored pathway is kept, never dropped:

- a step's timing that no When cell can say (a relatedAction chain with an own timing, calendar
  dates, an age, repeats with an end bound ...), its participants or conditions when a cell cannot
  say them: the cell reads ``as stored`` and the row's Note says why; importing keeps the stored
  element of the step with that id;
- steps inside a step (nested actions), and the elements the workbook has no column for (a step's
  description, documentation; the pathway's adopted guideline, jurisdiction ...): kept from the
  stored step with the same id, or the stored pathway, and said in the Note.

Every problem names the sheet, the row, the column and the value (``CellProblem``).
"""

import re
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Final

from .. import conventions as c
from .. import loader, terminology
from ..problems import Problem, Severity
from . import when as words

JsonDict = dict[str, Any]
#: What a cell may hold once read: text, a number, a date (spreadsheets make dates of some text), or nothing.
Cell = str | int | float | Decimal | date | datetime | bool | None

PATHWAY_SHEET: Final = "Pathway"
STEPS_SHEET: Final = "Steps"
#: What a cell says to keep the stored element of a step.
AS_STORED: Final = "as stored"


@dataclass(frozen=True)
class Column:
    key: str
    label: str
    required: bool
    help: str


#: The Pathway sheet: one row per field (label in column A, value in column B).
PATHWAY_FIELDS: Final = (
    Column("trust", "Trust", True, "Your trust's ODS code, e.g. RHQ."),
    Column("topic", "Topic", True, "The pathway topic, from the network's list."),
    Column("version", "Version", True, "A new version number for this schedule, e.g. 1.4.0 (type it as text)."),
    Column("title", "Title", True, "The pathway's name in plain words."),
    Column("status", "Status", True, "active: the schedule your trust follows now; draft: not in use yet; "
                                     "retired: no longer followed."),
    Column("date", "Date", True, "The date of this version, e.g. 2026-03-01."),
    Column("index_event", "Index event", True, "What every step's timing is counted from (set by the topic)."),
    Column("description", "Description", False, "Who the pathway is for, in plain words (optional)."),
    Column("illustrative", "Illustrative sample content", True,
           "Yes for example content that is not for clinical use; No for your trust's real schedule."),
)
#: The Steps sheet: one row per step, these columns.
STEP_COLUMNS: Final = (
    Column("id", "Step id", False, "A short name for the step, unique in the pathway (e.g. clinic-6wk). "
                                   "Leave empty to have one made from What happens."),
    Column("title", "What happens", True, "The step in plain words, e.g. 'Wound check at the GP practice'."),
    Column("kind", "Kind", True, "What kind of step it is (choose from the list)."),
    Column("mode", "How", True, "How the patient is seen (choose from the list)."),
    Column("when", "When", True, "When it happens, counted from the index event: '6 weeks', 'day 10', "
                                 "'days 0-14', '2 to 4 weeks', or from another step: '2 weeks after step clinic'."),
    Column("repeats", "Repeats", False, "For a step that repeats: 'every 3 months, 4 times' (When is then the "
                                        "first time). Leave empty for a step that happens once."),
    Column("who", "Who", False, "Who delivers it (choose from the list; several separated by ';')."),
    Column("patients", "For which patients", False, "Only if the step is not for every patient: who it is for, "
                                                    "in plain words."),
    Column("required", "Required or optional", False, "Required, Optional, or Required unless documented."),
    Column("note", "Note (not imported)", False, "Written by Harmonise: what this workbook cannot show of the "
                                                 "step. Anything you write here is not imported."),
)
_PATHWAY_LABEL: Final = {column.key: column.label for column in PATHWAY_FIELDS}
_STEP_LABEL: Final = {column.key: column.label for column in STEP_COLUMNS}

STATUSES: Final = ("active", "draft", "retired")
REQUIRED_WORDS: Final = {"Required": "must", "Optional": "could",
                         "Required unless documented": "must-unless-documented"}
YES_NO: Final = ("Yes", "No")


@dataclass(frozen=True)
class CellProblem:
    """One thing wrong in a workbook, where a pathway lead can find it."""

    sheet: str
    row: int | None
    column: str | None
    value: str | None
    message: str

    def __str__(self) -> str:
        where = self.sheet + (f" row {self.row}" if self.row is not None else "")
        where += f", {self.column}" if self.column else ""
        return f"{where}: '{self.value}' {self.message}" if self.value else f"{where}: {self.message}"

    def as_json(self) -> JsonDict:
        return {"sheet": self.sheet, "row": self.row, "column": self.column, "value": self.value,
                "message": self.message, "text": str(self)}


@dataclass(frozen=True)
class StepRow:
    row: int
    cells: dict[str, Cell]


@dataclass
class Rows:
    """A workbook as read: the Pathway sheet's values (and their row numbers), the Steps sheet's rows."""

    pathway: dict[str, Cell] = field(default_factory=dict)
    pathway_rows: dict[str, int | None] = field(default_factory=dict)
    #: Where the pathway's values came from, for messages: the Pathway sheet, or the command's options (CSV).
    pathway_sheet: str = PATHWAY_SHEET
    steps: list[StepRow] = field(default_factory=list)
    #: Problems found reading the file itself (missing sheets or columns).
    problems: list[CellProblem] = field(default_factory=list)


@dataclass
class Sheets:
    """A pathway as workbook cells (text), for writing: the Pathway sheet's values and one dict per step."""

    pathway: dict[str, str]
    steps: list[dict[str, str]]
    #: What could not be expressed in cells, in words, one line per step concerned.
    notes: list[str] = field(default_factory=list)

    def content(self) -> tuple[tuple[tuple[str, str], ...], tuple[tuple[tuple[str, str], ...], ...]]:
        """What the cells say, without the notes: equal exactly when two pathways read the same in a workbook."""
        return (tuple(sorted(self.pathway.items())),
                tuple(tuple(sorted((k, v) for k, v in step.items() if k != "note")) for step in self.steps))


# Terminology: the drop-down lists, and reading a cell as a code.


def choices(system: str) -> list[tuple[str, str]]:
    """(code, display) of each concept of a network code system, in its order."""
    return [(concept.code, concept.display) for concept in terminology.code_system(system).concepts.values()]


def _lookup(text: str, system: str) -> str | None:
    """The code a cell names, by code or display (any case)."""
    wanted = text.strip().casefold()
    return next((code for code, display in choices(system) if wanted in (code.casefold(), display.casefold())), None)


# Cells to text.


class _Refused(ValueError):
    pass


def _text(value: Cell, *, allow_date: bool = False) -> str:
    """A cell as text; a date or a fractional number where words were expected is refused (the spreadsheet
    program may have changed what was typed: '2-4' into 2 April, '2.10' into 2.1)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "Yes" if value else "No"
    if isinstance(value, datetime | date):
        if allow_date:
            return (value.date() if isinstance(value, datetime) else value).isoformat()
        raise _Refused("is a date: the spreadsheet program may have turned what was typed into a date; format the "
                       "cell as Text and type it again")
    if isinstance(value, float | Decimal):
        if value == int(value):
            return str(int(value))
        raise _Refused("is a number with decimals: format the cell as Text and type it again, so that nothing is "
                       "rounded or changed (2.10 would be read as 2.1)")
    if isinstance(value, int):
        return str(value)
    return " ".join(str(value).split())


def _shown(value: Cell) -> str:
    if isinstance(value, datetime | date):
        return value.isoformat()
    return "" if value is None else str(value)


_SLUG: Final = re.compile(r"[^a-z0-9]+")
_STEP_ID: Final = re.compile(r"[A-Za-z0-9][A-Za-z0-9.\-_]{0,63}")


def _slug(text: str) -> str:
    return _SLUG.sub("-", text.lower()).strip("-")[:40].strip("-")


def _camel(text: str, limit: int = 8) -> str:
    parts = [part for part in re.split(r"[^A-Za-z0-9]+", text) if part][:limit]
    name = "".join(part[:1].upper() + part[1:] for part in parts)
    return name if name[:1].isalpha() else f"X{name}"


def pathway_id(trust: str, topic: str) -> str:
    """The id of a trust's first pathway for a topic: ``<ods>-<topic>``, lower case."""
    return f"{trust}-{topic}".lower()


# Rows to FHIR.


@dataclass
class _Reading:
    problems: list[CellProblem] = field(default_factory=list)

    def pathway(self, rows: Rows, key: str, value: str, message: str) -> None:
        self.problems.append(CellProblem(rows.pathway_sheet, rows.pathway_rows.get(key), _PATHWAY_LABEL[key],
                                         value or None, message))

    def step(self, row: int, key: str, value: str | None, message: str) -> None:
        self.problems.append(CellProblem(STEPS_SHEET, row, _STEP_LABEL[key], value or None, message))


@dataclass(frozen=True)
class Converted:
    """A workbook converted: the PlanDefinition (None when any problem was found), the problems, and
    the loader's warnings (convention gaps that do not stop an import)."""

    resource: JsonDict | None
    problems: list[CellProblem]
    warnings: list[str] = field(default_factory=list)


def _pathway_fields(rows: Rows, stored: JsonDict | None, reading: _Reading) -> dict[str, str]:
    values: dict[str, str] = {}
    for column in PATHWAY_FIELDS:
        if column.key not in rows.pathway_rows:
            reading.problems.append(CellProblem(PATHWAY_SHEET, None, "Field", column.label,
                                                "is missing: the sheet needs a row with this field"))
            continue
        raw = rows.pathway.get(column.key)
        try:
            text = _text(raw, allow_date=column.key == "date")
        except _Refused as refused:
            reading.pathway(rows, column.key, _shown(raw), str(refused))
            continue
        if not text and column.required:
            reading.pathway(rows, column.key, "", f"is empty: the pathway needs its {column.label.lower()}")
            continue
        values[column.key] = text
    trust = values.get("trust", "").upper()
    if "trust" in values and trust not in c.TRUSTS:
        reading.pathway(rows, "trust", values["trust"], f"is not one of the network's trusts "
                                                        f"({', '.join(sorted(c.TRUSTS))})")
    values["trust"] = trust
    if "topic" in values:
        topic = _lookup(values["topic"], c.PATHWAY_TOPIC_SYSTEM)
        if topic is None:
            reading.pathway(rows, "topic", values["topic"], "is not one of the network's pathway topics (see the "
                                                            "Lists sheet)")
        else:
            values["topic"] = topic
            expected = terminology.topic_index_event(topic)
            given = values.get("index_event")
            if given is not None and expected and given != expected:
                reading.pathway(rows, "index_event", given, f"is not the index event of the topic {topic}: its "
                                                            f"steps are counted from '{expected}'")
    if "version" in values and re.search(r"\s", values["version"]):
        reading.pathway(rows, "version", values["version"], "has spaces: write a version like 1.4.0")
    if "status" in values and values["status"].lower() not in STATUSES:
        reading.pathway(rows, "status", values["status"], f"is not a status ({', '.join(STATUSES)})")
    values["status"] = values.get("status", "").lower()
    if "date" in values:
        try:
            date.fromisoformat(values["date"])
        except ValueError:
            reading.pathway(rows, "date", values["date"], "is not a date like 2026-03-01")
    if "illustrative" in values:
        answer = values["illustrative"].strip().lower()
        if answer not in ("yes", "no", "y", "n", "true", "false"):
            reading.pathway(rows, "illustrative", values["illustrative"], "is not Yes or No")
        values["illustrative"] = "Yes" if answer in ("yes", "y", "true") else "No"
    return values


def _code(system: str, code: str) -> JsonDict:
    return {"system": system, "code": code, "display": terminology.code_system(system).display(code)}


#: The action elements the Steps sheet says; everything else of a stored step with the same id is kept.
_SAID: Final = frozenset({"id", "title", "code", "trigger", "timingDuration", "timingRange", "timingTiming",
                          "timingAge", "timingPeriod", "timingDateTime", "_timingDateTime", "relatedAction",
                          "participant", "condition", "requiredBehavior"})
_TIMING_ELEMENTS: Final = ("timingDuration", "timingRange", "timingTiming", "timingAge", "timingPeriod",
                           "timingDateTime", "_timingDateTime", "relatedAction")


def _row_ids(rows: Rows, reading: _Reading) -> list[str]:
    """Each row's step id: as written, or made from What happens (unique)."""
    ids: list[str] = []
    given: dict[str, int] = {}
    for step in rows.steps:
        try:
            text = _text(step.cells.get("id"))
        except _Refused as refused:
            reading.step(step.row, "id", _shown(step.cells.get("id")), str(refused))
            text = ""
        if text and not _STEP_ID.fullmatch(text):
            reading.step(step.row, "id", text, "is not a step id: use letters, digits and '-' (no spaces), at most 64")
        elif text in given:
            reading.step(step.row, "id", text, f"is already the id of the step in row {given[text]}")
        if text:
            given.setdefault(text, step.row)
        ids.append(text)
    made: list[str] = []
    for index, (step, text) in enumerate(zip(rows.steps, ids, strict=True)):
        if text:
            made.append(text)
            continue
        title = step.cells.get("title")
        base = _slug(title if isinstance(title, str) else "") or f"step-{index + 1}"
        candidate, n = base, 2
        while candidate in given or candidate in made:
            candidate, n = f"{base}-{n}", n + 1
        made.append(candidate)
    return made


def _kept(stored_step: JsonDict | None, what: str, row: int, key: str, reading: _Reading) -> JsonDict | None:
    if stored_step is None:
        reading.step(row, key, AS_STORED, f"keeps the stored {what}, but the trust's stored pathway has no step with "
                                          "this Step id: write the " + what + " in words")
    return stored_step


def _step(step: StepRow, step_id: str, ids: set[str], stored_step: JsonDict | None, reading: _Reading
          ) -> JsonDict:
    cells: dict[str, str] = {}
    for column in STEP_COLUMNS:
        raw = step.cells.get(column.key)
        try:
            cells[column.key] = _text(raw)
        except _Refused as refused:
            reading.step(step.row, column.key, _shown(raw), str(refused))
            cells[column.key] = ""
            continue
        if column.required and not cells[column.key]:
            reading.step(step.row, column.key, None, f"is empty: every step needs {column.label}")
    action: JsonDict = {key: value for key, value in (stored_step or {}).items() if key not in _SAID}
    action = {"id": step_id, "title": cells["title"], **action}
    kind = _lookup(cells["kind"], c.PATHWAY_STEP_SYSTEM) if cells["kind"] else None
    if cells["kind"] and kind is None:
        reading.step(step.row, "kind", cells["kind"], "is not a kind of step in the network's list (see the Lists "
                                                      "sheet)")
    mode = _lookup(cells["mode"], c.CONTACT_MODE_SYSTEM) if cells["mode"] else None
    if cells["mode"] and mode is None:
        reading.step(step.row, "mode", cells["mode"], "is not a contact mode in the network's list (see the Lists "
                                                      "sheet)")
    action["code"] = [{"coding": [_code(c.PATHWAY_STEP_SYSTEM, kind or "")]},
                      {"coding": [_code(c.CONTACT_MODE_SYSTEM, mode or "")]}]
    _timing(step, cells, action, ids - {step_id}, stored_step, reading)
    _who(step, cells["who"], action, stored_step, reading)
    _patients(step, cells["patients"], action, stored_step, reading)
    if cells["required"]:
        behaviour = next((code for label, code in REQUIRED_WORDS.items()
                          if cells["required"].casefold() in (label.casefold(), code)), None)
        if behaviour is None:
            reading.step(step.row, "required", cells["required"], f"is not one of {', '.join(REQUIRED_WORDS)}")
        else:
            action["requiredBehavior"] = behaviour
    return action


def _timing(step: StepRow, cells: dict[str, str], action: JsonDict, others: set[str], stored_step: JsonDict | None,
            reading: _Reading) -> None:
    text, repeats = cells["when"], cells["repeats"]
    if text.casefold() == AS_STORED:
        kept = _kept(stored_step, "timing", step.row, "when", reading)
        if kept is not None:
            if repeats:
                reading.step(step.row, "repeats", repeats, "cannot be given for a step whose When is 'as stored'")
            action.update({key: kept[key] for key in _TIMING_ELEMENTS if key in kept})
        return
    # A new timing replaces any the stored step had, also one set by an expression.
    if "dynamicValue" in action:
        action["dynamicValue"] = [d for d in action["dynamicValue"] if not str(d.get("path", "")).startswith("timing")]
        if not action["dynamicValue"]:
            del action["dynamicValue"]
    if not text:
        return
    try:
        found = words.parse_when(text)
    except words.CellError as exc:
        reading.step(step.row, "when", text, str(exc))
        return
    if found.related is not None:
        target, relationship = found.related
        if target not in others:
            listed = ", ".join(sorted(others)) or "none"
            reading.step(step.row, "when", text, f"names the step '{target}', which is not another step of this sheet "
                                                 f"(the Step ids are: {listed})")
        related: JsonDict = {"actionId": target, "relationship": relationship}
        if found.duration is not None:
            related["offsetDuration"] = found.duration
        elif found.window is not None:
            related["offsetRange"] = found.window
        action["relatedAction"] = [related]
    if repeats:
        try:
            repeat = words.parse_repeats(repeats)
        except words.CellError as exc:
            reading.step(step.row, "repeats", repeats, str(exc))
            return
        if found.related is not None or found.duration is None:
            reading.step(step.row, "when", text, "is not one day from the index event, so it cannot be the first time "
                                                 "of a repeating step (write e.g. 'week 6')")
            return
        action["timingTiming"] = {"repeat": {"boundsRange": {"low": found.duration}, "count": repeat.count,
                                             "period": repeat.period, "periodUnit": repeat.period_unit}}
    elif found.related is None:
        if found.duration is not None:
            action["timingDuration"] = found.duration
        else:
            action["timingRange"] = found.window
    if stored_step is not None and _same_timing(stored_step, action):
        # The same days in the same words: keep the stored elements as they are (e.g. a repeat's frequency 1).
        for key in _TIMING_ELEMENTS:
            action.pop(key, None)
            if key in stored_step:
                action[key] = stored_step[key]


def _same_timing(stored_step: JsonDict, action: JsonDict) -> bool:
    try:
        return words.write_timing(stored_step) == words.write_timing(action)
    except words.NotExpressible:
        return False


def _role_codes(participants: Any) -> list[str] | None:
    """The care-role code of each participant, if every one has exactly one (else None)."""
    codes = []
    for participant in participants or []:
        role = participant.get("role") if isinstance(participant, dict) else None
        coding = (role or {}).get("coding") or []
        if len(coding) != 1 or coding[0].get("system") != c.CARE_ROLE_SYSTEM:
            return None
        codes.append(coding[0].get("code"))
    return codes


def _who(step: StepRow, text: str, action: JsonDict, stored_step: JsonDict | None, reading: _Reading) -> None:
    if text.casefold() == AS_STORED:
        kept = _kept(stored_step, "participants", step.row, "who", reading)
        if kept is not None and kept.get("participant"):
            action["participant"] = kept["participant"]
        return
    if not text:
        return
    codes = []
    for part in (p.strip() for p in text.split(";")):
        code = _lookup(part, c.CARE_ROLE_SYSTEM) if part else None
        if code is None:
            reading.step(step.row, "who", part or text, "is not a care role in the network's list (see the Lists "
                                                        "sheet; several are separated by ';')")
            return
        codes.append(code)
    stored = (stored_step or {}).get("participant")
    if stored and _role_codes(stored) == codes:
        action["participant"] = stored  # the same roles: keep what else the store says of them (e.g. their text)
    else:
        action["participant"] = [{"type": "practitioner", "role": {"coding": [_code(c.CARE_ROLE_SYSTEM, code)]}}
                                 for code in codes]


def _patients(step: StepRow, text: str, action: JsonDict, stored_step: JsonDict | None, reading: _Reading) -> None:
    stored = (stored_step or {}).get("condition")
    if text.casefold() == AS_STORED:
        kept = _kept(stored_step, "conditions", step.row, "patients", reading)
        if kept is not None and stored:
            action["condition"] = stored
        return
    if not text:
        return
    if stored and len(stored) == 1 and " ".join(str((stored[0].get("expression") or {}).get("description", ""))
                                                .split()) == text:
        action["condition"] = stored  # the same words: keep the stored identifier
        return
    action["condition"] = [{"kind": "applicability", "expression": {
        "description": text, "language": "text/cql-identifier", "expression": _camel(text)}}]


def to_plan_definition(rows: Rows, resource_id: str | None = None, stored: JsonDict | None = None) -> Converted:
    """The trust-pathway PlanDefinition a workbook says, or every problem found in it.

    ``stored`` is the trust's current pathway for the topic (if any): its id is kept, and what the
    workbook cannot show is kept from it (see the module's docstring). ``resource_id`` is the id of
    a new pathway (default ``<ods>-<topic>``).
    """
    reading = _Reading(list(rows.problems))
    values = _pathway_fields(rows, stored, reading)
    if not rows.steps:
        reading.problems.append(CellProblem(STEPS_SHEET, None, None, None, "has no steps: write one row per step"))
    ids = _row_ids(rows, reading)
    stored_steps = _stored_steps(stored)
    actions = [_step(step, step_id, set(ids), stored_steps.get(step_id), reading)
               for step, step_id in zip(rows.steps, ids, strict=True)]
    if reading.problems:
        return Converted(None, reading.problems)
    trust, topic = values["trust"], values["topic"]
    index_event = values["index_event"]
    first = actions[0]
    others = [t for t in first.get("trigger") or [] if t.get("type") != "named-event"]
    first["trigger"] = [{"type": "named-event", "name": index_event}, *others]
    for action in actions[1:]:
        kept = [t for t in action.get("trigger") or [] if t.get("type") != "named-event"]
        if kept:
            action["trigger"] = kept
        else:
            action.pop("trigger", None)
    resource = _resource(values, actions, resource_id or (stored or {}).get("id") or pathway_id(trust, topic), stored)
    problems = _checked(resource, rows, reading)
    if problems[0]:
        return Converted(None, problems[0])
    return Converted(resource, [], problems[1])


def _stored_steps(stored: JsonDict | None) -> dict[str, JsonDict]:
    """The stored pathway's steps by the id the workbook gives them (``step-<n>`` for a step without one)."""
    return {_exported_id(action, index): action for index, action in enumerate((stored or {}).get("action") or [])
            if isinstance(action, dict)}


def _exported_id(action: JsonDict, index: int) -> str:
    own = action.get("id")
    return own if isinstance(own, str) and own else f"step-{index + 1}"


def _resource(values: dict[str, str], actions: list[JsonDict], resource_id: str, stored: JsonDict | None) -> JsonDict:
    trust, topic = values["trust"], values["topic"]
    network = terminology.topic_network(topic) or ""
    kept = {key: value for key, value in (stored or {}).items()
            if key not in ("resourceType", "id", "meta", "text", "extension", "url", "version", "name", "title", "type",
                           "status", "experimental", "date", "publisher", "description", "useContext", "action")}
    profiles = [p for p in ((stored or {}).get("meta") or {}).get("profile") or []
                if p not in (c.TRUST_PATHWAY_PROFILE, c.NETWORK_GUIDELINE_PROFILE)]
    extensions = [e for e in (stored or {}).get("extension") or [] if e.get("url") != c.OWNING_ORGANIZATION_EXTENSION]
    contexts = [u for u in (stored or {}).get("useContext") or []
                if (u.get("code") or {}).get("code") not in ("focus", "program")]
    description = values.get("description") or (stored or {}).get("description") or (
        ("ILLUSTRATIVE SAMPLE CONTENT, not for clinical use. " if values["illustrative"] == "Yes" else "")
        + f"{terminology.topics().display(topic)}. Index event: {values['index_event']}; every step's timing is "
        "counted from it.")
    return {
        "resourceType": "PlanDefinition",
        "id": resource_id,
        "meta": {"profile": [c.TRUST_PATHWAY_PROFILE, *profiles]},
        "extension": [{"url": c.OWNING_ORGANIZATION_EXTENSION,
                       "valueIdentifier": {"system": c.ODS_SYSTEM, "value": trust}}, *extensions],
        "url": (stored or {}).get("url") or f"{c.BASE}/PlanDefinition/{resource_id}",
        "version": values["version"],
        "name": (stored or {}).get("name") or _camel(f"{trust} {topic}", limit=20),
        "title": values["title"],
        "type": {"coding": [{"system": c.PLAN_DEFINITION_TYPE_SYSTEM, "code": "clinical-protocol",
                             "display": "Clinical Protocol"}]},
        "status": values["status"],
        "experimental": values["illustrative"] == "Yes",
        "date": values["date"],
        "publisher": c.TRUSTS[trust],
        "description": description,
        "useContext": [
            {"code": {"system": c.USAGE_CONTEXT_TYPE_SYSTEM, "code": "focus"},
             "valueCodeableConcept": {"coding": [_code(c.PATHWAY_TOPIC_SYSTEM, topic)]}},
            {"code": {"system": c.USAGE_CONTEXT_TYPE_SYSTEM, "code": "program"},
             "valueCodeableConcept": {"coding": [_code(c.HOSTED_NETWORK_SYSTEM, network)]}},
            *contexts,
        ],
        **kept,
        "action": actions,
    }


_ACTION_PATH: Final = re.compile(r"PlanDefinition\.action\[(\d+)\]")


def _checked(resource: JsonDict, rows: Rows, reading: _Reading) -> tuple[list[CellProblem], list[str]]:
    """The loader's errors (and any step whose days cannot be worked out) on the row they come from; its warnings."""
    _plan, pathway, problems = loader.check_plan_definition(resource)
    found: list[CellProblem] = []
    warnings: list[str] = []
    for problem in problems:
        (found.append(_located(problem, rows)) if problem.severity is Severity.ERROR
         else warnings.append(str(_located(problem, rows))))
    if pathway is not None:
        for step in pathway.steps:
            match = _ACTION_PATH.match(step.path)
            row = rows.steps[int(match[1])] if match else None
            if step.timing.not_comparable and row is not None and \
                    _text(row.cells.get("when")).casefold() != AS_STORED:
                found.append(CellProblem(STEPS_SHEET, row.row, "When", _text(row.cells.get("when")) or None,
                                         f"cannot be given a day: {step.timing.not_comparable}"))
    return found, warnings


def _located(problem: Problem, rows: Rows) -> CellProblem:
    match = _ACTION_PATH.match(problem.path or "")
    if match and int(match[1]) < len(rows.steps):
        return CellProblem(STEPS_SHEET, rows.steps[int(match[1])].row, None, None,
                           f"{problem.message} ({problem.path})")
    return CellProblem(PATHWAY_SHEET, None, None, None, f"{problem.message} ({problem.path or 'the pathway'})")


# FHIR to rows.


def _coded(action: JsonDict, system: str) -> str | None:
    codes = [coding.get("code") for concept in action.get("code") or [] for coding in concept.get("coding") or []
             if coding.get("system") == system]
    if len(codes) != 1 or not isinstance(codes[0], str):
        return None
    return terminology.code_system(system).display(codes[0]) if codes[0] in terminology.code_system(system) \
        else codes[0]


def _owner(resource: JsonDict) -> str:
    return next((str(e["valueIdentifier"].get("value", "")) for e in resource.get("extension") or []
                 if e.get("url") == c.OWNING_ORGANIZATION_EXTENSION and isinstance(e.get("valueIdentifier"), dict)),
                "")


def _topic(resource: JsonDict) -> str:
    return next((str(coding.get("code")) for context in resource.get("useContext") or []
                 for coding in (context.get("valueCodeableConcept") or {}).get("coding") or []
                 if coding.get("system") == c.PATHWAY_TOPIC_SYSTEM), "")


def to_rows(resource: JsonDict) -> Sheets:
    """A stored pathway as workbook cells, with what the cells cannot say kept and noted (never dropped)."""
    topic = _topic(resource)
    actions = [a for a in resource.get("action") or [] if isinstance(a, dict)]
    trigger = next((t.get("name") for t in (actions[0].get("trigger") or []) if t.get("type") == "named-event"),
                   None) if actions else None
    pathway = {
        "trust": _owner(resource), "topic": topic, "version": str(resource.get("version") or ""),
        "title": str(resource.get("title") or ""), "status": str(resource.get("status") or ""),
        "date": str(resource.get("date") or "")[:10],
        "index_event": str(trigger or (terminology.topic_index_event(topic) if topic else "") or ""),
        "description": str(resource.get("description") or ""),
        "illustrative": "Yes" if resource.get("experimental") else "No",
    }
    steps, notes = [], []
    for index, action in enumerate(actions):
        row, said = _step_cells(action, index)
        steps.append(row)
        if said:
            notes.append(f"Step '{row['id']}' (row {index + 2}): {' '.join(said)}")
    return Sheets(pathway, steps, notes)


def _step_cells(action: JsonDict, index: int) -> tuple[dict[str, str], list[str]]:
    notes: list[str] = []
    row = {"id": _exported_id(action, index), "title": " ".join(str(action.get("title") or "").split()),
           "kind": _coded(action, c.PATHWAY_STEP_SYSTEM) or "", "mode": _coded(action, c.CONTACT_MODE_SYSTEM) or ""}
    if not action.get("id"):
        notes.append(f"The step has no id in the store; the workbook calls it {row['id']}.")
    if not row["title"]:
        notes.append("The step has no title: write What happens before importing.")
    if not row["kind"] or not row["mode"]:
        notes.append("Its kind or contact mode is not one coding of the network's lists: choose them before importing.")
    try:
        row["when"], row["repeats"] = words.write_timing(action)
    except words.NotExpressible as reason:
        row["when"], row["repeats"] = AS_STORED, ""
        notes.append(f"When is kept as stored: {reason}.")
    participants = action.get("participant") or []
    codes = _role_codes(participants)
    if codes is None:
        row["who"] = AS_STORED
        notes.append("Who is kept as stored: a participant has no single care role of the network's list.")
    else:
        row["who"] = "; ".join(terminology.code_system(c.CARE_ROLE_SYSTEM).display(code) for code in codes)
    conditions = action.get("condition") or []
    described = [" ".join(str((cond.get("expression") or {}).get("description") or "").split())
                 for cond in conditions if isinstance(cond, dict) and cond.get("kind") == "applicability"]
    if not conditions:
        row["patients"] = ""
    elif len(conditions) == 1 and len(described) == 1 and described[0]:
        row["patients"] = described[0]
    else:
        row["patients"] = AS_STORED
        notes.append("For which patients is kept as stored: the step has several conditions, or one without words.")
    behaviour = action.get("requiredBehavior")
    row["required"] = next((label for label, code in REQUIRED_WORDS.items() if code == behaviour), "")
    inner = [a for a in action.get("action") or [] if isinstance(a, dict)]
    if inner:
        titles = ", ".join(f"'{a.get('title') or a.get('id') or '?'}'" for a in inner)
        notes.append(f"It has {len(inner)} step(s) inside it ({titles}), which this workbook cannot show: they are "
                     "kept as stored.")
    row["note"] = " ".join(notes)
    return row, notes
