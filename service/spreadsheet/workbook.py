"""The workbook file (openpyxl) and the Steps sheet as CSV: cells in and out, nothing else.

``write_workbook`` lays out ``Sheets`` as an .xlsx a pathway lead fills in (Instructions, Pathway,
Steps, Lists; drop-down lists from the network's code systems; text cells, so that the spreadsheet
program does not turn "2-4 weeks" into a date or "2.10" into 2.1); ``read_workbook`` and
``read_csv`` read one back as ``Rows`` for ``convert.to_plan_definition``.
"""

import csv
import io
import zipfile
from collections.abc import Iterable, Sequence
from datetime import date
from decimal import Decimal
from typing import Final

from openpyxl import Workbook, load_workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation
from openpyxl.worksheet.worksheet import Worksheet

from .. import conventions as c
from .convert import (
    AS_STORED,
    PATHWAY_FIELDS,
    PATHWAY_SHEET,
    REQUIRED_WORDS,
    STATUSES,
    STEP_COLUMNS,
    STEPS_SHEET,
    YES_NO,
    Cell,
    CellProblem,
    Rows,
    Sheets,
    StepRow,
    choices,
)

INSTRUCTIONS_SHEET: Final = "Instructions"
LISTS_SHEET: Final = "Lists"
#: Rows of the Steps sheet given drop-down lists and text format (more rows still import).
FORMATTED_ROWS: Final = 200
#: At most this many step rows are read: a pathway has tens of steps, never thousands.
MAX_STEPS: Final = 500
#: A workbook larger than this is refused unread (a pathway's workbook is a few tens of kilobytes).
MAX_BYTES: Final = 5_000_000

_HEADER_FILL: Final = PatternFill("solid", fgColor="DDEBF7")
_REQUIRED_FONT: Final = Font(bold=True)
_TEXT: Final = "@"

INSTRUCTIONS: Final = (
    "How to fill in this workbook",
    "",
    "This workbook is your trust's follow-up schedule for one pathway. Harmonise reads it and compares it with the "
    "other trusts of the network. You do not need to know anything about FHIR or computers to fill it in.",
    "",
    "1. The Pathway sheet: check the trust, the topic and the version, and fill in the rest. Give a new version "
    "number each time you send a changed schedule (for example 1.4.0 after 1.3.0).",
    "2. The Steps sheet: one row per step of the schedule (a clinic, a phone call, a test, the discharge). "
    "Columns in bold must be filled in. Choose Kind, How and Who from the drop-down lists.",
    "3. When: count from the index event named on the Pathway sheet (for example the day of surgery). Write:",
    "      one day: '6 weeks', '10 days', 'day 10', 'week 6', 'month 3'",
    "      a window: 'days 0-14', '2 to 4 weeks', 'between 6 and 8 weeks', '6 weeks to 3 months', 'up to 2 weeks'",
    "      from another step: '2 weeks after step clinic', 'after the end of step clinic' (use that step's Step id)",
    "   Units are days, weeks, months and years. A month counts as 30.4375 days (a twelfth of a year), so "
    "'3 months' is day 91. Do not write '2 fortnights' or a number on its own: it will be refused.",
    "4. Repeats: only for a step that happens several times: 'every 3 months, 4 times'. When is then the first time "
    "(for example 'week 6'): week 6, then every 3 months, 4 times in all.",
    "5. For which patients: leave empty if the step is for every patient; otherwise say who, in plain words.",
    "6. Required or optional: Required, Optional, or Required unless documented (leave empty if not agreed).",
    "",
    f"A cell that says '{AS_STORED}' keeps what Harmonise already holds for that step, because this workbook cannot "
    "show it (the Note column says what). Leave it as it is, or write the step's timing in words instead.",
    "Steps inside steps, and details the workbook has no column for, are kept as Harmonise holds them.",
    "",
    "When you import the workbook, Harmonise checks every cell. If anything is wrong, nothing is imported, and you "
    "get a list of every problem with its sheet, row and column, for example: "
    "\"Steps row 4, When: '2 fortnights' is not a duration\". Correct them and import again.",
    "Importing a workbook that says the same as what Harmonise holds changes nothing.",
    "",
    "Illustrative sample content (Yes) is marked as not for clinical use.",
)


def _header(sheet: Worksheet, labels: Iterable[tuple[str, bool]]) -> None:
    for column, (label, required) in enumerate(labels, start=1):
        cell = sheet.cell(row=1, column=column, value=label)
        cell.fill = _HEADER_FILL
        cell.font = _REQUIRED_FONT if required else Font(bold=False, italic=True)
    sheet.freeze_panes = "A2"


def _list_range(column: int, count: int) -> str:
    letter = get_column_letter(column)
    return f"{LISTS_SHEET}!${letter}$2:${letter}${count + 1}"


def _lists(book: Workbook) -> dict[str, str]:
    """The Lists sheet; the range of each list by name."""
    sheet = book.create_sheet(LISTS_SHEET)
    lists = {
        "Kind": [display for _code, display in choices(c.PATHWAY_STEP_SYSTEM)],
        "How": [display for _code, display in choices(c.CONTACT_MODE_SYSTEM)],
        "Who": [display for _code, display in choices(c.CARE_ROLE_SYSTEM)],
        "Required or optional": list(REQUIRED_WORDS),
        "Status": list(STATUSES),
        "Trust": sorted(c.TRUSTS),
        "Topic": [code for code, _display in choices(c.PATHWAY_TOPIC_SYSTEM)],
        "Illustrative": list(YES_NO),
    }
    ranges = {}
    for column, (name, values) in enumerate(lists.items(), start=1):
        sheet.cell(row=1, column=column, value=name).font = _REQUIRED_FONT
        for row, value in enumerate(values, start=2):
            sheet.cell(row=row, column=column, value=value)
        sheet.column_dimensions[get_column_letter(column)].width = max(len(v) for v in [name, *values]) + 2
        ranges[name] = _list_range(column, len(values))
    note = len(lists) + 2
    sheet.cell(row=1, column=note, value="The choices of the drop-down lists: the network's code systems. "
                                         "Please do not change this sheet.")
    return ranges


def _validation(sheet: Worksheet, source: str, cells: str, *, strict: bool = True) -> None:
    validation = DataValidation(type="list", formula1=f"={source}", allow_blank=True,
                                errorStyle="stop" if strict else "warning", showErrorMessage=True,
                                error="Choose a value from the list.", errorTitle="Not in the list")
    validation.add(cells)
    sheet.add_data_validation(validation)


def write_workbook(sheets: Sheets, heading: str) -> bytes:
    """The workbook of ``sheets`` as .xlsx bytes; ``heading`` is the Instructions sheet's first line."""
    book = Workbook()
    instructions = book.active
    assert instructions is not None
    instructions.title = INSTRUCTIONS_SHEET
    instructions.column_dimensions["A"].width = 130
    instructions.cell(row=1, column=1, value=heading).font = Font(bold=True, size=14)
    for row, line in enumerate(INSTRUCTIONS, start=3):
        cell = instructions.cell(row=row, column=1, value=line)
        cell.alignment = Alignment(wrap_text=True, vertical="top")
        if row == 3:
            cell.font = Font(bold=True)
    if sheets.notes:
        row = len(INSTRUCTIONS) + 4
        instructions.cell(row=row, column=1, value="What this workbook cannot show of the stored pathway (kept as "
                                                   "stored):").font = Font(bold=True)
        for offset, note in enumerate(sheets.notes, start=1):
            instructions.cell(row=row + offset, column=1, value=note).alignment = Alignment(wrap_text=True)

    pathway = book.create_sheet(PATHWAY_SHEET)
    _header(pathway, [("Field", True), ("Value", True), ("What to write", False)])
    for row, column in enumerate(PATHWAY_FIELDS, start=2):
        label = pathway.cell(row=row, column=1, value=column.label)
        label.font = _REQUIRED_FONT if column.required else Font()
        value = pathway.cell(row=row, column=2, value=sheets.pathway.get(column.key, ""))
        value.number_format = _TEXT
        pathway.cell(row=row, column=3, value=column.help).alignment = Alignment(wrap_text=True)
    for width, letter in ((28, "A"), (60, "B"), (80, "C")):
        pathway.column_dimensions[letter].width = width

    steps = book.create_sheet(STEPS_SHEET)
    _header(steps, [(column.label, column.required) for column in STEP_COLUMNS])
    for row, step in enumerate(sheets.steps, start=2):
        for index, column in enumerate(STEP_COLUMNS, start=1):
            steps.cell(row=row, column=index, value=step.get(column.key, "") or None)
    last = max(FORMATTED_ROWS, len(sheets.steps) + 50)
    for index, column in enumerate(STEP_COLUMNS, start=1):
        letter = get_column_letter(index)
        steps.column_dimensions[letter].width = {"title": 40, "when": 30, "patients": 40, "note": 60}.get(
            column.key, 22)
        for row in range(2, last + 1):
            steps.cell(row=row, column=index).number_format = _TEXT
        steps.cell(row=1, column=index).alignment = Alignment(wrap_text=True)

    ranges = _lists(book)
    fields = {column.key: row for row, column in enumerate(PATHWAY_FIELDS, start=2)}
    for key, name in (("trust", "Trust"), ("topic", "Topic"), ("status", "Status"), ("illustrative", "Illustrative")):
        _validation(pathway, ranges[name], f"B{fields[key]}")
    column_of = {column.key: get_column_letter(index) for index, column in enumerate(STEP_COLUMNS, start=1)}
    for key, name, strict in (("kind", "Kind", True), ("mode", "How", True), ("who", "Who", False),
                              ("required", "Required or optional", True)):
        _validation(steps, ranges[name], f"{column_of[key]}2:{column_of[key]}{last}", strict=strict)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _cell(value: object) -> Cell:
    """An openpyxl value as a ``Cell``: rich text, times and anything else odd as its text."""
    if value is None or isinstance(value, str | bool | int | float | Decimal | date):
        return value
    return str(value)


def _label_key(columns: Iterable, label: object) -> str | None:
    if not isinstance(label, str):
        return None
    wanted = " ".join(label.split()).casefold()
    for column in columns:
        known = column.label.casefold()
        if wanted == known or (column.key == "note" and wanted.startswith("note")):
            return str(column.key)
    return None


def _steps(header: Sequence[object], body: Iterable[tuple[int, list[Cell]]], rows: Rows, sheet: str) -> None:
    keys = [_label_key(STEP_COLUMNS, label) for label in header]
    for column in STEP_COLUMNS:
        if column.required and column.key not in keys:
            rows.problems.append(CellProblem(sheet, 1, column.label, None, "is missing: the sheet needs this column"))
    for number, values in body:
        cells = {key: value for key, value in zip(keys, values) if key is not None and key != "note"}
        if all(value is None or (isinstance(value, str) and not value.strip()) for value in cells.values()):
            continue  # an empty row: nothing in it to import
        if len(rows.steps) == MAX_STEPS:
            rows.problems.append(CellProblem(sheet, number, None, None, f"is beyond the first {MAX_STEPS} steps: "
                                                                        "a pathway has no more steps than that"))
            return
        rows.steps.append(StepRow(number, cells))


def read_workbook(data: bytes) -> Rows:
    """A workbook's Pathway and Steps sheets as ``Rows`` (problems for a file that is not one)."""
    rows = Rows()
    if len(data) > MAX_BYTES:
        rows.problems.append(CellProblem("The workbook", None, None, None, f"is larger than {MAX_BYTES // 1_000_000} "
                                                                            "MB: a pathway's workbook is far smaller"))
        return rows
    try:
        book = load_workbook(io.BytesIO(data), data_only=True, read_only=True)
    except (zipfile.BadZipFile, KeyError, ValueError, OSError) as exc:
        rows.problems.append(CellProblem("The workbook", None, None, None, f"cannot be read as an .xlsx workbook "
                                                                            f"({type(exc).__name__})"))
        return rows
    try:
        for name in (PATHWAY_SHEET, STEPS_SHEET):
            if name not in book.sheetnames:
                rows.problems.append(CellProblem(
                    name, None, None, None, f"is missing: the workbook needs a sheet called {name} (start from "
                    "harmonise template)"))
        if PATHWAY_SHEET in book.sheetnames:
            for number, line in enumerate(book[PATHWAY_SHEET].iter_rows(min_row=2, max_col=2, values_only=True),
                                          start=2):
                key = _label_key(PATHWAY_FIELDS, line[0] if line else None)
                if key is not None and key not in rows.pathway_rows:
                    rows.pathway[key] = _cell(line[1]) if len(line) > 1 else None
                    rows.pathway_rows[key] = number
        if STEPS_SHEET in book.sheetnames:
            sheet = book[STEPS_SHEET]
            lines = sheet.iter_rows(values_only=True)
            header = list(next(lines, ()))
            width = len(header)
            _steps(header, ((number, [_cell(value) for value in line[:width]])
                            for number, line in enumerate(lines, start=2)), rows, STEPS_SHEET)
    finally:
        book.close()
    return rows


def read_csv(text: str, pathway: dict[str, Cell]) -> Rows:
    """The Steps sheet saved as CSV, with the Pathway sheet's values given otherwise (the command's options)."""
    rows = Rows(pathway=dict(pathway), pathway_rows=dict.fromkeys(pathway), pathway_sheet="The command's options")
    lines = list(csv.reader(io.StringIO(text)))
    if not lines:
        rows.problems.append(CellProblem(STEPS_SHEET, None, None, None, "is empty: the CSV needs a header row"))
        return rows
    width = len(lines[0])
    body = ((number, [_cell(value) if value.strip() else None for value in line[:width]])
            for number, line in enumerate(lines[1:], start=2))
    _steps(list(lines[0]), body, rows, STEPS_SHEET)
    return rows
