"""Peak memory (RSS) of ingest and of compare, each in a fresh process (run by ``benchmarks.run``).

``python -m benchmarks.memory ingest DATABASE_URL FOLDER...``: ``harmonise load``'s path
(``application.loading.store_files``) on every file under the folders.
``python -m benchmarks.memory compare FOLDER...``: ``harmonise compare --all --pathways``'s path (the
loader file by file, keeping each normalised pathway, ``group_by_topic``, ``compare_topics``).

Each prints one JSON object: the process's resident memory (``VmRSS``) and its peak so far
(``VmHWM``, the same as ``ru_maxrss``) after imports, after loading and at the end, in MB, and
how many pathways it handled.
"""

import json
import sys
import time
from datetime import date
from pathlib import Path


def _status(name: str) -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(name + ":"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no {name} in /proc/self/status")


def _rss_mb() -> float:
    return _status("VmRSS")


def _peak_mb() -> float:
    return _status("VmHWM")


def main(argv: list[str]) -> dict:
    # Imported before the baseline is taken.
    from service import loader  # noqa: PLC0415
    from service.application.loading import Change, store_files  # noqa: PLC0415
    from service.store import Store  # noqa: PLC0415
    from service.variation.compare import TrustPathway  # noqa: PLC0415
    from service.variation.network import compare_topics, group_by_topic  # noqa: PLC0415

    kind = argv[0]
    result = {"kind": kind, "baseline_mb": _rss_mb()}
    started = time.perf_counter()
    if kind == "ingest":
        store = Store.open(argv[1])
        report = store_files(store, [Path(p) for p in argv[2:]])
        store.close()
        result["pathways"] = report.count(Change.CREATED)
        result["errors"] = sum(1 for p in report.problems if p.severity.value == "error")
    elif kind == "compare":
        files, _problems = loader.discover([Path(p) for p in argv[1:]])
        topics = group_by_topic([TrustPathway(r.pathway, r.file) for _path, loaded, _found in loader.each_file(files)
                                 for r in loaded])
        result["after_load_mb"] = _rss_mb()
        report = compare_topics(topics, [], date(2026, 1, 1))
        result["pathways"] = sum(len(content.trusts) for content in topics.values())
        result["topics"] = len(report.topics)
    else:
        raise SystemExit(f"unknown measurement {kind}")
    result["end_mb"] = _rss_mb()
    result["peak_mb"] = _peak_mb()
    result["seconds"] = time.perf_counter() - started
    return result


if __name__ == "__main__":
    print(json.dumps(main(sys.argv[1:])))
