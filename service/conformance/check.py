"""Does a resource conform to a Harmonise profile? Answered from the StructureDefinition alone.

This reads the differential of a StructureDefinition (and of the extensions its slices name)
and the ValueSet expansions its bindings name: cardinality, fixed and pattern values, required
bindings, slices by ``url`` or by a pattern, and invariants (FHIRPath, evaluated by fhirpathpy
with the R4 model; ``%resource`` is the resource). It knows nothing of ``service.rules``: that is
the point, so that a test can hold the two against each other. It covers the differential
features these definitions use; it is not a general FHIR validator (there is none in Python), and
it does not check base FHIR validity, which the loader does.

Private to ``service.conformance``: only its own modules import this one.
"""

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from fhirpathpy import evaluate
from fhirpathpy.models import models

JsonDict = dict[str, Any]
#: The (system, code) pairs of a ValueSet's expansion, by its canonical URL.
Expansions = Callable[[str], set[tuple[str, str]]]

_MODEL = models["r4"]
_RULES = "harmonise-rules"


@dataclass(frozen=True)
class Finding:
    """One way the resource falls short: the Harmonise rule it breaks, where, and how."""

    rule: str | None
    location: str
    message: str


def _rule(element: JsonDict) -> str | None:
    return next((m["map"] for m in element.get("mapping", []) if m.get("identity") == _RULES), None)


def _children(node: Any, name: str) -> list[Any]:
    if not isinstance(node, dict):
        return []
    if name.endswith("[x]"):
        stem = name[:-3]
        found = [v for k, v in node.items() if k.startswith(stem) and k[len(stem):][:1].isupper()]
        value = found[0] if found else None
    else:
        value = node.get(name)
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def _contains(value: Any, pattern: Any) -> bool:
    """FHIR pattern matching: every element of the pattern is in the value (lists: some item matches each)."""
    if isinstance(pattern, dict):
        return isinstance(value, dict) and all(_contains(value.get(k), v) for k, v in pattern.items())
    if isinstance(pattern, list):
        items = value if isinstance(value, list) else []
        return all(any(_contains(item, p) for item in items) for p in pattern)
    return value == pattern


def _fixed(element: JsonDict) -> tuple[str, Any] | None:
    for key, value in element.items():
        if key.startswith(("fixed", "pattern")):
            return key, value
    return None


class _Profile:
    def __init__(self, definition: JsonDict, definitions: Mapping[str, JsonDict], expansions: Expansions) -> None:
        self.definition = definition
        self.definitions = definitions
        self.expansions = expansions
        self.elements: list[JsonDict] = definition["differential"]["element"]
        self.by_id = {element["id"]: element for element in self.elements}

    def _in_slice(self, item: Any, sliced: str, slice_id: str) -> bool:
        slicing = self.by_id[sliced]["slicing"]
        for discriminator in slicing["discriminator"]:
            path = discriminator["path"]
            expected = self.by_id.get(f"{slice_id}.{path}")
            fixed = _fixed(expected) if expected else None
            if fixed is None and path == "url":  # an extension slice: the url is its profile's
                profile = self.by_id[slice_id]["type"][0]["profile"][0]
                fixed = ("fixedUri", profile)
            if fixed is None or not _contains(item.get(path) if isinstance(item, dict) else None, fixed[1]):
                return False
        return True

    def groups(self, resource: JsonDict, element_id: str) -> Iterator[tuple[Any, list[Any]]]:
        """(parent, the element's instances in it) for every parent instance."""
        segments = element_id.split(".")
        nodes: list[Any] = [resource]
        prefix = segments[0]
        for index, segment in enumerate(segments[1:], start=1):
            name, _, slice_name = segment.partition(":")
            last = index == len(segments) - 1
            sliced = f"{prefix}.{name}"
            prefix = f"{prefix}.{segment}"
            next_nodes = []
            for node in nodes:
                children = _children(node, name)
                if slice_name:
                    children = [child for child in children if self._in_slice(child, sliced, prefix)]
                if last:
                    yield node, children
                next_nodes.extend(children)
            nodes = next_nodes
        if len(segments) == 1:
            yield None, [resource]

    def check(self, resource: JsonDict) -> list[Finding]:
        findings: list[Finding] = []
        root = self.elements[0]["path"]
        for element in self.elements:
            rule = _rule(element)
            where = element["id"]
            for _parent, items in self.groups(resource, where):
                if where != root:
                    minimum, maximum = element.get("min", 0), element.get("max", "*")
                    if len(items) < minimum:
                        findings.append(Finding(rule, where, f"{where}: at least {minimum} expected, found "
                                                             f"{len(items)}"))
                    if maximum != "*" and len(items) > int(maximum):
                        findings.append(Finding(rule, where, f"{where}: at most {maximum} allowed, found "
                                                             f"{len(items)}"))
                for item in items:
                    findings.extend(self._check_item(element, rule, item))
        return findings

    def _check_item(self, element: JsonDict, rule: str | None, item: Any) -> list[Finding]:
        where = element["id"]
        found: list[Finding] = []
        fixed = _fixed(element)
        if fixed is not None:
            key, value = fixed
            if not (item == value if key.startswith("fixed") else _contains(item, value)):
                found.append(Finding(rule, where, f"{where}: {item!r} does not match the {key} {value!r}"))
        binding = element.get("binding") or {}
        if binding.get("strength") == "required" and not self._bound(item, binding["valueSet"]):
            found.append(Finding(rule, where, f"{where}: no code from {binding['valueSet']}"))
        for type_ in element.get("type", []):
            for profile in type_.get("profile", []) if type_.get("code") == "Extension" else []:
                found.extend(_Profile(self.definitions[profile], self.definitions, self.expansions).check(item))
        for constraint in element.get("constraint", []):
            base = element["path"]
            expression = constraint["expression"]
            environment = {"resource": item, "context": item}
            typed = isinstance(item, dict) and "resourceType" in item  # else the model needs the element's type
            answer = evaluate(item, expression if typed else {"base": base, "expression": expression},
                              environment, _MODEL)
            if answer != [True]:
                key = constraint["key"]
                found.append(Finding(key.removeprefix("hrm-").split(".")[0] if key.startswith("hrm-") else None,
                                     f"{where} ({key})", f"{key}: {constraint['human']}"))
        return found

    def _bound(self, item: Any, value_set: str) -> bool:
        allowed = self.expansions(value_set)
        if isinstance(item, str):
            return any(code == item for _system, code in allowed)
        if not isinstance(item, dict):
            return False
        codings = item.get("coding") if "coding" in item else [item]
        return any(isinstance(coding, dict) and (coding.get("system"), coding.get("code")) in allowed
                   for coding in codings or [])


def check(resource: JsonDict, profile: str, definitions: Mapping[str, JsonDict],
          expansions: Expansions) -> list[Finding]:
    """Every way ``resource`` falls short of the StructureDefinition at ``profile`` (a canonical URL).

    ``definitions`` holds StructureDefinitions by URL (the profile's extensions among them);
    ``expansions`` gives a ValueSet's codes.
    """
    return _Profile(definitions[profile], definitions, expansions).check(resource)
