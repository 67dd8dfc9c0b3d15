"""OperationOutcomes: every error the API returns, and every $validate result, is one of these."""

from typing import Any, Final

from ..fhirformat import JsonDict, printable
from ..problems import Problem, Severity
from ..store import errors as store_errors

#: Problem rules that are about reading the bytes rather than FHIR content.
_STRUCTURE_RULES: Final = frozenset({"format"})


class FhirError(Exception):
    """An HTTP error to send as an OperationOutcome."""

    def __init__(self, status: int, issues: list[JsonDict], headers: dict[str, str] | None = None) -> None:
        super().__init__("; ".join(str(i.get("diagnostics", "")) for i in issues))
        self.status = status
        self.issues = issues
        self.headers = headers or {}


def issue(severity: str, code: str, diagnostics: str, expression: str | None = None) -> JsonDict:
    """One OperationOutcome.issue (severity and code from the R4 value sets).

    Text quoted from a request may hold characters no FHIR string may: they are written as escapes,
    so the outcome is valid FHIR and renders as XML too.
    """
    result: dict[str, Any] = {"severity": severity, "code": code, "diagnostics": printable(diagnostics)}
    if expression:
        result["expression"] = [printable(expression)]
    return result


def outcome(issues: list[JsonDict]) -> JsonDict:
    return {"resourceType": "OperationOutcome", "issue": issues}


def error(status: int, code: str, diagnostics: str, expression: str | None = None) -> FhirError:
    return FhirError(status, [issue("error", code, diagnostics, expression)])


def problem_issue(problem: Problem) -> JsonDict:
    """A loader/validator Problem as an issue: its element path becomes the issue's expression."""
    if problem.severity is Severity.ERROR:
        code = "structure" if problem.rule in _STRUCTURE_RULES else "invalid"
    else:
        code = "business-rule"
    result = issue(problem.severity.value, code, f"{problem.message} [{problem.rule}]", problem.path)
    result["details"] = {"text": printable(problem.message)}
    return result


def problems_outcome(problems: list[Problem]) -> JsonDict:
    """All findings, or one information issue saying there were none (an outcome needs an issue)."""
    if not problems:
        return outcome([issue("information", "informational", "No issues found")])
    return outcome([problem_issue(problem) for problem in problems])


#: HTTP status and issue code of each store error.
STORE_ERRORS: Final[dict[type[store_errors.StoreError], tuple[int, str]]] = {
    store_errors.NotFound: (404, "not-found"),
    store_errors.Gone: (410, "deleted"),
    store_errors.PreconditionFailed: (412, "conflict"),
    store_errors.WriteConflict: (409, "conflict"),
    store_errors.InvalidSearch: (400, "invalid"),
    store_errors.SearchTooCostly: (400, "too-costly"),
    # The request's statement was cancelled past the statement timeout: the server is not broken,
    # this request costs more than it gives one (a read: nothing was changed).
    store_errors.StatementTimeout: (503, "too-costly"),
}


#: Seconds a client is asked to wait before trying again after a 503 (the statement timeout, a full pool).
RETRY_AFTER_SECONDS: Final = 5


def store_error(exc: store_errors.StoreError) -> FhirError:
    status, code = STORE_ERRORS.get(type(exc), (500, "exception"))
    failure = error(status, code, exc.message)
    if status == 503:
        failure.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return failure


def busy() -> FhirError:
    """503: every database connection of this process stayed in use for the pool's whole wait."""
    failure = error(503, "transient", "the server is busy: no database connection came free in time; nothing "
                    f"was changed. Try again in {RETRY_AFTER_SECONDS} seconds")
    failure.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return failure
