"""The use cases, in one layer that the command line, the API and the site all call.

- ``sources``: where content is read: ``StoreSource`` (the record) or ``FolderSource`` (files).
- ``comparing``: the variation report and consensus proposals.
- ``monitoring``: early-warning signals.
- ``loading``: folders into the store and back out, never undoing a newer write.
- ``activity``: monthly activity into the store as MeasureReports.
- ``spreadsheets``: a trust's pathway as a workbook: the template, the import, the export.

The layers below (``variation``, ``monitoring``, ``store``, ``loader``) know nothing of each other's
callers; docs/architecture.md draws the picture.
"""

from .comparing import Comparison, Topics, compare, propose, read_topics
from .monitoring import Watch, watch
from .sources import FolderSource, Record, Source, StoreSource
from .spreadsheets import ImportResult, Template, export_pathway, import_pathway, template

__all__ = ["Comparison", "FolderSource", "ImportResult", "Record", "Source", "StoreSource", "Template", "Topics",
           "Watch", "compare", "export_pathway", "import_pathway", "propose", "read_topics", "template", "watch"]
