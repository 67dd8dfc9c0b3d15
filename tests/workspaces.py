"""Workspace fixtures and helpers for every test module, through ``pytest_plugins`` (tests/conftest.py).

``network`` is the sample network in a store of each backend with three accounts (a network lead
``lead``, the pathway leads ``rhq`` and ``rp5``, all with ``PASSWORD``); ``https`` the service on it
through a TestClient over HTTPS (so the session cookie is Secure); ``workspace_with_draft`` a served
SQLite store with a draft guideline, for the browser tests. The functions sign in, read a page's CSRF
token and run the command line as a person would.
"""

import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Final

import pytest
from starlette.testclient import TestClient
from typer.testing import CliRunner

from service.api import create_app
from service.application import guidelines
from service.application.loading import store_files
from service.cli import app as cli_app
from service.store import Store

from .conftest import GUIDELINES, PATHWAYS
from .stores import BACKENDS, TEST_SECURITY, ServerThread, database

TOPIC: Final = "tonsillectomy-follow-up"
PASSWORD: Final = "a-long-test-password-1"
runner = CliRunner()


def cli(*args: str, stdin: str | None = None) -> tuple[int, str]:
    result = runner.invoke(cli_app, list(args), input=stdin, catch_exceptions=False)
    return result.exit_code, result.output


def sample_network(url: str, *accounts: tuple[str, ...]) -> None:
    """The sample network loaded into the store at ``url``, and these accounts (a name, then its role's options of
    ``harmonise user add``), each with the password ``PASSWORD``."""
    loading = Store.open(url)
    store_files(loading, [PATHWAYS, GUIDELINES])
    loading.close()
    for name, *role in accounts:
        code, output = cli("user", "add", name, *role, "--password-stdin", "--database", url, stdin=PASSWORD + "\n")
        assert code == 0, output


@pytest.fixture(params=BACKENDS)
def network(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """The sample network in a store, with a network lead ``lead`` and the pathway leads ``rhq`` and ``rp5``."""
    with database(request.param, tmp_path) as url:
        sample_network(url, ("lead", "--network-lead"), ("rhq", "--trust", "RHQ"), ("rp5", "--trust", "rp5"))
        yield url


@pytest.fixture
def https(network: str) -> Iterator[TestClient]:
    with TestClient(create_app(network, TEST_SECURITY), base_url="https://testserver",
                    follow_redirects=False) as client:
        yield client


def csrf(client: TestClient, path: str = "/workspace/sign-in") -> str:
    page = client.get(path)
    assert page.status_code == 200, page.text
    found = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert found, page.text
    return found.group(1)


def sign_in(client: TestClient, name: str, password: str = PASSWORD) -> object:
    return client.post("/workspace/sign-in", data={"csrf": csrf(client), "name": name, "password": password})


def register_entries(url: str) -> int:
    store = Store.open(url)
    try:
        return sum(1 for _ in store.current("Basic"))
    finally:
        store.close()


def rp5_sleep_review(url: str) -> str:
    """How ``harmonise compare`` classifies RP5's sleep review timing (outside the guideline's window in the sample)."""
    return rp5_sleep_review_difference(url)[1]


def rp5_sleep_review_difference(url: str) -> tuple[int, str]:
    """Its place in the topic's differences (as the topic page lists them) and its classification."""
    code, output = cli("compare", TOPIC, "--database", url, "--format", "json")
    assert code == 0, output
    return next((index, d["classification"]) for index, d in enumerate(json.loads(output)["topics"][0]["differences"])
                if (d["trust"], d["step"], d["dimension"]) == ("RP5", "sleep-review", "timing"))


def warranted_form(token: str) -> dict[str, str]:
    """RP5's sleep review timing recorded as warranted (the topic page's form; tests/test_workspace_review.py)."""
    return {"csrf": token, "trust": "RP5", "step": "sleep-review", "dimension": "timing",
            "rationale": "Illustrative: the sleep clinic's capacity.", "agreed_by": "Network clinical board",
            "review_by": (datetime.now(UTC).date() + timedelta(days=300)).isoformat()}


GUIDELINE = "guideline-tonsillectomy-follow-up"


def make_draft(url: str) -> str:
    """A draft 1.1.0 of the tonsillectomy guideline without its discharge step; its id."""
    store = Store.open(url)
    try:
        with store.write() as writer:
            draft = guidelines.draft(writer, GUIDELINE, "1.1.0", datetime.now(UTC).date())
            content = draft.existing()
            content["action"] = [a for a in content["action"] if a.get("id") != "discharge"]
            writer.update(content, draft.resource_id)
        return draft.resource_id
    finally:
        store.close()


@pytest.fixture(scope="module")
def workspace_with_draft(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str, str]]:
    """The service on a SQLite store of the sample network with a draft guideline, a network lead and RP5's lead."""
    url = f"sqlite:///{Path(tmp_path_factory.mktemp('governance')) / 'harmonise.db'}"
    sample_network(url, ("lead", "--network-lead"), ("rp5", "--trust", "RP5"))
    draft = make_draft(url)
    with ServerThread(url) as server:
        yield f"http://127.0.0.1:{server.port}/workspace/", url, draft
