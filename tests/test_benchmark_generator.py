"""The benchmark generator (benchmarks/generate.py): deterministic, synthetic, and valid content.

No timings here: the benchmarks themselves run with ``python -m benchmarks.run``.
"""

import hashlib
from pathlib import Path

import pytest

from benchmarks import generate
from service import conventions, loader, terminology
from service.problems import Severity

pytestmark = pytest.mark.fast  # no database, server process or browser: make test-fast runs it

SPEC = generate.Spec(trusts=4, topics=17, seed=99, xml_share=0.5)


def _digest(folder: Path) -> str:
    digest = hashlib.sha256()
    for file in sorted(folder.rglob("*")):
        if file.is_file():
            digest.update(file.relative_to(folder).as_posix().encode() + b"\0" + file.read_bytes())
    return digest.hexdigest()


def test_the_same_spec_gives_the_same_bytes(tmp_path: Path) -> None:
    first = generate.write(SPEC, tmp_path / "a")
    second = generate.write(SPEC, tmp_path / "b")
    assert first == second
    assert _digest(tmp_path / "a") == _digest(tmp_path / "b")
    # Items can be made one at a time, in any order, and come out the same.
    ods, slot = generate.coordinates(SPEC)[-1]
    item = generate.pathway(SPEC, ods, slot)
    assert item.render() == (tmp_path / "a" / item.path).read_bytes()
    # Another seed, other content.
    generate.write(generate.Spec(trusts=4, topics=17, seed=100, xml_share=0.5), tmp_path / "c")
    assert _digest(tmp_path / "c") != _digest(tmp_path / "a")


def test_every_file_is_valid_synthetic_content_with_only_the_outside_trust_warning(tmp_path: Path) -> None:
    counts = generate.write(SPEC, tmp_path)
    assert counts["pathways"] == 4 * 17 and counts["guidelines"] == 17 and counts["xml"] > 0
    result = loader.load([tmp_path])
    assert len(result.resources) == counts["pathways"] + counts["guidelines"]
    assert not [p for p in result.problems if p.severity is Severity.ERROR]
    # Synthetic ODS codes are outside the network's seven, so the owning-organization rule warns
    # about each resource, once; nothing else is out of line with the conventions.
    assert {p.rule for p in result.problems} == {"owning-organization"}
    assert len(result.problems) == len(result.resources)
    for resource in result.resources:
        pathway = resource.pathway
        assert resource.data["experimental"] is True
        assert "SYNTHETIC" in resource.data["description"]
        assert pathway.trust.startswith("Z") and pathway.trust not in conventions.TRUSTS
        assert pathway.topic in terminology.topics()
        assert pathway.network == terminology.topic_network(pathway.topic)
        assert pathway.index_event == terminology.topic_index_event(pathway.topic)


def test_topic_slots_beyond_the_known_topics_are_further_synthetic_networks() -> None:
    topics = generate.topic_codes()
    assert len(topics) == 15
    assert generate.slot_topic(16) == (topics[1], 1)
    assert generate.pathway_id("Z0001", 16) == f"z0001-{topics[1]}-n1"
    assert len(generate.coordinates(generate.Spec(trusts=200, topics=500))) == 100_000
    assert generate.network_trusts(generate.Spec(trusts=5, topics=30, trusts_per_network=3), 1) == [3, 4, 0]
