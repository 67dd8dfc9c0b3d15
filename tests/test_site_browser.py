"""The published site in a real headless browser: it renders, search works, nothing leaves the
machine, and axe-core finds no serious or critical accessibility problem on any kind of page.

Uses Debian's ``chromium`` (installed by ``make test``) through Playwright's Python package, and
the axe-core build bundled in the ``axe-playwright-python`` package, so nothing is downloaded at
test time. Without Chromium the tests are skipped on a developer's machine but fail in CI.
Every tab records its requests; a request to any host but localhost fails the test (and is
blocked). Screenshots are kept in ``test-artifacts/``.
"""

import functools
import threading
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlparse

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Page

from .browsers import ARTIFACTS, Visit, is_local
from .site_build import built_site


class _Quiet(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The built site served over HTTP on localhost, under a sub-path (``/harmonise/``)."""
    site = built_site(tmp_path_factory)
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Quiet, directory=str(site.parent)))
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/{site.name}/"
    httpd.shutdown()
    thread.join()


def search(page: Page, word: str) -> None:
    """Type into the search box as a person would (Material searches on key presses)."""
    page.locator("input.md-search__input").click()
    page.keyboard.type(word)


def test_home_page_renders_with_the_banner_and_the_network_tabs(visit: Visit, server: str) -> None:
    visit.open(server + "index.html", "home")
    page = visit.page
    assert page.locator(".hm-announce").is_visible()
    assert "Illustrative content" in page.locator(".hm-announce").inner_text()
    assert page.locator(".md-tabs__link", has_text="Paediatrics").is_visible()
    assert visit.requests and all(is_local(url) for url in visit.requests)


def test_guideline_page_renders_the_timeline_and_the_tables(visit: Visit, server: str) -> None:
    visit.open(server + "guidelines/asthma-admission-follow-up.html", "guideline")
    page = visit.page
    timeline = page.locator("svg.hm-chart")
    timeline.scroll_into_view_if_needed()
    box = timeline.bounding_box()
    assert box is not None and box["width"] > 500 and box["height"] > 200
    assert timeline.locator("rect").count() == 6
    steps = page.locator("table.hm-table", has=page.locator("caption", has_text="Each step of the guideline"))
    assert steps.is_visible() and steps.locator("tbody tr").count() == 6
    assert page.get_by_text("29 February 2028").is_visible()


def test_topic_page_renders_the_matrix_and_the_timing_chart(visit: Visit, server: str) -> None:
    visit.open(server + "variation/tonsillectomy-follow-up.html", "topic")
    page = visit.page
    matrix = page.locator("table.hm-matrix")
    assert matrix.is_visible() and matrix.locator("tbody tr").count() == 6
    cell = matrix.locator("td", has_text="register entry expired")
    assert cell.is_visible()
    background = cell.evaluate("td => getComputedStyle(td).backgroundColor")
    assert background == "rgb(251, 227, 225)"  # the unwarranted colour, beside its words
    chart = page.locator("svg.hm-chart")
    chart.scroll_into_view_if_needed()
    box = chart.bounding_box()
    assert box is not None and box["height"] > 400


def test_search_finds_a_guideline_by_a_word_of_its_title(visit: Visit, server: str) -> None:
    visit.open(server + "index.html")
    page = visit.page
    search(page, "polypectomy")
    results = page.locator(".md-search-result__link")
    results.first.wait_for(timeout=15000)
    hrefs = results.evaluate_all("links => links.map(link => link.href)")
    # Guideline pages are boosted in the index, so a clinician's search lands on the guideline first.
    assert urlparse(hrefs[0]).path == urlparse(server).path + "guidelines/post-polypectomy-surveillance.html", hrefs
    page.screenshot(path=str(ARTIFACTS / "search.png"))


def test_the_site_works_from_the_disk_with_search(visit: Visit, tmp_path_factory: pytest.TempPathFactory) -> None:
    site = built_site(tmp_path_factory)
    visit.open((site / "guidelines" / "tonsillectomy-follow-up.html").as_uri(), "from-disk")
    page = visit.page
    assert page.locator("svg.hm-chart").is_visible()
    search(page, "tonsillectomy")
    page.locator(".md-search-result__link").first.wait_for(timeout=15000)


@pytest.mark.parametrize("path", [
    "index.html", "overview.html", "networks/paediatrics/index.html", "guidelines/asthma-admission-follow-up.html",
    "guidelines/coeliac-disease-follow-up.html", "variation/tonsillectomy-follow-up.html",
    "variation/coeliac-disease-follow-up.html", "about-the-data.html", "reading-a-guideline.html",
    "signals.html", "monitoring/tonsillectomy-follow-up.html",
])
def test_no_serious_or_critical_accessibility_violations(visit: Visit, server: str, path: str) -> None:
    visit.open(server + path)
    result = Axe().run(visit.page, options={"runOnly": {"type": "tag", "values": [
        "wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]}})
    serious = [(v["id"], v["impact"], [n["target"] for n in v["nodes"]][:3]) for v in result.response["violations"]
               if v["impact"] in ("serious", "critical")]
    assert serious == []
