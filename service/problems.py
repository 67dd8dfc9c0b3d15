"""What the loader and validator report: a problem names the file, the element and the rule."""

from enum import StrEnum

from pydantic import BaseModel, ConfigDict


class Severity(StrEnum):
    #: Not valid, readable, safe FHIR R4: the resource is not loaded (exit 1).
    ERROR = "error"
    #: Valid FHIR that breaks a Harmonise convention: loaded, printed, fails only ``--strict``.
    WARNING = "warning"


class Problem(BaseModel):
    model_config = ConfigDict(frozen=True)

    severity: Severity
    message: str
    #: The file it was found in, as given on the command line.
    file: str | None = None
    #: The FHIR element path, e.g. ``PlanDefinition.action[2].timingDuration.unit``.
    path: str | None = None
    #: The Harmonise rule id (docs/profile.md) or ``fhir`` for FHIR validity, ``format`` for parsing.
    rule: str = "fhir"

    def located(self, file: str | None = None, prefix: str | None = None) -> "Problem":
        """The same problem placed in a file and, for Bundle entries, under the entry's path."""
        path = self.path
        if prefix:
            path = f"{prefix}.{path}" if path else prefix
        return self.model_copy(update={"file": file or self.file, "path": path})

    def __str__(self) -> str:
        where = self.path or "(whole file)"
        return f"{self.severity.value}: {where}: {self.message} [{self.rule}]"


def error(message: str, path: str | None = None, rule: str = "fhir") -> Problem:
    return Problem(severity=Severity.ERROR, message=message, path=path, rule=rule)


def warning(message: str, path: str | None = None, rule: str = "fhir") -> Problem:
    return Problem(severity=Severity.WARNING, message=message, path=path, rule=rule)


def has_errors(problems: list[Problem]) -> bool:
    return any(p.severity is Severity.ERROR for p in problems)
