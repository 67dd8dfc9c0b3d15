"""The use cases, in one layer that the command line, the API and the site all call.

- ``sources``: where content is read: ``StoreSource`` (the record) or ``FolderSource`` (files).
- ``comparing``: the variation report and consensus proposals.
- ``monitoring``: early-warning signals.
- ``loading``: folders into the store and back out, never undoing a newer write.
- ``activity``: monthly activity into the store as MeasureReports.
- ``guidelines``, ``decisions``: the guideline lifecycle and the register decisions.
- ``spreadsheets``: pathways from and to workbooks.
- ``history``: a topic's history, who changed what and when, from the audit trail.
- ``diffing``: two versions' differences as a FHIRPath Patch, within a budget ($diff and the workspace).

The layers below (``variation``, ``monitoring``, ``store``, ``loader``) know nothing of each other's
callers; docs/architecture.md draws the picture.

The names below are imported when first used (PEP 562), so importing a light module of this
package (``application.conflicts`` for ``harmonise load --help``) does not import every use case.
"""

from typing import TYPE_CHECKING

from ..lazy import lazy_face

if TYPE_CHECKING:
    from .comparing import Comparison, Topics, compare, propose, read_topics
    from .monitoring import Watch, watch
    from .sources import FolderSource, Record, Source, StoreSource
    from .spreadsheets import ImportResult, Template, export_pathway, import_pathway, template

#: Each public name and the module it is defined in.
_HOMES = {"Comparison": "comparing", "Topics": "comparing", "compare": "comparing", "propose": "comparing",
          "read_topics": "comparing", "Watch": "monitoring", "watch": "monitoring", "FolderSource": "sources",
          "Record": "sources", "Source": "sources", "StoreSource": "sources", "ImportResult": "spreadsheets",
          "Template": "spreadsheets", "export_pathway": "spreadsheets", "import_pathway": "spreadsheets",
          "template": "spreadsheets"}

__all__ = ["Comparison", "FolderSource", "ImportResult", "Record", "Source", "StoreSource", "Template", "Topics",
           "Watch", "compare", "export_pathway", "import_pathway", "propose", "read_topics", "template", "watch"]


__getattr__, __dir__ = lazy_face(__name__, _HOMES, __all__)
