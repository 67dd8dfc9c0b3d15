"""The security model without a server: scopes, tokens, the ownership policy, key settings and `harmonise token`."""

import dataclasses
import json
import stat
from datetime import UTC, datetime, timedelta
from pathlib import Path

import jwt
import pytest
from typer.testing import CliRunner

from service.cli import app
from service.security import policy, settings
from service.security.scopes import Access, Scopes, is_known
from service.security.settings import ConfigError, SecuritySettings
from service.security.tokens import ALGORITHM, InvalidToken, Principal, issue, verify

from .conftest import minimal_pathway

KEY = SecuritySettings(secret=b"k" * 32, key_source="test")
BASE = "http://harmonise.example.org/fhir"
ODS = "https://fhir.nhs.uk/Id/ods-organization-code"


def owned_by(*codes: str, **overrides) -> dict:
    return minimal_pathway(extension=[{"url": f"{BASE}/StructureDefinition/owning-organization",
                                       "valueIdentifier": {"system": ODS, "value": code}} for code in codes],
                           **overrides)


def network_guideline() -> dict:
    return owned_by("RHQ", meta={"profile": [f"{BASE}/StructureDefinition/network-guideline"]})


def measure_report(reporter: str) -> dict:
    return {"resourceType": "MeasureReport", "status": "complete", "type": "summary",
            "measure": f"{BASE}/Measure/follow-up-contacts", "period": {"start": "2025-01-01", "end": "2025-01-31"},
            "reporter": {"identifier": {"system": ODS, "value": reporter}}}


def principal(scope: str, trust: str | None = None) -> Principal:
    return Principal("someone", "harmonise", Scopes.parse(scope), trust)


# --- scopes --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("scope", "resource_type", "access", "allowed"), [
    ("system/PlanDefinition.write", "PlanDefinition", Access.WRITE, True),
    ("system/PlanDefinition.write", "PlanDefinition", Access.READ, False),
    ("user/PlanDefinition.read", "PlanDefinition", Access.READ, True),
    ("system/PlanDefinition.*", "PlanDefinition", Access.WRITE, True),
    ("system/*.write", "MeasureReport", Access.WRITE, True),
    ("system/*.read", "*", Access.READ, True),
    ("system/PlanDefinition.read", "*", Access.READ, False),
    ("patient/*.*", "PlanDefinition", Access.READ, False),
    ("openid launch network-lead", "PlanDefinition", Access.WRITE, False),
    ("system/PlanDefinition.writex system/Plan Definition.write", "PlanDefinition", Access.WRITE, False),
])
def test_scopes_grant_exactly_what_they_say(scope: str, resource_type: str, access: Access, allowed: bool) -> None:
    assert Scopes.parse(scope).allows(resource_type, access) is allowed


def test_network_lead_is_a_scope_and_unknown_scopes_are_not() -> None:
    assert Scopes.parse("system/*.read network-lead").network_lead
    assert not Scopes.parse("network-leader").network_lead
    assert is_known("network-lead") and is_known("user/Measure.*") and not is_known("admin")


# --- tokens --------------------------------------------------------------------------------------------


def test_an_issued_token_verifies_to_its_holder() -> None:
    token = issue(KEY, "alice", Scopes.parse("system/PlanDefinition.write"), "RHQ")
    holder = verify(KEY, token)
    assert (holder.subject, holder.trust, str(holder.scopes)) == ("alice", "RHQ", "system/PlanDefinition.write")


def _forged(claims: dict, key: bytes = KEY.secret, algorithm: str = ALGORITHM) -> str:
    now = datetime.now(UTC)
    base = {"iss": "harmonise", "aud": "harmonise", "sub": "mallory", "iat": now, "exp": now + timedelta(hours=1),
            "scope": "system/*.* network-lead"}
    return jwt.encode({**base, **claims}, key, algorithm=algorithm)


@pytest.mark.parametrize(("token", "reason"), [
    (_forged({}, key=b"another-key-of-thirty-two-bytes!!"), "Signature verification failed"),
    (_forged({"aud": "someone-else"}), "Audience"),
    (_forged({"iss": "elsewhere"}), "issuer"),
    (_forged({"exp": datetime.now(UTC) - timedelta(minutes=5)}), "expired"),
    (_forged({"ods": "not an ods code"}), "ODS code"),
    (_forged({"scope": ["system/*.*"]}), "space-separated"),
    (jwt.encode({"sub": "mallory", "scope": "system/*.*"}, key=None, algorithm="none"), "not valid"),
    ("not.a.token", "not valid"),
])
def test_tokens_that_cannot_be_trusted_are_refused_with_the_reason(token: str, reason: str) -> None:
    with pytest.raises(InvalidToken, match=reason):
        verify(KEY, token)


def test_a_token_without_an_expiry_is_refused() -> None:
    claims = {"iss": "harmonise", "aud": "harmonise", "sub": "mallory", "iat": datetime.now(UTC), "scope": ""}
    with pytest.raises(InvalidToken, match="exp"):
        verify(KEY, jwt.encode(claims, KEY.secret, algorithm=ALGORITHM))


# --- ownership ----------------------------------------------------------------------------------------

TRUST = "system/PlanDefinition.write system/MeasureReport.write"


@pytest.mark.parametrize(("who", "resource_type", "current", "proposed", "refusal"), [
    (principal(TRUST, "RHQ"), "PlanDefinition", None, owned_by("RHQ"), None),
    (principal(TRUST, "RHQ"), "PlanDefinition", owned_by("RHQ"), owned_by("RHQ", title="New"), None),
    (principal(TRUST, "RHQ"), "PlanDefinition", owned_by("RHQ"), None, None),
    (principal(TRUST, "RFF"), "PlanDefinition", None, owned_by("RHQ"), "belongs to RHQ"),
    (principal(TRUST, "RFF"), "PlanDefinition", owned_by("RHQ"), owned_by("RFF"), "stored version belongs to RHQ"),
    (principal(TRUST, "RHQ"), "PlanDefinition", owned_by("RHQ"), owned_by("RFF"), "new content belongs to RFF"),
    (principal(TRUST, "RHQ"), "PlanDefinition", None, owned_by("RHQ", "RFF"), "belongs to RFF, RHQ"),
    (principal(TRUST, "RHQ"), "PlanDefinition", None, network_guideline(), "a network guideline"),
    (principal(TRUST, "RHQ"), "PlanDefinition", network_guideline(), None, "a network guideline"),
    (principal(TRUST, "RHQ"), "PlanDefinition", None, owned_by(), "owned by no trust"),
    (principal(TRUST), "PlanDefinition", None, owned_by("RHQ"), "speaks for no trust"),
    (principal("system/PlanDefinition.read", "RHQ"), "PlanDefinition", None, owned_by("RHQ"),
     "system/PlanDefinition.write"),
    (principal(TRUST, "RHQ"), "MeasureReport", None, measure_report("RHQ"), None),
    (principal(TRUST, "RHQ"), "MeasureReport", measure_report("RFF"), measure_report("RHQ"), "belongs to RFF"),
    (principal("system/*.write", "RHQ"), "Measure", None, {"resourceType": "Measure", "status": "active"},
     "network-wide"),
    (principal("system/*.write network-lead"), "PlanDefinition", owned_by("RHQ"), network_guideline(), None),
    (principal("system/*.write network-lead"), "Measure", None, {"resourceType": "Measure", "status": "draft"}, None),
    (principal("system/PlanDefinition.read network-lead"), "PlanDefinition", None, network_guideline(),
     "system/PlanDefinition.write"),
])
def test_who_may_change_what(who: Principal, resource_type: str, current: dict | None, proposed: dict | None,
                             refusal: str | None) -> None:
    if refusal is None:
        policy.check_change(who, resource_type, current, proposed)
    else:
        with pytest.raises(policy.Denied, match=refusal):
            policy.check_change(who, resource_type, current, proposed)


# --- settings and the local key -------------------------------------------------------------------------


def test_without_a_configured_key_one_is_made_beside_the_sqlite_database_for_its_owner_only(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'harmonise.db'}"
    first = SecuritySettings.from_environment(url, {})
    again = SecuritySettings.from_environment(url, {})
    key_file = tmp_path / settings.LOCAL_SECRET_NAME
    assert first.secret == again.secret and len(first.secret) >= settings.MIN_SECRET_BYTES
    assert first.key_source == str(key_file)
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert not first.allow_anonymous_writes and not first.reads_require_token  # the safe default
    assert [p.name for p in tmp_path.iterdir()] == [settings.LOCAL_SECRET_NAME]  # no draft left behind
    other = tmp_path / "other"
    other.mkdir()
    assert SecuritySettings.from_environment(f"sqlite:///{other / 'h.db'}", {}).secret != first.secret


def test_a_server_database_keeps_its_local_key_in_the_home_folder(tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    assert settings.local_secret_file("postgresql+psycopg://u@h/db") == tmp_path / settings.LOCAL_SECRET_NAME


def test_configured_keys_and_switches_win(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'harmonise.db'}"
    from_variable = SecuritySettings.from_environment(url, {settings.SECRET: "v" * 40,
                                                            settings.ALLOW_ANONYMOUS_WRITES: "1",
                                                            settings.READS_REQUIRE_TOKEN: "true",
                                                            settings.MAX_BODY_BYTES: "2048"})
    assert (from_variable.secret, from_variable.allow_anonymous_writes, from_variable.reads_require_token,
            from_variable.max_body_bytes) == (b"v" * 40, True, True, 2048)
    key_file = tmp_path / "key"
    key_file.write_text("f" * 40 + "\n")
    assert SecuritySettings.from_environment(url, {settings.SECRET_FILE: str(key_file)}).secret == b"f" * 40
    assert not (tmp_path / settings.LOCAL_SECRET_NAME).exists()


@pytest.mark.parametrize(("environment", "message"), [
    ({settings.SECRET: "short"}, "at least 32"),
    ({settings.SECRET_FILE: "/no/such/key"}, "cannot read"),
    ({settings.SECRET: "v" * 40, settings.ALLOW_ANONYMOUS_WRITES: "please"}, "must be 1 or 0"),
    ({settings.SECRET: "v" * 40, settings.MAX_BODY_BYTES: "1e6"}, "whole number"),
    ({settings.SECRET: "v" * 40, settings.MAX_BODY_BYTES: "0"}, "positive"),
])
def test_unusable_settings_are_refused_with_the_reason(environment: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        SecuritySettings.from_environment("sqlite:///harmonise.db", environment)


# --- harmonise token ------------------------------------------------------------------------------------


def test_harmonise_token_signs_with_the_key_serve_uses(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'harmonise.db'}"
    environment: dict[str, str | None] = dict.fromkeys(settings.VARIABLES)  # none set: the local key
    result = CliRunner().invoke(app, ["token", "--trust", "RHQ", "--expires", "30m", "--database", url,
                                      "--format", "json"], env=environment)
    assert result.exit_code == 0, result.output
    issued = json.loads(result.stdout)
    holder = verify(SecuritySettings.from_environment(url, {}), issued["token"])
    assert (holder.subject, holder.trust) == ("trust-RHQ", "RHQ")
    assert holder.scopes.allows("PlanDefinition", Access.WRITE) and not holder.scopes.network_lead
    lead = CliRunner().invoke(app, ["token", "--network-lead", "--database", url], env=environment)
    lead_holder = verify(SecuritySettings.from_environment(url, {}), lead.stdout.strip())
    assert lead_holder.scopes.network_lead and lead_holder.scopes.allows("Measure", Access.WRITE)
    expiry = jwt.decode(issued["token"], options={"verify_signature": False})["exp"]
    assert expiry - datetime.now(UTC).timestamp() == pytest.approx(1800, abs=60)


@pytest.mark.parametrize("arguments", [
    ["--trust", "XYZ"], ["--scope", "everything"], ["--expires", "forever"], ["--expires", "0h"],
])
def test_harmonise_token_refuses_what_it_cannot_issue(arguments: list[str], tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["token", *arguments, "--database", f"sqlite:///{tmp_path / 'h.db'}"])
    assert result.exit_code == 2


def test_settings_are_immutable_and_never_show_the_key() -> None:
    assert "k" * 32 not in repr(KEY)
    with pytest.raises(dataclasses.FrozenInstanceError):
        KEY.allow_anonymous_writes = True  # type: ignore[misc]
