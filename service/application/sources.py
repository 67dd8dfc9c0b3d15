"""Where the use cases read the network's content: the store (the record), or folders of files.

``Source`` is the small interface every use case reads through, with two implementations:

- ``StoreSource``: the store, the network's record. Every reader (the command line by default,
  the API, the site served at ``/``) reads this, so all of them see the same content.
- ``FolderSource``: ``pathways/`` and ``guidelines/`` (and ``activity/``) as files, read without a
  store: incoming content, or a what-if. Output made from it says so (``Source.description``).

Each PlanDefinition comes back as a ``Record``: its normalised ``Pathway``, its FHIR JSON and
where it came from (a file, or ``PlanDefinition/id/_history/n``), so every figure stays traceable.
"""

from collections.abc import Callable, Collection, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Final, Protocol

from .. import conventions as c
from .. import loader, register
from ..fhirformat import JsonDict
from ..pathway import Pathway, PathwayKind
from ..problems import Problem, Severity, error

if TYPE_CHECKING:
    # Imported where used: the store (SQLAlchemy) by StoreSource, as reading folders needs none of it; activity
    # (statistics, SPC) and narratives (Markdown) by the readers that ask for them, which a comparison does not.
    from ..monitoring.activity import ActivityValue, MeasureInfo
    from ..store import Store, StoredVersion

#: The register's YAML file in a guidelines folder.
REGISTER_FILE: Final = register.REGISTER_FILE


@dataclass(frozen=True)
class Record:
    """One PlanDefinition version as the use cases see it."""

    pathway: Pathway
    data: JsonDict
    #: Where it came from: a file (as the reader should see it named) or ``PlanDefinition/id/_history/n``.
    origin: str
    #: The file it was read from (folders only).
    file: Path | None = None


@dataclass(frozen=True)
class Activity:
    values: "list[ActivityValue]" = field(default_factory=list)
    measures: "dict[str, MeasureInfo]" = field(default_factory=dict)


class Source(Protocol):
    """What the use cases read. Problems are errors that kept content out (never silently)."""

    #: In words, for output: what the figures were made from.
    description: str

    def plan_definitions(self, topics: Collection[str] | None = None, *, every_version: bool = False
                         ) -> tuple[list[Record], list[Problem]]:
        """The PlanDefinitions (of these topics, else all): the current version of each, or every version."""
        ...

    def chosen(self, canonicals: Collection[str]) -> list[Record]:
        """The versions named by ``url|version`` (or ``url``), wherever they are in the history."""
        ...

    def register(self) -> tuple[list[register.RegisterEntry], list[Problem]]:
        ...

    def activity(self) -> tuple[Activity, list[Problem]]:
        ...

    def narrative(self, record: Record) -> str | None:
        """The clinicians' narrative of a guideline version (Markdown), if it has one."""
        ...


def as_record(data: JsonDict, origin: str) -> Record | None:
    """A stored PlanDefinition normalised; None if it cannot be (stored content is valid FHIR, so only
    content written before a rule existed)."""
    _plan, pathway, _problems = loader.check_plan_definition(data)
    return Record(pathway, data, origin) if pathway is not None else None


def _errors(problems: Iterable[Problem]) -> list[Problem]:
    return [problem for problem in problems if problem.severity is Severity.ERROR]


class StoreSource:
    """The store: current versions by search, every version by history."""

    def __init__(self, store: "Store") -> None:
        self.store = store
        self.description = f"the store at {store.engine.url.render_as_string(hide_password=True)}"

    def _reference(self, version: "StoredVersion") -> str:
        return f"{version.resource_type}/{version.resource_id}/_history/{version.version_id}"

    def plan_definitions(self, topics: Collection[str] | None = None, *, every_version: bool = False
                         ) -> tuple[list[Record], list[Problem]]:
        from ..store import parse_search
        from ..store.query import MAX_COUNT

        versions: Iterable[StoredVersion]
        if every_version:
            versions = self.history_of("PlanDefinition")
        elif topics is None:
            versions = self.store.current("PlanDefinition")
        elif not topics:
            versions = ()
        else:
            tokens = ",".join(f"{c.PATHWAY_TOPIC_SYSTEM}|{topic}" for topic in sorted(topics))
            versions = self.store.matching(parse_search("PlanDefinition", [("context", tokens),
                                                                           ("_count", str(MAX_COUNT))]))
        records = [as_record(v.resource, self._reference(v)) for v in versions if v.resource is not None]
        return [r for r in records if r is not None], []

    def history_of(self, resource_type: str, resource_id: str | None = None) -> "Iterator[StoredVersion]":
        """Every version of one resource (or of every resource of the type), newest first, page by page."""
        from ..store.query import MAX_COUNT

        offset = 0
        while True:
            page = self.store.history(resource_type, resource_id, count=MAX_COUNT, offset=offset)
            yield from page.versions
            if not page.has_next:
                return
            offset += page.count

    def chosen(self, canonicals: Collection[str]) -> list[Record]:
        found: list[Record] = []
        for canonical in sorted(canonicals):
            found.extend(self._by_canonical(canonical))
        return found

    def _by_canonical(self, canonical: str) -> list[Record]:
        """The ``url`` search finds the resources that carry the url now; a version they no longer are
        is looked for in those resources' own histories, never in every resource's."""
        from ..store import parse_search
        from ..store.query import MAX_COUNT

        url, _, version = canonical.partition("|")
        query = parse_search("PlanDefinition", [("url", url), ("_count", str(MAX_COUNT))])
        current = [stored for stored in self.store.matching(query) if stored.resource is not None]
        hits = [stored for stored in current if not version or stored.existing().get("version") == version]
        if not hits and version:
            for stored in current:
                earlier = next((v for v in self.history_of("PlanDefinition", stored.resource_id)
                                if v.resource is not None and (v.resource.get("url"), v.resource.get("version"))
                                == (url, version)), None)
                if earlier is not None:
                    hits.append(earlier)
        records = [as_record(stored.existing(), self._reference(stored)) for stored in hits]
        return [r for r in records if r is not None]

    def register(self) -> tuple[list[register.RegisterEntry], list[Problem]]:
        entries, problems = [], []
        for version in self.store.current("Basic"):
            if version.resource is None or not register.is_register_entry(version.resource):
                continue
            try:
                entries.append(register.from_resource(version.resource))
            except ValueError as exc:
                problems.append(error(str(exc), rule="register").located(self._reference(version)))
        return entries, problems

    def activity(self) -> tuple[Activity, list[Problem]]:
        from ..monitoring.activity import from_measure_report, measure_info

        measures = {info.id: info for info in (measure_info(v.resource) for v in self.store.current("Measure")
                                               if v.resource)}
        by_url = {m.url: m for m in measures.values()}
        values = (from_measure_report(v.resource, by_url) for v in self.store.current("MeasureReport") if v.resource)
        return Activity([value for value in values if value is not None], measures), []

    def narrative(self, record: Record) -> str | None:
        return guideline_narrative(record.data)


def guideline_narrative(data: JsonDict) -> str | None:
    """The Markdown narrative a guideline carries (``relatedArtifact`` of type documentation; docs/profile.md)."""
    from ..narrative import read_narrative

    return read_narrative(data)


class FolderSource:
    """Folders of files, read with the loader; the register from its YAML file, narratives from ``.md`` files."""

    def __init__(self, pathways: Path, guidelines: Path, activity: Path | None = None,
                 display: Callable[[str], str] = str,
                 on_found: Callable[[int], None] | None = None, on_file: Callable[[Path], None] | None = None) -> None:
        self.pathways, self.guidelines, self.activity_folder = pathways, guidelines, activity
        self.display, self.on_found, self.on_file = display, on_found, on_file
        self.description = f"the folders {pathways} and {guidelines}, not the store"
        self._loaded: tuple[list[Record], list[Problem]] | None = None

    def _all(self) -> tuple[list[Record], list[Problem]]:
        if self._loaded is None:
            # Only what the use cases need is kept, file by file: each file's normalised pathway and JSON.
            files, problems = loader.discover([self.pathways, self.guidelines])
            if self.on_found:
                self.on_found(len(files))
            records: list[Record] = []
            for _path, loaded, found in loader.each_file(files, self.on_file):
                records.extend(Record(r.pathway, r.data, self._origin(r), Path(r.file)) for r in loaded)
                problems.extend(found)
            self._loaded = records, _errors(problems)
        return self._loaded

    def _origin(self, resource: loader.LoadedResource) -> str:
        name = self.display(resource.file)
        return name if resource.entry is None else f"{name} (Bundle.entry[{resource.entry}])"

    def plan_definitions(self, topics: Collection[str] | None = None, *, every_version: bool = False
                         ) -> tuple[list[Record], list[Problem]]:
        records, problems = self._all()
        if topics is not None:
            records = [r for r in records if r.pathway.topic in topics]
        return records, problems

    def chosen(self, canonicals: Collection[str]) -> list[Record]:
        return [r for r in self._all()[0] if r.pathway.canonical in canonicals or r.pathway.url in canonicals]

    def register(self) -> tuple[list[register.RegisterEntry], list[Problem]]:
        return register.read_register(self.guidelines)

    def activity(self) -> tuple[Activity, list[Problem]]:
        from ..monitoring.activity import parse_csv, read_measures

        folder = self.activity_folder
        if folder is None or not folder.is_dir():
            return Activity(), []
        measures = read_measures(folder / "measures") if (folder / "measures").is_dir() else {}
        values: list[ActivityValue] = []
        problems: list[Problem] = []
        for path in sorted(folder.glob("*.csv")):
            found, found_problems = parse_csv(path.read_text("utf-8-sig"), measures, self.display(str(path)))
            values.extend(found)
            problems.extend(found_problems)
        return Activity(values, measures), problems

    def narrative(self, record: Record) -> str | None:
        """The carried narrative, else the Markdown beside the guideline's file (its authoring form)."""
        carried = guideline_narrative(record.data)
        if carried is not None or record.pathway.kind is not PathwayKind.NETWORK_GUIDELINE or record.file is None:
            return carried
        return beside(record.file) if "Bundle.entry" not in record.origin else None


def beside(file: Path) -> str | None:
    """The authoring form of a guideline's narrative: ``<topic>.md`` beside ``<topic>.json``."""
    path = file.with_suffix(".md")
    return path.read_text("utf-8") if path.is_file() else None


class WithProposed:
    """Another source, with one proposed PlanDefinition in place of the current version of the same resource:
    a what-if, compared without writing it."""

    def __init__(self, base: Source, proposed: JsonDict, origin: str) -> None:
        self.base, self.proposed, self.origin = base, proposed, origin
        self.description = f"{base.description}, with {origin} in place of its stored version"

    def plan_definitions(self, topics: Collection[str] | None = None, *, every_version: bool = False
                         ) -> tuple[list[Record], list[Problem]]:
        records, problems = self.base.plan_definitions(topics, every_version=every_version)
        prefix = f"PlanDefinition/{self.proposed.get('id')}/"
        kept = [r for r in records if not r.origin.startswith(prefix)]
        proposed = as_record(self.proposed, self.origin)
        if proposed is not None and (topics is None or proposed.pathway.topic in topics):
            kept.append(proposed)
        return kept, problems

    def chosen(self, canonicals: Collection[str]) -> list[Record]:
        return self.base.chosen(canonicals)

    def register(self) -> tuple[list[register.RegisterEntry], list[Problem]]:
        return self.base.register()

    def activity(self) -> tuple[Activity, list[Problem]]:
        return self.base.activity()

    def narrative(self, record: Record) -> str | None:
        return self.base.narrative(record)
