"""The search index rows of one resource version, extracted with the registry's own extractors."""

from typing import Any

from ..fhirformat import JsonDict
from .searchparams import parameters_for


def index_rows(version_pk: int, resource_type: str, resource: JsonDict) -> list[dict[str, Any]]:
    """One row per value per search parameter; duplicates are dropped, bad dates skipped."""
    rows: dict[tuple[Any, ...], dict[str, Any]] = {}
    for parameter in parameters_for(resource_type).values():
        try:
            values = list(parameter.extract(resource))
        except ValueError:
            continue  # a value the validator let through but no search could match
        for value in values:
            row = {"version_pk": version_pk, "param": parameter.name, "value": value.value,
                   "namespace": value.namespace, "normalized": value.normalized, "low": value.low,
                   "high": value.high}
            rows[tuple(row.values())] = row
    return list(rows.values())
