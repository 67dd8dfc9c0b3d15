"""Pathways from spreadsheets: a trust's follow-up schedule as a workbook, and back (docs/spreadsheets.md).

- ``when``: the words of the When and Repeats cells, and the FHIR timing they stand for;
- ``convert``: workbook rows to a trust-pathway PlanDefinition and back (pure: rows in, FHIR out);
- ``workbook``: the .xlsx file (openpyxl) and the Steps sheet as CSV.

The use cases (template, import, export against the store) are in ``application.spreadsheets``.
"""

from .convert import AS_STORED, CellProblem, Converted, Rows, Sheets, pathway_id, to_plan_definition, to_rows
from .workbook import read_csv, read_workbook, write_workbook

__all__ = ["AS_STORED", "CellProblem", "Converted", "Rows", "Sheets", "pathway_id", "read_csv", "read_workbook",
           "to_plan_definition", "to_rows", "write_workbook"]
