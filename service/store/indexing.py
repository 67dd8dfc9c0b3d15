"""The search index rows of one resource version, extracted with the registry's own extractors.

Each row also carries what the version's own row says about it (type, id, ``txn``; its
``superseded_txn`` starts as None and is set when a later version supersedes it) and the indexed
prefixes of its value and namespace: see ``schema.search_index``.

Private to ``service.store``: only its own modules import this one.
"""

from typing import Any

from ..fhirformat import JsonDict
from .schema import key_of
from .searchparams import parameters_for


def index_rows(version_pk: int, resource_type: str, resource: JsonDict, resource_id: str,
               txn: int) -> list[dict[str, Any]]:
    """One row per value per search parameter; duplicates are dropped, bad dates skipped."""
    rows: dict[tuple[Any, ...], dict[str, Any]] = {}
    for parameter in parameters_for(resource_type).values():
        try:
            values = list(parameter.extract(resource))
        except ValueError:
            continue  # a value the validator let through but no search could match
        for value in values:
            key = (parameter.name, value.value, value.namespace, value.normalized, value.low, value.high)
            if key in rows:
                continue
            rows[key] = {"version_pk": version_pk, "param": parameter.name, "value": value.value,
                         "namespace": value.namespace, "normalized": value.normalized, "low": value.low,
                         "high": value.high, "value_key": key_of(value.value),
                         "namespace_key": key_of(value.namespace), "resource_type": resource_type,
                         "resource_id": resource_id, "txn": txn, "superseded_txn": None}
    return list(rows.values())
