"""Differences between two versions of a resource as a FHIRPath Patch ``Parameters`` resource.

The output has HAPI FHIR's ``$diff`` shape (one ``operation`` parameter per change, with parts
``type``, ``path``, ``index``/``source``/``destination``, ``name``, ``value`` and
``previousValue``), with one deliberate difference: list items are matched by identity and
meaning, not position. Items match when they are equal, then by ``id``, then when deepdiff finds
them close (``MATCH_DISTANCE``), so a reordered step is one ``move`` and an inserted step one
``insert``, not a cascade of ``replace``.

Operations apply in order: for each list, deletions (from the end), then moves, then insertions,
then changes inside the items at their final positions; ``apply`` does exactly that and is the
round-trip check (``apply(a, diff(a, b)) == b``). Values carry their FHIR type (``valueString``,
``valueCodeableConcept`` ...); backbone elements such as an action are written as parts, as the
FHIRPath Patch specification says. Element ``meta`` is left out, as HAPI does by default;
extensions on primitive values (``_field``) are not compared.
"""

import copy
from typing import Any, Final

from deepdiff import DeepDiff

from .fhirformat import JsonDict, _elements

MATCH_DISTANCE: Final = 0.5
_SKIPPED: Final = frozenset({"meta", "resourceType"})
_COMPLEX_TYPES_WITH_VALUE = frozenset(
    {
        "Address",
        "Age",
        "Annotation",
        "Attachment",
        "CodeableConcept",
        "Coding",
        "ContactPoint",
        "Count",
        "Distance",
        "Duration",
        "HumanName",
        "Identifier",
        "Money",
        "Period",
        "Quantity",
        "Range",
        "Ratio",
        "Reference",
        "SampledData",
        "Signature",
        "Timing",
        "ContactDetail",
        "Contributor",
        "DataRequirement",
        "Expression",
        "ParameterDefinition",
        "RelatedArtifact",
        "TriggerDefinition",
        "UsageContext",
        "Dosage",
        "Meta",
    }
)


def _type_suffix(type_name: str) -> str:
    if type_name == "xhtml":  # not a Parameters value type; the narrative travels as a string
        return "String"
    return type_name[0].upper() + type_name[1:]


# --- values <-> parts ---------------------------------------------------------------------------


def _value_parts(name: str, value: Any, type_name: str) -> JsonDict:
    """One part named ``name`` holding ``value`` of FHIR type ``type_name``."""
    if type_name in ("Resource", "DomainResource"):
        return {"name": name, "resource": value}
    if isinstance(value, dict) and type_name not in _COMPLEX_TYPES_WITH_VALUE:
        return {"name": name, "part": _backbone_parts(value, type_name)}
    return {"name": name, f"value{_type_suffix(type_name)}": value}


def _backbone_parts(value: JsonDict, type_name: str) -> list[JsonDict]:
    parts: list[JsonDict] = []
    for element_name, element in _elements(type_name).items():
        if element_name not in value:
            continue
        items = value[element_name] if element.is_list else [value[element_name]]
        parts.extend(_value_parts(element_name, item, element.type_name) for item in items)
    return parts


def _from_part(part: JsonDict, type_name: str) -> Any:
    if "resource" in part:
        return part["resource"]
    if "part" in part:
        result: JsonDict = {}
        elements = _elements(type_name)
        for child in part["part"]:
            element = elements[child["name"]]
            value = _from_part(child, element.type_name)
            if element.is_list:
                result.setdefault(child["name"], []).append(value)
            else:
                result[child["name"]] = value
        return result
    return next(v for k, v in part.items() if k.startswith("value"))


# --- diff ---------------------------------------------------------------------------------------


def _operation(kind: str, path: str, **parts: Any) -> JsonDict:
    items: list[JsonDict] = [{"name": "type", "valueCode": kind}, {"name": "path", "valueString": path}]
    for name, part in parts.items():
        if part is None:
            continue
        items.append(
            part
            if isinstance(part, dict)
            else {"name": name, "valueInteger": part}
            if isinstance(part, int)
            else {"name": name, "valueString": part}
        )
    return {"name": "operation", "part": items}


def _distance(a: Any, b: Any) -> float:
    if type(a) is not type(b):
        return 1.0
    if not isinstance(a, (dict, list)):
        return 0.0 if a == b else 1.0
    return DeepDiff(a, b, get_deep_distance=True, ignore_order=True).get("deep_distance", 0.0)


def match_items(old: list[Any], new: list[Any]) -> dict[int, int]:
    """Old index -> new index for items that are the same item (equal, same id, or close)."""
    pairs: dict[int, int] = {}
    taken: set[int] = set()

    def claim(test) -> None:
        for i, item in enumerate(old):
            if i in pairs:
                continue
            for j, other in enumerate(new):
                if j not in taken and test(item, other):
                    pairs[i] = j
                    taken.add(j)
                    break

    claim(lambda a, b: a == b)
    claim(
        lambda a, b: (
            isinstance(a, dict) and isinstance(b, dict) and a.get("id") is not None and a.get("id") == b.get("id")
        )
    )
    candidates = sorted(
        (_distance(a, b), i, j)
        for i, a in enumerate(old)
        if i not in pairs
        for j, b in enumerate(new)
        if j not in taken and isinstance(a, dict)
    )
    for distance, i, j in candidates:
        if distance <= MATCH_DISTANCE and i not in pairs and j not in taken:
            pairs[i] = j
            taken.add(j)
    return pairs


def _longest_increasing(sequence: list[int]) -> set[int]:
    """Values of one longest strictly increasing subsequence (they need not move)."""
    best: list[list[int]] = []
    for value in sequence:
        candidates = [run for run in best if run[-1] < value]
        longest: list[int] = max(candidates, key=len, default=[])
        best.append(longest + [value])
    longest_run: list[int] = max(best, key=len, default=[])
    return set(longest_run)


def _list_ops(path: str, old: list[Any], new: list[Any], type_name: str, ops: list[JsonDict]) -> None:
    pairs = match_items(old, new)
    for i in sorted(set(range(len(old))) - set(pairs), reverse=True):
        ops.append(_operation("delete", f"{path}[{i}]"))
    current = [pairs[i] for i in range(len(old)) if i in pairs]  # targets, in their present order
    keep = _longest_increasing(current)
    for target in sorted(t for t in current if t not in keep):
        source = current.index(target)
        current.pop(source)
        # Every item meant to come before this one is already in place (ascending order).
        before = [k for k, t in enumerate(current) if t < target]
        destination = before[-1] + 1 if before else 0
        current.insert(destination, target)
        if source != destination:
            ops.append(_operation("move", path, source=source, destination=destination))
    for j in sorted(set(range(len(new))) - set(pairs.values())):
        ops.append(_operation("insert", path, index=j, value=_value_parts("value", new[j], type_name)))
    for i, j in sorted(pairs.items(), key=lambda p: p[1]):
        _value_ops(f"{path}[{j}]", old[i], new[j], type_name, ops)


def _value_ops(path: str, old: Any, new: Any, type_name: str, ops: list[JsonDict]) -> None:
    if old == new:
        return
    if isinstance(old, dict) and isinstance(new, dict) and type_name not in ("Resource", "DomainResource"):
        _object_ops(path, old, new, type_name, ops)
        return
    ops.append(
        _operation(
            "replace",
            path,
            value=_value_parts("value", new, type_name),
            previousValue=_value_parts("previousValue", old, type_name),
        )
    )


def _object_ops(path: str, old: JsonDict, new: JsonDict, type_name: str, ops: list[JsonDict]) -> None:
    for name, element in _elements(type_name).items():
        if name in _SKIPPED or (name not in old and name not in new):
            continue
        child = f"{path}.{name}"
        if name not in new:
            if element.is_list:
                for i in reversed(range(len(old[name]))):
                    ops.append(_operation("delete", f"{child}[{i}]"))
            else:
                ops.append(_operation("delete", child))
        elif name not in old:
            for item in new[name] if element.is_list else [new[name]]:
                ops.append(_operation("add", path, name=name, value=_value_parts("value", item, element.type_name)))
        elif element.is_list:
            _list_ops(child, old[name], new[name], element.type_name, ops)
        else:
            _value_ops(child, old[name], new[name], element.type_name, ops)


def diff(old: JsonDict, new: JsonDict) -> JsonDict:
    """The FHIRPath Patch that turns ``old`` into ``new`` (same resource type)."""
    resource_type = new["resourceType"]
    if old.get("resourceType") != resource_type:
        raise ValueError("cannot diff resources of different types")
    ops: list[JsonDict] = []
    _object_ops(resource_type, old, new, resource_type, ops)
    return {"resourceType": "Parameters", "parameter": ops}


# --- apply --------------------------------------------------------------------------------------


def _steps(path: str) -> list[tuple[str, int | None]]:
    result = []
    for token in path.split(".")[1:]:
        name, _, index = token.partition("[")
        result.append((name, int(index[:-1]) if index else None))
    return result


def _resolve(resource: JsonDict, path: str) -> tuple[Any, str]:
    """(parent object, type name) of the element the path names."""
    node: Any = resource
    type_name = resource["resourceType"]
    for name, index in _steps(path):
        type_name = _elements(type_name)[name].type_name
        node = node[name] if index is None else node[name][index]
    return node, type_name


def apply(resource: JsonDict, patch: JsonDict) -> JsonDict:
    """``resource`` with the patch's operations applied in order (the subset ``diff`` writes)."""
    result = copy.deepcopy(resource)
    for operation in patch.get("parameter", []):
        parts = {p["name"]: p for p in operation["part"]}
        kind, path = parts["type"]["valueCode"], parts["path"]["valueString"]
        parent_path, _, last = path.rpartition(".")
        name, _, index = last.partition("[")
        if kind == "add":
            target, type_name = _resolve(result, path)
            element = _elements(type_name)[parts["name"]["valueString"]]
            value = _from_part(parts["value"], element.type_name)
            if element.is_list:
                target.setdefault(element.name, []).append(value)
            else:
                target[element.name] = value
            continue
        container, container_type = _resolve(result, parent_path)
        element = _elements(container_type)[name]
        if kind == "delete":
            if index:
                del container[name][int(index[:-1])]
                if not container[name]:
                    del container[name]
            else:
                del container[name]
        elif kind == "replace":
            value = _from_part(parts["value"], element.type_name)
            if index:
                container[name][int(index[:-1])] = value
            else:
                container[name] = value
        elif kind == "insert":
            container.setdefault(name, []).insert(
                parts["index"]["valueInteger"], _from_part(parts["value"], element.type_name)
            )
        elif kind == "move":
            items = container[name]
            items.insert(parts["destination"]["valueInteger"], items.pop(parts["source"]["valueInteger"]))
    return result


__all__ = ["apply", "diff", "match_items"]
