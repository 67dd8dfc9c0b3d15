"""What a load does with a conflict: the choice ``harmonise load --on-conflict`` offers.

Its own module, importing nothing, so the command line can name it as an option type without
importing the loading use case (``application.loading``, which re-exports it) for ``--help``.
"""

from enum import StrEnum


class OnConflict(StrEnum):
    """What a load does with a file that changed while the store changed too."""

    #: Write nothing for that resource and report it (the command exits 1).
    REPORT = "report"
    #: Keep the store's version; the file's content counts as imported, so it is not reported again.
    KEEP_STORE = "keep-store"
    #: Write the file's content as one new version on top of the store's.
    TAKE_FILE = "take-file"
