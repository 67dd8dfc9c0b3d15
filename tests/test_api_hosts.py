"""Trusted hosts and proxies (issue #19): links, Location headers and redirects name the configured
public base, never the Host header a client sends; X-Forwarded-For reaches the audit trail only
from a configured proxy.

Each test talks to a real ``harmonise serve``, since what uvicorn believes is decided there. They
use SQLite only: nothing here depends on the store's backend.
"""

import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Final

import httpx
import pytest
from typer.testing import CliRunner

from service.cli import app as cli
from service.security.settings import PUBLIC_BASE_URL, SECRET, TRUSTED_PROXIES

from .conftest import minimal_pathway
from .stores import TEST_SECRET, bearer, serve_process

EVIL: Final = "evil.example"
PUBLIC: Final = "https://pathways.example.nhs.uk/fhir"
FORWARDED: Final = "203.0.113.9"
ADDRESS: Final = "http://harmonise.example.org/fhir/StructureDefinition/client-address"
AUDITOR: Final = bearer("system/Provenance.read", subject="auditor")


@contextmanager
def served(folder: Path, args: Sequence[str] = (), **settings: str) -> Iterator[str]:
    """``harmonise serve`` on a new SQLite store with a published site that has a folder, ``guide/``;
    yields its FHIR base as the tests reach it (127.0.0.1)."""
    content, site = folder / "content", folder / "site"
    content.mkdir()
    (site / "guide").mkdir(parents=True)
    (site / "index.html").write_text("<!doctype html><title>Harmonise</title>")
    (site / "guide" / "index.html").write_text("<!doctype html><title>Guide</title>")
    with serve_process(f"sqlite:///{folder / 'hosts.db'}", content, content, args=["--site", str(site), *args],
                       settings=settings) as base:
        yield base


@pytest.fixture(scope="module")
def plain(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A server with the default settings: no public base configured, no trusted proxy."""
    with served(tmp_path_factory.mktemp("plain")) as base:
        yield base


@contextmanager
def attacker(base: str, **headers: str) -> Iterator[httpx.Client]:
    """A network lead's client that sends ``Host: evil.example`` (and ``headers``) with every request."""
    with httpx.Client(base_url=base, timeout=60, headers={"Host": EVIL, **bearer(), **headers}) as client:
        yield client


def pathway() -> dict:
    key = uuid.uuid4().hex[:10]
    return minimal_pathway(id=f"hosts-{key}", url=f"http://rhq.example.org/fhir/PlanDefinition/hosts-{key}")


def everything(answer: httpx.Response) -> str:
    """An answer's headers and body, to search for the Host header's value."""
    return "\n".join(f"{name}: {value}" for name, value in answer.headers.multi_items()) + "\n" + answer.text


def links(bundle: dict) -> list[str]:
    """Every URL of a Bundle: its links, its entries' fullUrls and response locations."""
    return ([link["url"] for link in bundle.get("link", [])]
            + [entry["fullUrl"] for entry in bundle.get("entry", []) if "fullUrl" in entry]
            + [entry["response"]["location"] for entry in bundle.get("entry", [])
               if "location" in entry.get("response", {})])


def test_no_api_answer_names_the_host_header(plain: str) -> None:
    with attacker(plain) as api:
        created = [api.post("/PlanDefinition", json=pathway()) for _ in range(2)]
        sent = pathway()
        updated = api.put(f"/PlanDefinition/{sent['id']}", json=sent)
        transaction = api.post("/", json={"resourceType": "Bundle", "type": "transaction", "entry": [
            {"resource": pathway(), "request": {"method": "POST", "url": "PlanDefinition"}}]})
        pages = [api.get("/PlanDefinition", params={"_count": "1"}),
                 api.get("/PlanDefinition/_history", params={"_count": "1"})]
        metadata = api.get("/metadata")
    answers = [*created, updated, transaction, *pages, metadata]
    assert [answer.status_code for answer in answers] == [201, 201, 201, 200, 200, 200, 200]
    for answer in answers:
        assert EVIL not in everything(answer)
    # What they name instead: the address the server listens on.
    locations = [answer.headers["location"] for answer in [*created, updated]]
    urls = locations + [url for answer in [transaction, *pages] for url in links(answer.json())]
    assert len(urls) > len(locations) and all(url.startswith(f"{plain}/PlanDefinition") for url in urls), urls
    assert any(link["relation"] == "next" for link in pages[0].json()["link"])
    assert metadata.json()["implementation"]["url"] == plain


def test_a_site_folder_redirect_does_not_name_the_host_header(plain: str) -> None:
    root = plain.removesuffix("/fhir")
    with attacker(root) as site:
        moved = site.get("/guide", follow_redirects=False)
    assert moved.status_code == 307
    assert EVIL not in everything(moved)
    assert httpx.URL(f"{root}/guide").join(moved.headers["location"]) == httpx.URL(f"{root}/guide/")


def test_a_trailing_slash_is_not_redirected_to_the_host_header(plain: str) -> None:
    with attacker(plain) as api:
        answers = [api.get(path, follow_redirects=False) for path in ("/PlanDefinition/", "/metadata/")]
    for answer in answers:
        assert answer.status_code == 404
        assert EVIL not in everything(answer)


def test_links_use_the_public_base_url_from_the_environment(tmp_path: Path) -> None:
    with served(tmp_path, **{PUBLIC_BASE_URL: f"{PUBLIC}/"}) as base, attacker(base) as api:
        created = api.post("/PlanDefinition", json=pathway())
        found = api.get("/PlanDefinition", params={"_count": "1"})
        metadata = api.get("/metadata")
    assert created.headers["location"].startswith(f"{PUBLIC}/PlanDefinition/")
    assert links(found.json()) and all(url.startswith(f"{PUBLIC}/PlanDefinition") for url in links(found.json()))
    assert metadata.json()["implementation"]["url"] == PUBLIC
    assert EVIL not in everything(created) + everything(found) + everything(metadata)


def test_the_public_url_option_overrides_the_environment(tmp_path: Path) -> None:
    with served(tmp_path, ["--public-url", PUBLIC], **{PUBLIC_BASE_URL: "https://elsewhere.example/fhir"}) as base, \
            attacker(base) as api:
        created = api.post("/PlanDefinition", json=pathway())
    assert created.headers["location"].startswith(f"{PUBLIC}/PlanDefinition/")


def recorded_address(base: str) -> str:
    """The client address the audit records for a create sent with ``X-Forwarded-For: 203.0.113.9``."""
    with httpx.Client(base_url=base, timeout=60, headers={"X-Forwarded-For": FORWARDED, **bearer()}) as api:
        created = api.post("/PlanDefinition", json=pathway())
        assert created.status_code == 201, created.text
        trail = api.get("/Provenance", params={"target": f"PlanDefinition/{created.json()['id']}"}, headers=AUDITOR)
    [record] = [entry["resource"] for entry in trail.json()["entry"]]
    [address] = [extension["valueString"] for extension in record["agent"][0]["extension"]
                 if extension["url"] == ADDRESS]
    return address


def test_forwarded_for_is_ignored_without_a_trusted_proxy(plain: str) -> None:
    assert recorded_address(plain) == "127.0.0.1"


@pytest.mark.parametrize(("args", "settings"), [
    ((), {TRUSTED_PROXIES: "127.0.0.1"}),
    (("--trusted-proxy", "10.0.0.0/8", "--trusted-proxy", "127.0.0.0/8"), {}),  # networks, the option repeated
], ids=["environment", "option"])
def test_forwarded_for_is_believed_from_a_trusted_proxy(tmp_path: Path, args: Sequence[str],
                                                        settings: dict[str, str]) -> None:
    with served(tmp_path, args, **settings) as base:
        assert recorded_address(base) == FORWARDED


@pytest.mark.parametrize(("args", "settings", "message"), [
    (("--trusted-proxy", "proxy.internal"), {}, "not an IP address or network"),
    (("--trusted-proxy", "10.0.0.1/8"), {}, "not an IP address or network"),  # host bits: uvicorn would never match
    ((), {TRUSTED_PROXIES: "10.0.0.5, proxy"}, TRUSTED_PROXIES),
    (("--public-url", "pathways.example.nhs.uk/fhir"), {}, "--public-url must be the FHIR base"),
    ((), {PUBLIC_BASE_URL: "https://pathways.example.nhs.uk/fhir?x=1"}, PUBLIC_BASE_URL),
], ids=["proxy-name", "proxy-host-bits", "proxy-environment", "url-no-scheme", "url-query"])
def test_serve_refuses_a_setting_it_cannot_use(tmp_path: Path, args: Sequence[str], settings: dict[str, str],
                                               message: str) -> None:
    result = CliRunner().invoke(cli, ["serve", "--database", f"sqlite:///{tmp_path / 'never.db'}", *args],
                                env={SECRET: TEST_SECRET, **settings})
    assert result.exit_code == 2, result.output
    assert message in result.output
    assert not (tmp_path / "never.db").exists()  # refused before the store was opened
