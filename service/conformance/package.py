"""The NPM-format FHIR package (``harmonise package``) and a resource's dependencies (``$package``).

A FHIR package is a gzipped tarball with a ``package/`` folder holding ``package.json`` (the
manifest), ``.index.json`` (what each file is) and one JSON file per resource: the layout the HL7
IG Publisher, the validator and SUSHI read from their package cache. It depends on
``hl7.fhir.r4.core`` 4.0.1, named and not included.
"""

import gzip
import io
import json
import tarfile
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any, Final

from .. import __version__, terminology
from .. import conventions as c
from ..fhirformat import JsonDict, to_json
from . import catalogue

NAME: Final = "harmonise.example.fhir"
FILE_NAME: Final = "package.tgz"


def manifest(version: str = __version__) -> JsonDict:
    """``package/package.json``."""
    return {
        "name": NAME,
        "version": version,
        "description": "Harmonise: the network's profiles, extensions, code systems, value sets and active "
                       "guidelines (illustrative sample content, not for clinical use).",
        "author": "Harmonise project",
        "license": "Apache-2.0",
        "canonical": c.BASE,
        "url": c.BASE,
        "fhirVersions": ["4.0.1"],
        "type": "Conformance",
        "dependencies": {"hl7.fhir.r4.core": "4.0.1"},
        "jurisdiction": "urn:iso:std:iso:3166#GB",
    }


def file_name(resource: JsonDict) -> str:
    return f"{resource['resourceType']}-{resource['id']}.json"


def index(resources: Iterable[JsonDict]) -> JsonDict:
    """``package/.index.json``: the key facts of every resource file."""
    files = []
    for resource in resources:
        entry: JsonDict = {"filename": file_name(resource), "resourceType": resource["resourceType"],
                           "id": resource["id"]}
        for key in ("url", "version", "kind", "type"):
            if isinstance(resource.get(key), str):
                entry[key] = resource[key]
        files.append(entry)
    return {"index-version": 1, "files": files}


def conformance_resources() -> list[JsonDict]:
    """Every profile, extension, code system and value set of this software version."""
    return [resource for type_ in catalogue.TYPES for resource in catalogue.resources(type_)]


def _systems_used(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        if isinstance(node.get("system"), str):
            yield node["system"]
        for value in node.values():
            yield from _systems_used(value)
    elif isinstance(node, list):
        for value in node:
            yield from _systems_used(value)


def dependencies(resource: JsonDict) -> list[JsonDict]:
    """What a resource needs to be read and checked (CRMI ``$package``): the network's profiles it
    claims and the extensions they name, the ValueSets they bind, and every network CodeSystem
    those or the resource itself use. Each once, in that order."""
    wanted: dict[str, JsonDict] = {}
    queue = [p for p in (resource.get("meta") or {}).get("profile", []) if catalogue.by_url(p)]
    queue += [e.get("url") for e in resource.get("extension", []) if isinstance(e, dict) and catalogue.by_url(
        str(e.get("url")))]
    systems = [s for s in _systems_used(resource) if s in terminology.code_system_urls()]
    while queue:
        url = queue.pop(0)
        found = catalogue.by_url(url)
        if found is None or found["url"] in wanted:
            continue
        wanted[found["url"]] = found
        for element in (found.get("differential") or {}).get("element", []):
            for type_ in element.get("type", []):
                queue.extend(type_.get("profile", []))
            if (element.get("binding") or {}).get("valueSet"):
                queue.append(element["binding"]["valueSet"])
        for include in (found.get("compose") or {}).get("include", []):
            systems.append(include["system"])
    for system in systems:
        wanted.setdefault(system, catalogue.by_url(system) or {})
    return [item for item in wanted.values() if item]


def _add(archive: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(f"package/{name}")
    info.size = len(data)
    info.mode = 0o644
    info.mtime = 0  # the same content always makes the same bytes
    archive.addfile(info, io.BytesIO(data))


def write_package(folder: Path, guidelines: Iterable[JsonDict], version: str = __version__) -> Path:
    """Write ``folder/package.tgz``: the conformance resources and ``guidelines``; its path."""
    resources = conformance_resources() + list(guidelines)
    names = [file_name(resource) for resource in resources]
    duplicates = {name for name in names if names.count(name) > 1}
    if duplicates:
        raise ValueError(f"two resources would share a file in the package: {', '.join(sorted(duplicates))}")
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / FILE_NAME
    buffer = io.BytesIO()
    with gzip.GzipFile(fileobj=buffer, mode="wb", mtime=0) as packed, \
            tarfile.open(fileobj=packed, mode="w", format=tarfile.PAX_FORMAT) as archive:
        _add(archive, "package.json", json.dumps(manifest(version), indent=2).encode())
        _add(archive, ".index.json", json.dumps(index(resources), indent=2).encode())
        for resource in resources:
            _add(archive, file_name(resource), to_json(resource, pretty=True))
    target.write_bytes(buffer.getvalue())
    return target
