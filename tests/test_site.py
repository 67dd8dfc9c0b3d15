"""The published site: generated pages show the engine's figures in plain words, traceably,
offline, reproducibly. Values marked "hand-checked" were read off the sample content by hand."""

import re
import shutil
import tarfile
from pathlib import Path
from urllib.parse import urlparse

import pytest
from lxml import html as lxml_html
from typer.testing import CliRunner

from service import fhirformat, loader
from service.cli import app
from service.register import read_register
from service.site import words
from service.site.build import build_site
from service.site.changes import describe_changes
from service.site.settings import SiteSettings
from service.variation.compare import TrustPathway
from service.variation.network import compare_topics, group_by_topic

from .conftest import GUIDELINES, PATHWAYS, REPOSITORY
from .site_build import AS_OF, CONFIG, SETTINGS, built_site

GUIDELINE_BASE = "http://harmonise.example.org/fhir/PlanDefinition/guideline-"
TOPICS = sorted(p.name for p in PATHWAYS.glob("*/*") if p.is_dir())


@pytest.fixture(scope="session")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return built_site(tmp_path_factory)


def page(site: Path, name: str) -> lxml_html.HtmlElement:
    return lxml_html.fromstring((site / name).read_text("utf-8"))


def text(element: lxml_html.HtmlElement) -> str:
    """The element's text as a reader sees it: a line break counts as a space."""
    return " ".join(" ".join(element.itertext()).split())


def table_rows(document: lxml_html.HtmlElement, caption_start: str) -> dict[str, list[str]]:
    """A table's body rows by the text of their first cell, found by the start of its caption."""
    for table in document.iter("table"):
        caption = table.find("caption")
        if caption is not None and text(caption).startswith(caption_start):
            return {text(row[0]): [text(cell) for cell in row[1:]] for row in table.find("tbody")}
    raise AssertionError(f"no table captioned {caption_start!r}")


# --- what is generated --------------------------------------------------------------------------


def test_every_topic_has_a_variation_page_and_a_guideline_page(site: Path) -> None:
    assert len(TOPICS) == 15
    for topic in TOPICS:
        assert (site / "variation" / f"{topic}.html").is_file(), topic
        assert (site / "guidelines" / f"{topic}.html").is_file(), topic
    for network in ("gastroenterology", "maternity", "paediatrics", "stroke", "urgent-emergency-care"):
        assert (site / "networks" / network / "index.html").is_file()
    assert (site / "overview.html").is_file()


def test_the_hand_written_pages_are_published_and_the_profile_and_comparison_are_unchanged(site: Path) -> None:
    for name in ("index.html", "about-the-data.html", "reading-a-guideline.html", "profile.html", "comparison.html"):
        assert (site / name).is_file(), name
    assert "Optimal assignment" in text(page(site, "comparison.html")) or "optimal assignment" in text(
        page(site, "comparison.html"))


def test_every_page_carries_the_illustrative_content_banner(site: Path) -> None:
    pages = sorted(site.rglob("*.html"))
    assert len(pages) > 40
    for path in pages:
        banner = lxml_html.fromstring(path.read_text("utf-8")).find_class("hm-announce")
        assert banner and "Illustrative content" in text(banner[0]), path


def test_the_navigation_is_by_hosted_network_then_topic(site: Path) -> None:
    tabs = [text(a) for a in page(site, "index.html").find_class("md-tabs__link")]
    assert tabs[:8] == ["Home", "All topics at a glance", "Early-warning signals", "Gastroenterology", "Maternity",
                        "Paediatrics", "Stroke", "Urgent and emergency care"]


# --- the guideline page (clinicians) ------------------------------------------------------------


def test_guideline_page_shows_status_version_network_publisher_host_and_dates(site: Path) -> None:
    facts = table_rows(page(site, "guidelines/asthma-admission-follow-up.html"), "Guideline details")
    # Hand-checked against guidelines/paediatrics/asthma-admission-follow-up.json.
    assert facts["Status"] == ["Agreed (in use)"]
    assert facts["Version"] == ["1.1.0"]
    assert facts["Hosted network"] == ["Paediatrics network"]
    assert facts["Publisher"] == ["South Yorkshire and Bassetlaw Paediatrics Network"]
    assert facts["Host trust"] == ["RCU Sheffield Children's NHS Foundation Trust"]
    assert facts["Approved"] == ["5 February 2025"]
    assert facts["Last reviewed"] == ["5 February 2025"]
    assert facts["Next review due"][0].startswith("29 February 2028")


def test_guideline_page_has_the_narrative_and_the_steps_in_plain_words(site: Path) -> None:
    document = page(site, "guidelines/asthma-admission-follow-up.html")
    assert "An admission with asthma is a warning sign" in text(document)
    steps = table_rows(document, "Each step of the guideline")
    nurse = steps["Review by the children's asthma nurse: control, adherence, triggers, smoke exposure"]
    assert nurse == ["1 to 4 weeks after the date of discharge (days 7–28)", "Specialist nurse", "Telephone",
                     "Every patient on this pathway", "Every patient"]
    clinic = steps["Paediatric clinic review after a severe or repeated attack"]
    assert clinic[0].startswith("4 to 8 weeks") and clinic[2] == "Face to face"
    assert clinic[3].startswith("Only after a life-threatening attack")
    assert steps["Review of preventer treatment and whether to step it down"][-1] == "Optional"


def test_guideline_timeline_is_an_accessible_to_scale_svg(site: Path) -> None:
    document = page(site, "guidelines/asthma-admission-follow-up.html")
    svg = document.xpath("//svg[contains(@class, 'hm-chart')]")[0]
    assert svg.get("role") == "img"
    title_id, desc_id = svg.get("aria-labelledby").split()
    assert svg.xpath(f".//title[@id='{title_id}']") and svg.xpath(f".//desc[@id='{desc_id}']")
    bars = svg.xpath(".//rect")
    assert len(bars) == 6  # one window per step, in the guideline's order
    clinic, medicines = bars[3], bars[4]  # 4 to 8 weeks, then 8 to 16 weeks: to scale, twice as wide
    assert float(medicines.get("width")) == pytest.approx(2 * float(clinic.get("width")), abs=0.2)
    assert float(medicines.get("x")) == pytest.approx(float(clinic.get("x")) + float(clinic.get("width")), abs=0.2)


def test_guideline_page_says_which_trusts_adopted_it_and_how_each_conforms(site: Path) -> None:
    trusts = table_rows(page(site, "guidelines/tonsillectomy-follow-up.html"), "Each trust's pathway")
    assert set(trusts) == {words.trust(ods) for ods in ("RCU", "RFF", "RFR", "RFS", "RP5", "RXF")}
    rcu = trusts[words.trust("RCU")]
    assert rcu[1] == "Yes, this version"
    # Hand-checked: RCU's one difference (a face-to-face sleep review) is in the register.
    assert rcu[2] == "Follows the guideline, except 1 difference the network has agreed"
    assert trusts[words.trust("RFS")][2].startswith("Differs without an agreed reason: 5 unwarranted differences")


def test_what_changed_is_described_in_words_from_the_previous_version(site: Path) -> None:
    asthma = text(page(site, "guidelines/asthma-admission-follow-up.html"))
    assert "Version 1.1.0 replaces version 1.0.0 (approved 18 January 2023)" in asthma
    assert ("“Review by the children's asthma nurse: control, adherence, triggers, smoke exposure” is now due "
            "1 to 4 weeks after the date of discharge (was 2 to 4 weeks).") in asthma
    assert "is now: optional (could); it was: every patient (must)." in asthma
    polyps = text(page(site, "guidelines/post-polypectomy-surveillance.html"))
    assert "“First scar check colonoscopy” is now due 2 to 6 months" in polyps
    assert "New step: “Check that surveillance is still appropriate (age, health, wishes)”" in polyps
    first = text(page(site, "guidelines/tonsillectomy-follow-up.html"))
    assert "This is the first published version of this guideline" in first


def test_describe_changes_pairs_steps_by_id_then_by_meaning() -> None:
    by_canonical = {r.pathway.canonical: r.pathway for r in loader.load([GUIDELINES]).resources}
    previous = by_canonical[f"{GUIDELINE_BASE}asthma-admission-follow-up|1.0.0"]
    current = by_canonical[f"{GUIDELINE_BASE}asthma-admission-follow-up|1.1.0"]
    assert describe_changes(previous, current) == [
        "“Review at the GP practice within a week” is now called “Review at the GP practice within 2 working days”.",
        "“Review at the GP practice within 2 working days” is now due 1 to 4 days after the date of discharge "
        "(was 2 to 7 days).",
        "“Review by the children's asthma nurse: control, adherence, triggers, smoke exposure” is now due "
        "1 to 4 weeks after the date of discharge (was 2 to 4 weeks).",
        "“Review of preventer treatment and whether to step it down” is now: optional (could); it was: "
        "every patient (must).",
    ]
    # A renamed step with a new id is still the same step when it means the same.
    renamed = previous.model_copy(update={"steps": tuple(
        s.model_copy(update={"action_id": "gp-check"}) if s.action_id == "gp-review" else s for s in previous.steps)})
    assert describe_changes(renamed, current) == describe_changes(previous, current)


def test_downloads_are_the_guideline_as_fhir_json_and_xml(site: Path) -> None:
    document = page(site, "guidelines/post-polypectomy-surveillance.html")
    links = {a.get("href") for a in document.iter("a") if a.get("download") is not None}
    assert links == {f"../downloads/post-polypectomy-surveillance-guideline-{v}.{s}"
                     for v in ("1.0.0", "1.1.0") for s in ("json", "xml")}
    source_file = GUIDELINES / "gastroenterology" / "post-polypectomy-surveillance.json"
    source = fhirformat.parse_json(source_file.read_bytes())
    downloads = site / "downloads"
    name = "post-polypectomy-surveillance-guideline-1.1.0"
    assert fhirformat.parse_json((downloads / f"{name}.json").read_bytes()) == source
    assert fhirformat.parse_xml((downloads / f"{name}.xml").read_bytes()) == source


def test_a_draft_guideline_is_marked_as_not_agreed(site: Path) -> None:
    document = text(page(site, "guidelines/coeliac-disease-follow-up.html"))
    assert "Draft: not agreed" in document and "Not approved: this is a draft" in document
    assert "Not measured: this guideline is not agreed" in document


# --- the variation page (network leads) ---------------------------------------------------------


def test_variation_page_shows_each_trusts_figures(site: Path) -> None:
    trusts = table_rows(page(site, "variation/tonsillectomy-follow-up.html"), "Each trust's current pathway")
    rff = trusts["RFF Barnsley Hospital NHS Foundation Trust"]
    # Hand-checked: RFF's pathway has three telephone steps and an open-access (patient-initiated) one.
    assert rff[:4] == ["2.0.0", "3", "1 patient-initiated (not counted), 3 telephone", "70"]
    assert rff[4] == "1"  # unwarranted


def test_variation_matrix_cells_have_the_classification_in_words(site: Path) -> None:
    document = page(site, "variation/tonsillectomy-follow-up.html")
    matrix = table_rows(document, "Steps of the guideline (rows) by trust (columns)")
    header = [text(th) for th in document.xpath("//table[contains(@class,'hm-matrix')]/thead/tr/th")]
    sleep = dict(zip(header[1:], next(v for k, v in matrix.items() if k.startswith("Review of sleep symptoms"))))
    assert sleep["RCU"] == "day 84 warranted (agreed reason)"
    assert sleep["RXF"] == "not done unwarranted (register entry expired)"
    cell = document.xpath("//table[contains(@class,'hm-matrix')]//td[contains(., 'register entry expired')]")[0]
    assert "hm-unwarranted" in cell.get("class")


def test_variation_matrix_shows_a_window_as_written_not_its_middle(site: Path) -> None:
    document = page(site, "variation/tonsillectomy-follow-up.html")
    matrix = table_rows(document, "Steps of the guideline (rows) by trust (columns)")
    header = [text(th) for th in document.xpath("//table[contains(@class,'hm-matrix')]/thead/tr/th")]
    access = dict(zip(header[1:], next(v for k, v in matrix.items() if k.startswith("Open access"))))
    # RCU, RFR, RP5 and RXF give open access for days 0-14 (timingRange), the guideline's window;
    # RFF and RFS write day 0 (timingDuration). Before #14 the windows showed as "day 7".
    assert access["RCU"] == "days 0\u201314 matches"
    assert access["RFF"] == "day 0 within tolerance"
    assert not any("day 7" in cell for cell in access.values())
    # The chart draws each window as a bar (four trusts' open access), with its days as written in the note.
    svg = document.xpath("//svg[contains(@class,'hm-chart')]")[0]
    assert len(svg.xpath(".//*[local-name()='rect'][@class='hm-window']")) >= 4
    assert "days 0\u201314: matches" in [text(t) for t in svg.iter("text")]


def test_variation_page_lists_differences_with_register_rationale_dates_and_sources(site: Path) -> None:
    document = text(page(site, "variation/tonsillectomy-follow-up.html"))
    assert "Tertiary centre operating on children with complex obstructive sleep apnoea" in document
    assert "Agreed by Paediatrics Network clinical lead on 12 June 2024; review by 31 March 2027." in document
    assert "Expired:" in document and "review by 30 June 2026" in document
    assert "PlanDefinition.action[2].code" in document
    assert "Register review dates were checked on 22 November 2026" in document


def test_variation_chart_is_an_accessible_svg_with_a_marker_per_day(site: Path) -> None:
    svg = page(site, "variation/tonsillectomy-follow-up.html").xpath("//svg[contains(@class,'hm-chart')]")[0]
    assert svg.get("role") == "img" and svg.find("title") is not None and svg.find("desc") is not None
    notes = [text(t) for t in svg.iter("text")]
    assert "day 183: unwarranted" in notes  # RP5's sleep review at 6 months, outside days 42-112


def test_topic_without_an_agreed_guideline_shows_the_consensus_proposal(site: Path) -> None:
    document = text(page(site, "variation/coeliac-disease-follow-up.html"))
    assert "There is no agreed guideline for this topic" in document
    assert "not used to judge the trusts" in document
    assert "Consensus proposal" in document and "not agreed guidance" in document
    proposal_file = site / "downloads" / "coeliac-disease-follow-up-consensus-proposal.json"
    proposal = fhirformat.parse_json(proposal_file.read_bytes())
    assert proposal["status"] == "draft" and proposal["experimental"] is True


def test_the_overview_counts_are_the_engines_unwarranted_counts(site: Path) -> None:
    result = loader.load([PATHWAYS, GUIDELINES])
    register, _ = read_register(GUIDELINES)
    report = compare_topics(group_by_topic([TrustPathway(r.pathway, r.file) for r in result.resources]),
                            register, AS_OF)
    document = page(site, "overview.html")
    for topic in report.topics:
        row = document.xpath(f"//tr[th/a[@href='variation/{topic.topic}.html']]")[0]
        table = row.getparent().getparent()
        trusts = [text(th) for th in table.xpath("./thead/tr/th")[2:]]
        shown = dict(zip(trusts, [text(td) for td in row.findall("td")[1:]]))
        for summary in topic.trusts:
            assert shown[summary.ods] == str(summary.unwarranted), (topic.topic, summary.ods)
    # Hand-checked: RFS has five unwarranted differences on tonsillectomy follow-up.
    row = document.xpath("//tr[th/a[@href='variation/tonsillectomy-follow-up.html']]")[0]
    assert [text(td) for td in row.findall("td")][1:] == ["1", "5", "5", "1", "2", "0"]


# --- accessibility, offline, reproducibility ----------------------------------------------------


def test_generated_tables_have_captions_and_header_cells(site: Path) -> None:
    for folder in ("guidelines", "variation", "networks"):
        for path in (site / folder).rglob("*.html"):
            for table in lxml_html.fromstring(path.read_text("utf-8")).iter("table"):
                if "hm-table" in (table.get("class") or ""):
                    assert table.find("caption") is not None, path
                    assert all(th.get("scope") in ("col", "row") for th in table.iter("th")), path


_REFERENCE = re.compile(r"""(?:\b(?:src|href|srcset|poster|action)\s*=\s*["']?|url\(\s*["']?|@import\s+["'])"""
                        r"""\s*((?:https?:)?//[^"')\s>]+)""", re.IGNORECASE)


def test_nothing_on_the_site_refers_to_another_host(site: Path) -> None:
    found = []
    for path in site.rglob("*"):
        if path.suffix in (".html", ".css", ".js") and path.is_file():
            for url in _REFERENCE.findall(path.read_text("utf-8", errors="replace")):
                absolute = url if url.startswith("http") else "http:" + url  # protocol-relative //host/...
                if urlparse(absolute).hostname not in ("localhost", "127.0.0.1"):
                    found.append((path.relative_to(site), url))
    assert found == []


def test_every_link_is_relative_so_the_site_works_under_any_sub_path(site: Path) -> None:
    for path in site.rglob("*.html"):
        document = lxml_html.fromstring(path.read_text("utf-8"))
        for _element, _attribute, link, _pos in document.iterlinks():
            assert not link.startswith("/"), (path, link)


def test_the_same_input_gives_the_same_bytes(site: Path, tmp_path: Path) -> None:
    # Built again into another folder, from a copy of the content somewhere else.
    content = tmp_path / "content"
    shutil.copytree(PATHWAYS, content / "pathways")
    shutil.copytree(GUIDELINES, content / "guidelines")
    again = tmp_path / "site"
    build_site(SiteSettings(content / "pathways", content / "guidelines", AS_OF, root=REPOSITORY), again, CONFIG)
    first = {p.relative_to(site): p.read_bytes() for p in site.rglob("*") if p.is_file()}
    second = {p.relative_to(again): p.read_bytes() for p in again.rglob("*") if p.is_file()}
    assert first.keys() == second.keys()
    assert [name for name in first if first[name] != second[name]] == []


# --- harmonise publish ---------------------------------------------------------------------------

runner = CliRunner()


def test_publish_builds_the_site_from_the_store(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'store.db'}"
    assert runner.invoke(app, ["load", "--database", url]).exit_code == 0
    result = runner.invoke(app, ["publish", "--out", str(tmp_path / "out"), "--as-of", AS_OF.isoformat(),
                                 "--database", url])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "out" / "index.html").is_file()
    assert "Published" in result.output and "for 15 topics from the store at" in " ".join(result.output.split())
    # The site offers the FHIR package its integrators' page links, with the store's agreed guidelines in it.
    with tarfile.open(tmp_path / "out" / "package.tgz") as package:
        names = package.getnames()
    assert "package/package.json" in names
    assert "package/PlanDefinition-guideline-tonsillectomy-follow-up.json" in names


def test_publish_refuses_content_with_errors_and_writes_nothing(tmp_path: Path) -> None:
    shutil.copytree(PATHWAYS / "stroke", tmp_path / "pathways" / "stroke")
    (tmp_path / "pathways" / "stroke" / "broken.json").write_text('{"resourceType": "PlanDefinition", "status": 5}')
    out = tmp_path / "out"
    result = runner.invoke(app, ["publish", "--out", str(out), "--pathways", str(tmp_path / "pathways"),
                                 "--format", "json"])
    assert result.exit_code == 1
    assert '"ok": false' in result.output and "broken.json" in result.output
    assert not (out / "index.html").exists()


def test_publish_usage_errors_exit_2(tmp_path: Path) -> None:
    assert runner.invoke(app, ["publish", "--as-of", "soon"]).exit_code == 2
    # The output folder is emptied before a build: a folder of other things is refused, untouched.
    (tmp_path / "notes.txt").write_text("keep me")
    assert runner.invoke(app, ["publish", "--out", str(tmp_path)]).exit_code == 2
    assert (tmp_path / "notes.txt").read_text() == "keep me"


def test_settings_default_to_the_repository_folders_and_the_build_day(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1795305600")  # 22 November 2026, 00:00 UTC
    settings = SiteSettings.from_extra(None, REPOSITORY)
    assert settings == SETTINGS


@pytest.mark.parametrize(("low", "high", "said"), [
    (7, 28, "1 to 4 weeks"), (0, 2, "up to 2 days"), (60.875, 182.625, "2 to 6 months"), (1, 4, "1 to 4 days"),
    (42, 42, "6 weeks"), (5, 10, "5 to 10 days"),
])
def test_windows_are_said_in_the_largest_whole_unit(low: float, high: float, said: str) -> None:
    assert words.window(low, high) == said


def test_the_signals_page_lists_the_planted_signals_newest_first(site: Path) -> None:
    rows = table_rows(page(site, "signals.html"), "6 open signal(s)")
    assert list(rows) == ["2026-09-30", "2026-06-30", "2026-03-31", "2025-11-03", "2025-11-01", "2025-09-10"]
    title, where, _what, look_at = rows["2025-11-01"]
    assert title.startswith("Patients who had every required follow-up") and "concern (lower)" in title
    assert where.startswith("RP5") and "version 2.2.0 from 2025-11-03" in look_at


def test_activity_pages_draw_an_spc_chart_per_trust_and_measure_with_text_equivalents(site: Path) -> None:
    document = page(site, "monitoring/tonsillectomy-follow-up.html")
    charts = document.xpath("//svg[contains(@class, 'hm-chart')]")
    assert len(charts) == 18  # six trusts, three measures
    assert all(chart.get("role") == "img" and chart.find("title") is not None for chart in charts)
    summaries = [text(p) for p in document.find_class("hm-spc-summary")]
    assert sum("concern (lower)" in s for s in summaries) == 1  # RP5, after it dropped the day-1 call
    assert any("the process will consistently miss the target" in s or "sometimes meet" in s for s in summaries)
    rp5 = table_rows(document, "Patients who had every required follow-up at RP5")
    assert rp5["2025-11"][0] == "74" and "concern" in rp5["2025-11"][-1]


def test_a_rebased_chart_says_where_its_limits_were_recalculated(site: Path) -> None:
    content = text(page(site, "monitoring/six-month-post-stroke-review.html"))
    assert "Limits recalculated: 2025-12: version 2.1.0 adopted" in content
