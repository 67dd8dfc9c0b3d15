"""Checking a resource a client sent, before it is written or when it asks for ``$validate``.

The findings come from the type's checker in the registry (for PlanDefinition, the same
``loader.check_plan_definition`` that ``harmonise validate`` runs): FHIR errors refuse a write
with 422, convention warnings never do.
"""

import re
from typing import Final

from ..fhirformat import JsonDict
from ..problems import Problem, Severity
from .outcomes import FhirError, error, problem_issue
from .registry import ResourceSupport

#: A FHIR id, except ids of dots only: ``..`` is a path segment to every URL parser, never a resource.
ID_PATTERN: Final = re.compile(r"(?!\.+$)[A-Za-z0-9\-.]{1,64}")
#: A version number as a client may write it: ASCII digits, within the store's integer column.
VERSION_PATTERN: Final = re.compile(r"[0-9]{1,9}")


def version_number(text: str) -> int | None:
    """The version a client named (``3``), or None if the text cannot be one."""
    return int(text) if VERSION_PATTERN.fullmatch(text) else None


def checked_id(resource_id: str) -> str:
    """A logical id from a URL, or 400 if it cannot be one."""
    if not ID_PATTERN.fullmatch(resource_id):
        raise error(400, "invalid", f"'{resource_id}' is not a valid FHIR id (1-64 letters, digits, '-' or '.', "
                    "not only dots)")
    return resource_id


def expect_type(resource: JsonDict, resource_type: str, where: str = "the body") -> None:
    if resource.get("resourceType") != resource_type:
        raise error(400, "invalid", f"{where} is a {resource.get('resourceType')}, but this URL is for "
                    f"{resource_type}", "resourceType")


def findings(support: ResourceSupport, resource: JsonDict) -> list[Problem]:
    """Every finding of the type's checker (no checker: nothing to say)."""
    return support.checker(resource) if support.checker else []


def accept(support: ResourceSupport, resource: JsonDict) -> list[Problem]:
    """The warnings of a resource fit to store; 422 naming each element if it is not valid FHIR."""
    problems = findings(support, resource)
    errors = [problem for problem in problems if problem.severity is Severity.ERROR]
    if errors:
        raise FhirError(422, [problem_issue(problem) for problem in errors])
    return problems


def expect_id(resource: JsonDict, resource_id: str) -> None:
    """An update's body must carry the id of the URL it is sent to (FHIR R4 3.1.0.4)."""
    if resource.get("id") != resource_id:
        raise error(400, "invalid", f"the resource's id ({resource.get('id')!r}) must match the id in the URL "
                    f"({resource_id!r})", f"{resource.get('resourceType')}.id")
