"""Browser fixtures for every test module, through ``pytest_plugins`` (tests/conftest.py): Debian's Chromium
driven by Playwright, with every request that would leave the machine blocked and failed.

``context`` is one browser per test module; ``visit`` a tab in it that records its requests and script
errors, and fails the test if any request went to a host but localhost or a script failed. Without
Chromium the tests are skipped on a developer's machine but fail in CI. Screenshots go to ``ARTIFACTS``.
"""

import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlparse

import pytest
from playwright.sync_api import BrowserContext, Page, Route, sync_playwright

from .conftest import REPOSITORY

CHROMIUM = Path(shutil.which("chromium") or "/usr/bin/chromium")
ARGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]
ARTIFACTS = REPOSITORY / "test-artifacts"
LOCAL_HOSTS = {"127.0.0.1", "localhost"}


def is_local(url: str) -> bool:
    parsed = urlparse(url)
    return parsed.scheme in ("file", "data", "blob", "about") or parsed.hostname in LOCAL_HOSTS


@pytest.fixture(scope="module")
def context() -> Iterator[BrowserContext]:
    if not CHROMIUM.is_file():
        message = f"Chromium is not installed at {CHROMIUM} (apt-get install chromium)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        context = browser.new_context(viewport={"width": 1280, "height": 900})

        def stay_local(route: Route) -> None:
            # Never let a request leave the machine, even in a test that is about to fail.
            route.continue_() if is_local(route.request.url) else route.abort()

        context.route("**/*", stay_local)
        yield context
        context.close()
        browser.close()


@dataclass
class Visit:
    """A browser tab that records every request it makes and every script error."""

    page: Page
    requests: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def open(self, url: str, screenshot: str | None = None) -> None:
        self.page.goto(url)
        self.page.wait_for_load_state("networkidle")
        if screenshot:
            self.page.screenshot(path=str(ARTIFACTS / f"{screenshot}.png"), full_page=True)


@pytest.fixture
def visit(context: BrowserContext) -> Iterator[Visit]:
    page = context.new_page()
    recorded = Visit(page)
    page.on("request", lambda request: recorded.requests.append(request.url))
    page.on("pageerror", lambda exc: recorded.errors.append(str(exc)))
    yield recorded
    page.close()
    assert [u for u in recorded.requests if not is_local(u)] == [], "a request left the machine"
    assert recorded.errors == []
