"""``harmonise package`` reads the active guidelines from the store (SQLite and PostgreSQL) and writes the package."""

import json
import tarfile
from pathlib import Path

from typer.testing import CliRunner

from service.application.loading import store_files
from service.cli import app
from service.store import Store

from .conftest import GUIDELINES


def test_package_from_the_store(database_url: str, tmp_path: Path) -> None:
    store = Store.open(database_url)
    try:
        store_files(store, [GUIDELINES])
    finally:
        store.close()
    result = CliRunner().invoke(app, ["package", "--out", str(tmp_path), "--database", database_url,
                                      "--format", "json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    with tarfile.open(tmp_path / "package.tgz") as archive:
        index = json.load(archive.extractfile("package/.index.json"))  # type: ignore[arg-type]
    guidelines = [f for f in index["files"] if f["resourceType"] == "PlanDefinition"]
    assert len(guidelines) == report["guidelines"] > 0
    assert "PlanDefinition-guideline-tonsillectomy-follow-up.json" in {f["filename"] for f in guidelines}
