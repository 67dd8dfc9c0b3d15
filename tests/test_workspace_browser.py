"""The workspace in Debian's Chromium (Playwright), on the embedded default (SQLite): axe-core finds no serious or
critical violation on any workspace page, for a network lead and a trust's pathway lead. Screenshots of each page
are kept in ``test-artifacts/``. (Recording a warranted variation: tests/test_workspace_browser_review.py.)

Launched as ``tests/test_site_browser.py`` launches the browser: nothing leaves the machine.
"""

from collections.abc import Iterator
from pathlib import Path
from typing import Final

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Page

from .browsers import Visit
from .stores import ServerThread
from .workspaces import PASSWORD, TOPIC, sample_network

PAGES: Final = ("", f"topics/{TOPIC}", f"topics/{TOPIC}/history", "register", "guidelines", "pathways")


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    """The service on a SQLite store of the sample network with a network lead; its workspace URL and the store's."""
    url = f"sqlite:///{Path(tmp_path_factory.mktemp('workspace')) / 'harmonise.db'}"
    sample_network(url, ("lead", "--network-lead"), ("rp5", "--trust", "RP5"))
    with ServerThread(url) as server:
        yield f"http://127.0.0.1:{server.port}/workspace/", url


def sign_in(page: Page, base: str, name: str) -> None:
    page.goto(base + "sign-in")
    page.get_by_label("Sign-in name").fill(name)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(base)


def serious_violations(page: Page) -> list[tuple[str, str, list[object]]]:
    result = Axe().run(page, options={"runOnly": {"type": "tag", "values": [
        "wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]}})
    return [(v["id"], v["impact"], [n["target"] for n in v["nodes"]][:3]) for v in result.response["violations"]
            if v["impact"] in ("serious", "critical")]


@pytest.mark.parametrize("who", ["lead", "rp5"])
def test_no_serious_or_critical_accessibility_violations_on_any_workspace_page(
        visit: Visit, workspace: tuple[str, str], who: str) -> None:
    base, _url = workspace
    page = visit.page
    page.context.clear_cookies()
    page.goto(base + "sign-in")
    assert serious_violations(page) == []
    # The sign-in page with its error summary.
    page.get_by_label("Sign-in name").fill(who)
    page.get_by_role("button", name="Sign in").click()
    assert page.locator(".error-summary a[href='#password']").is_visible()
    assert serious_violations(page) == []
    sign_in(page, base, who)
    for path in PAGES:
        visit.open(base + path, f"workspace-{who}-{path.replace('/', '-') or 'home'}")
        page.locator("details").evaluate_all("nodes => nodes.forEach(n => n.open = true)")
        assert serious_violations(page) == [], path
