"""What a site build reads: the content folders and the day the register is checked against.

The settings travel inside the MkDocs configuration (``extra.harmonise``), so that ``mkdocs build``
run by hand and ``harmonise publish`` build the same site from the same input.
"""

import os
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, Final

EXTRA_KEY: Final = "harmonise"


@dataclass(frozen=True)
class SiteSettings:
    pathways: Path
    guidelines: Path
    #: Register review dates are checked against this day; it is also the build's date, so the
    #: same content and the same day give the same bytes.
    as_of: date
    #: Files are named on the site relative to this folder (the repository), never by an absolute
    #: path: that would differ from one checkout to another and say nothing to a reader.
    root: Path = Path(".")
    #: Monthly activity (CSV files) and the network's measures (``measures/``) for the SPC charts;
    #: the repository's ``activity/`` when not given.
    activity: Path | None = None
    #: The store to build from (a database URL): the network's record. None: the folders above.
    database: str | None = None

    @property
    def activity_folder(self) -> Path:
        return self.activity if self.activity is not None else self.root / "activity"

    def display(self, file: str) -> str:
        """A file's name as the site shows it: relative to the root or to the folder it was read from."""
        path = Path(file).resolve()
        for base in (self.root, self.pathways.parent, self.guidelines.parent, self.activity_folder.parent):
            if path.is_relative_to(base.resolve()):
                return path.relative_to(base.resolve()).as_posix()
        return path.name

    def to_extra(self) -> dict[str, str]:
        extra = {"pathways": str(self.pathways), "guidelines": str(self.guidelines),
                 "activity": str(self.activity_folder), "as_of": self.as_of.isoformat()}
        return extra | ({"database": self.database} if self.database else {})

    @classmethod
    def from_extra(cls, extra: dict[str, Any] | None, root: Path) -> "SiteSettings":
        """Settings from ``extra.harmonise``; relative folders are read from ``root`` (mkdocs.yml's folder)."""
        values = extra or {}
        as_of = values.get("as_of")
        return cls(
            pathways=root / values.get("pathways", "pathways"),
            guidelines=root / values.get("guidelines", "guidelines"),
            as_of=date.fromisoformat(str(as_of)) if as_of else build_day(),
            root=root,
            activity=root / values["activity"] if "activity" in values else None,
            database=values.get("database") or None,
        )


def build_day() -> date:
    """Today, unless ``SOURCE_DATE_EPOCH`` pins the build's date (the reproducible-builds convention)."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    if epoch:
        return datetime.fromtimestamp(int(epoch), UTC).date()
    return date.today()


def epoch_of(day: date) -> int:
    """Midnight UTC of ``day`` as a ``SOURCE_DATE_EPOCH`` value."""
    return int(datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp())
