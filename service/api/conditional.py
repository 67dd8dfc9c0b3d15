"""Conditional create (If-None-Exist): find the resource a create would duplicate, in the write's turn."""

from dataclasses import replace
from urllib.parse import parse_qsl

from ..store import SearchBudget, StoredVersion, Writer, parse_search
from .outcomes import error
from .registry import ResourceSupport


def existing_match(writer: Writer, support: ResourceSupport, condition: str,
                   budget: SearchBudget) -> StoredVersion | None:
    """The one resource matching the search ``condition``; None if none; 412 if several.

    Run inside the writer's transaction, so no other write can slip in between the check and
    the create; the condition is held to the same ``budget`` as any search (a write's statements
    are not timed).
    """
    if not support.conditional_create:
        raise error(400, "not-supported", f"{support.type} does not support conditional create")
    query = parse_search(support.type, parse_qsl(condition.lstrip("?"), keep_blank_values=True), budget=budget)
    if not query.criteria:
        raise error(400, "invalid", f"If-None-Exist needs search criteria, got '{condition}'")
    matches = writer.search(replace(query, count=2, offset=0, snapshot=None, total=True))
    if matches.total and matches.total > 1:
        raise error(412, "duplicate", f"If-None-Exist ({condition}) matches {matches.total} resources; "
                    "make the criteria more selective")
    return matches.versions[0] if matches.versions else None
