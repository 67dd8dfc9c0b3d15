"""Differences between two versions of a PlanDefinition as a FHIRPath Patch (``fhirpatch``), within a budget.

``$diff`` and the workspace's guideline page both call ``diff``: matching steps between two versions
costs more the more actions they have, so a version past the budget is refused before any work.
"""

from .. import fhirpatch
from ..fhirformat import JsonDict


class TooCostly(Exception):
    """A version has more actions than the budget allows."""

    def __init__(self, actions: int, limit: int) -> None:
        super().__init__(f"a version to compare has {actions:,} actions; the limit is {limit:,}")
        self.actions, self.limit = actions, limit


def action_count(resource: JsonDict) -> int:
    """Actions at every depth: what the cost of matching steps between two versions grows with."""
    count, stack = 0, [resource]
    while stack:
        actions = stack.pop().get("action")
        if isinstance(actions, list):
            count += len(actions)
            stack.extend(action for action in actions if isinstance(action, dict))
    return count


def diff(old: JsonDict, new: JsonDict, max_actions: int) -> JsonDict:
    """The FHIRPath Patch ``Parameters`` from ``old`` to ``new`` (TooCostly past ``max_actions`` actions)."""
    largest = max(action_count(old), action_count(new))
    if largest > max_actions:
        raise TooCostly(largest, max_actions)
    return fhirpatch.diff(old, new)


def changed_paths(patch: JsonDict) -> list[tuple[str, str]]:
    """Each operation of a patch as (type, path[.name]), in order: the changes outside the steps too, in brief."""
    found = []
    for operation in patch.get("parameter") or []:
        parts = {p.get("name"): p for p in operation.get("part") or []}
        kind = (parts.get("type") or {}).get("valueCode", "")
        path = (parts.get("path") or {}).get("valueString", "")
        name = (parts.get("name") or {}).get("valueString")
        found.append((kind, f"{path}.{name}" if name else path))
    return found
