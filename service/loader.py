"""Files, folders and Bundles in; validated PlanDefinitions and their problems out.

One bad file never stops the others: every problem is collected and returned together, each
naming its file and element path. Nothing here writes anywhere.
"""

import os
import stat
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any, Final

from fhir.resources.R4B import get_fhir_model_class
from fhir.resources.R4B.plandefinition import PlanDefinition
from pydantic import ValidationError
from pydantic_core import ErrorDetails

from . import rules
from .fhirformat import FormatError, JsonDict, parse
from .normalise import normalise
from .pathway import Pathway
from .problems import Problem, error, has_errors, warning

#: Files larger than this are refused unread (a pathway is a few kilobytes).
MAX_FILE_BYTES: Final = 10 * 1024 * 1024
SUFFIXES: Final = (".json", ".xml")


@dataclass(frozen=True)
class LoadedResource:
    """One valid PlanDefinition, with where it came from and its normalised form."""

    file: str
    #: Index of the Bundle entry it came from, or None for a file holding one resource.
    entry: int | None
    data: JsonDict
    pathway: Pathway

    @cached_property
    def plan(self) -> PlanDefinition:
        """The R4B model of ``data``, built again when first asked for: it was validated on loading, but
        holding every loaded file's model would cost memory and garbage-collector time for no reader."""
        return PlanDefinition.model_validate(self.data)

    @property
    def location(self) -> str:
        return self.file if self.entry is None else f"{self.file} (Bundle.entry[{self.entry}])"


@dataclass
class LoadResult:
    resources: list[LoadedResource] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    files: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not has_errors(self.problems)


def discover(paths: Iterable[Path]) -> tuple[list[Path], list[Problem]]:
    """The FHIR files under these paths, sorted, and problems with the paths themselves.

    Folders are searched recursively for ``*.json`` and ``*.xml``, skipping hidden entries.
    A symbolic link is followed only if it stays inside the folder being read.
    """
    found: list[Path] = []
    problems: list[Problem] = []
    for path in paths:
        if path.is_dir():
            root = path.resolve()
            for candidate in sorted(path.rglob("*")):
                relative = candidate.relative_to(path)
                if any(part.startswith(".") for part in relative.parts):
                    continue
                if candidate.suffix.lower() not in SUFFIXES or candidate.is_dir():
                    continue
                if candidate.is_symlink() and not candidate.resolve().is_relative_to(root):
                    problems.append(
                        error(
                            f"symbolic link to {candidate.resolve()} points outside {path}; not followed", rule="format"
                        ).located(str(candidate))
                    )
                    continue
                found.append(candidate)
        elif path.is_file():
            found.append(path)
        else:
            problems.append(error("no such file or folder", rule="format").located(str(path)))
    return found, problems


def _element_path(resource_type: str, loc: tuple[Any, ...]) -> str:
    path = resource_type
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        elif isinstance(part, str) and part.replace("_", "").isalnum():
            path += "." + part.rstrip("_")
    return path


def _plain(err: ErrorDetails) -> str:
    kind = err.get("type", "")
    if kind.endswith("missing"):
        return "a required element is missing"
    if kind == "extra_forbidden":
        return "this element is not part of FHIR R4 PlanDefinition"
    message = str(err.get("msg", "invalid value")).removeprefix("Value error, ")
    value = err.get("input")
    if isinstance(value, (str, int, float)) and not isinstance(value, bool):
        return f"{message} (value: {value!r})"
    return message


def validation_problems(resource_type: str, exc: ValidationError) -> list[Problem]:
    """pydantic's errors as FHIR-path problems, in plain words."""
    return [error(_plain(err), _element_path(resource_type, tuple(err["loc"]))) for err in exc.errors()]


def check_resource(data: JsonDict) -> list[Problem]:
    """FHIR R4 validity of a resource of any type (errors only): for types with no conventions."""
    resource_type = str(data.get("resourceType"))
    try:
        get_fhir_model_class(resource_type).model_validate(data)
    except ValidationError as exc:
        return validation_problems(resource_type, exc)
    except (KeyError, ValueError):
        return [error(f"'{resource_type}' is not a FHIR R4 resource type", "resourceType")]
    return []


def check_plan_definition(data: JsonDict) -> tuple[PlanDefinition | None, Pathway | None, list[Problem]]:
    """Validate one PlanDefinition dict: FHIR validity (errors), then conventions (warnings)."""
    try:
        plan = PlanDefinition.model_validate(data)
    except ValidationError as exc:
        return None, None, validation_problems("PlanDefinition", exc)
    pathway, problems = normalise(plan)
    problems = problems + rules.check(plan, pathway)
    if has_errors(problems):
        return None, pathway, problems
    return plan, pathway, problems


def _entries(data: JsonDict) -> Iterator[tuple[int | None, JsonDict | None, list[Problem]]]:
    resource_type = data["resourceType"]
    if resource_type == "PlanDefinition":
        yield None, data, []
    elif resource_type == "Bundle":
        entries = data.get("entry") or []
        if not isinstance(entries, list):
            yield None, None, [error("Bundle.entry must be a list", "Bundle.entry")]
            return
        for index, entry in enumerate(entries):
            resource = entry.get("resource") if isinstance(entry, dict) else None
            if not isinstance(resource, dict):
                yield index, None, [error("the entry has no resource", f"Bundle.entry[{index}]")]
            elif resource.get("resourceType") != "PlanDefinition":
                yield (
                    index,
                    None,
                    [
                        warning(
                            f"a {resource.get('resourceType')} is not a PlanDefinition; skipped",
                            f"Bundle.entry[{index}].resource",
                            rule="resource-type",
                        )
                    ],
                )
            else:
                yield index, resource, []
    else:
        yield (
            None,
            None,
            [
                warning(
                    f"a {resource_type} is not a PlanDefinition or Bundle; skipped", resource_type, rule="resource-type"
                )
            ],
        )


def load_bytes(data: bytes, name: str) -> tuple[list[LoadedResource], list[Problem]]:
    """Everything in one file's bytes; ``name`` is used in problems and to tell XML from JSON."""
    try:
        parsed = parse(data, name)
    except FormatError as exc:
        return [], [error(exc.message, exc.path, rule="format").located(name)]
    loaded: list[LoadedResource] = []
    problems: list[Problem] = []
    for entry, resource, entry_problems in _entries(parsed):
        problems.extend(p.located(name) for p in entry_problems)
        if resource is None:
            continue
        plan, pathway, found = check_plan_definition(resource)
        prefix = f"Bundle.entry[{entry}].resource" if entry is not None else None
        for problem in found:
            path = problem.path
            if prefix and path:
                path = prefix + path.removeprefix("PlanDefinition")
            problems.append(problem.model_copy(update={"file": name, "path": path}))
        if plan is not None and pathway is not None:
            loaded.append(LoadedResource(name, entry, resource, pathway))
    return loaded, problems


def _refusal(path: Path) -> str | None:
    """Why a file is not read at all: not a regular file (a FIFO or device would block or never end), or too big."""
    status = path.stat()
    if not stat.S_ISREG(status.st_mode):
        return "not a regular file (a pipe, device or socket); not read"
    if status.st_size > MAX_FILE_BYTES:
        return f"the file is {status.st_size:,} bytes, over the {MAX_FILE_BYTES:,}-byte limit; not read"
    return None


def load_file(path: Path) -> tuple[list[LoadedResource], list[Problem]]:
    name = str(path)
    try:
        refusal = _refusal(path)
        if refusal is not None:
            return [], [error(refusal, rule="format").located(name)]
        with path.open("rb") as file:
            # Read what the file holds now, plus a byte to see whether it grew since it was measured (asking
            # for the whole limit at once would allocate it for every file). One that grew is read on, and
            # still cut off at the limit.
            size = min(os.fstat(file.fileno()).st_size, MAX_FILE_BYTES)
            data = file.read(size + 1)
            if size < len(data) <= MAX_FILE_BYTES:
                data += file.read(MAX_FILE_BYTES + 1 - len(data))
    except OSError as exc:
        return [], [error(f"cannot read the file: {exc.strerror}", rule="format").located(name)]
    if len(data) > MAX_FILE_BYTES:
        return [], [error(f"the file is over the {MAX_FILE_BYTES:,}-byte limit; not read", rule="format").located(name)]
    return load_bytes(data, name)


def each_file(files: Iterable[Path], on_file: Callable[[Path], None] | None = None
              ) -> Iterator[tuple[Path, list[LoadedResource], list[Problem]]]:
    """Each file loaded in turn: for callers that keep only part of what is loaded, so that
    memory does not grow with the number of files. ``on_file`` is called after each."""
    for path in files:
        loaded, found = load_file(path)
        yield path, loaded, found
        if on_file:
            on_file(path)


def load(paths: Iterable[Path], on_file: Callable[[Path], None] | None = None,
         on_found: Callable[[int], None] | None = None) -> LoadResult:
    """Load every file under ``paths``; for progress bars, ``on_found`` is told how many files
    there are and ``on_file`` is called after each."""
    files, problems = discover(paths)
    if on_found:
        on_found(len(files))
    result = LoadResult(problems=problems)
    for path, loaded, found in each_file(files, on_file):
        result.files.append(str(path))
        result.resources.extend(loaded)
        result.problems.extend(found)
    return result
