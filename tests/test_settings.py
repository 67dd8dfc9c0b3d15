"""The settings of an installation: every variable's name and default (public contract: README.md,
docs/security.md, docs/deployment.md), and a bad value refused with its name and value, no trace.
"""

import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from service.cli import app
from service.security import variables
from service.security.environment import ConfigError, Environment, read_environment
from service.security.settings import RequestLimits, SecuritySettings

pytestmark = pytest.mark.fast  # no database, server process or browser: make test-fast runs it

#: Every variable and its default, written out by hand from the documentation.
DEFAULTS = {
    "HARMONISE_DATABASE_URL": None,
    "HARMONISE_SITE": None,
    "HARMONISE_JWT_SECRET": None,
    "HARMONISE_JWT_SECRET_FILE": None,
    "HARMONISE_JWT_ISSUER": "harmonise",
    "HARMONISE_JWT_AUDIENCE": "harmonise",
    "HARMONISE_READS_REQUIRE_TOKEN": False,
    "HARMONISE_ALLOW_ANONYMOUS_WRITES": False,
    "HARMONISE_MAX_BODY_BYTES": 10 * 1024 * 1024,
    "HARMONISE_PUBLIC_BASE_URL": None,
    "HARMONISE_TRUSTED_PROXIES": (),
    "HARMONISE_MAX_SEARCH_PARAMETERS": 40,
    "HARMONISE_MAX_SEARCH_VALUES": 200,
    "HARMONISE_MAX_SEARCH_VALUE_LENGTH": 1_000,
    "HARMONISE_MAX_FORM_BYTES": 65_536,
    "HARMONISE_STATEMENT_TIMEOUT_MS": 10_000,
    "HARMONISE_MAX_COMPARE_PATHWAYS": 100,
    "HARMONISE_MAX_DIFF_ACTIONS": 2_000,
    "HARMONISE_DB_POOL_SIZE": 10,
}


def by_variable(environment: Environment) -> dict[str, object]:
    return {str(field.validation_alias): getattr(environment, name) for name, field in Environment.model_fields.items()}


def test_every_variable_is_described_once_with_its_documented_default() -> None:
    assert by_variable(read_environment({})) == DEFAULTS
    named = {value for name, value in vars(variables).items() if name.isupper() and isinstance(value, str)}
    assert named == set(DEFAULTS)
    assert set(variables.VARIABLES) == set(DEFAULTS) - {"HARMONISE_DATABASE_URL", "HARMONISE_SITE"}


def test_the_defaults_are_the_settings_without_a_variable(tmp_path: Path) -> None:
    limits = RequestLimits()
    assert RequestLimits.from_environment({}) == limits
    assert (limits.search_parameters, limits.search_values, limits.search_value_length, limits.form_bytes,
            limits.statement_timeout_ms, limits.compare_pathways, limits.diff_actions,
            limits.database_connections) == (40, 200, 1_000, 65_536, 10_000, 100, 2_000, 10)
    security = SecuritySettings.from_environment(f"sqlite:///{tmp_path / 'h.db'}", {})
    assert (security.issuer, security.audience, security.max_body_bytes, security.public_base_url,
            security.trusted_proxies) == ("harmonise", "harmonise", 10_485_760, None, ())


def test_values_are_read_trimmed_and_blank_ones_are_unset() -> None:
    environment = read_environment({
        "HARMONISE_TRUSTED_PROXIES": " 10.0.0.1 , ,10.0.0.0/8", "HARMONISE_PUBLIC_BASE_URL": " https://h.nhs.uk/fhir/ ",
        "HARMONISE_SITE": "", "HARMONISE_READS_REQUIRE_TOKEN": " YES ", "HARMONISE_JWT_ISSUER": "  ",
        "HARMONISE_MAX_SEARCH_VALUES": " 7 ",
        "harmonise_max_body_bytes": "5", "max_body_bytes": "5", "HOME": "/root",  # not ours: ignored
    })
    assert environment.trusted_proxies == ("10.0.0.1", "10.0.0.0/8")
    assert environment.public_base_url == "https://h.nhs.uk/fhir"
    assert environment.site is None and environment.jwt_issuer == "harmonise"
    assert environment.reads_require_token is True
    assert (environment.max_search_values, environment.max_body_bytes) == (7, 10_485_760)


@pytest.mark.parametrize(("name", "value", "message"), [
    ("HARMONISE_MAX_BODY_BYTES", "1e6", "HARMONISE_MAX_BODY_BYTES must be a whole number, not '1e6'"),
    ("HARMONISE_MAX_BODY_BYTES", "0", "HARMONISE_MAX_BODY_BYTES must be a positive whole number, not '0'"),
    ("HARMONISE_MAX_SEARCH_VALUES", "-3", "HARMONISE_MAX_SEARCH_VALUES must be a positive whole number, not '-3'"),
    ("HARMONISE_STATEMENT_TIMEOUT_MS", "ten", "HARMONISE_STATEMENT_TIMEOUT_MS must be a whole number, not 'ten'"),
    ("HARMONISE_DB_POOL_SIZE", "many", "HARMONISE_DB_POOL_SIZE must be a whole number, not 'many'"),
    ("HARMONISE_DB_POOL_SIZE", "0", "HARMONISE_DB_POOL_SIZE must be a positive whole number, not '0'"),
    ("HARMONISE_DB_POOL_SIZE", "1001", "HARMONISE_DB_POOL_SIZE must be a whole number no more than 1,000, not '1001'"),
    ("HARMONISE_MAX_DIFF_ACTIONS", "1" * 16,
     f"HARMONISE_MAX_DIFF_ACTIONS must be a whole number below 1,000,000,000,000,000, not '{'1' * 16}'"),
    ("HARMONISE_ALLOW_ANONYMOUS_WRITES", "please",
     "HARMONISE_ALLOW_ANONYMOUS_WRITES must be 1 or 0 (true or false), not 'please'"),
    ("HARMONISE_READS_REQUIRE_TOKEN", "sometimes",
     "HARMONISE_READS_REQUIRE_TOKEN must be 1 or 0 (true or false), not 'sometimes'"),
])
def test_a_bad_value_is_refused_naming_the_variable_and_the_value(name: str, value: str, message: str,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ConfigError) as given:
        read_environment({name: value})
    assert str(given.value) == message
    monkeypatch.setenv(name, value)  # the same from the process's environment
    with pytest.raises(ConfigError) as read:
        read_environment()
    assert str(read.value) == message


def test_every_bad_value_is_named_at_once() -> None:
    with pytest.raises(ConfigError) as refused:
        read_environment({"HARMONISE_MAX_FORM_BYTES": "x", "HARMONISE_MAX_DIFF_ACTIONS": "0"})
    assert str(refused.value) == ("HARMONISE_MAX_FORM_BYTES must be a whole number, not 'x'; "
                                  "HARMONISE_MAX_DIFF_ACTIONS must be a positive whole number, not '0'")


def test_the_process_environment_is_read_by_name(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HARMONISE_JWT_SECRET", "s" * 40)
    monkeypatch.setenv("HARMONISE_MAX_COMPARE_PATHWAYS", "12")
    monkeypatch.setenv("harmonise_max_diff_actions", "3")  # names are case-sensitive
    monkeypatch.setenv("HARMONISE_SITE", "")  # blank: unset, as serve hands it to its workers
    monkeypatch.setenv("HARMONISE_READS_REQUIRE_TOKEN", " on ")
    environment = read_environment()
    assert environment.site is None and environment.reads_require_token is True
    assert environment.jwt_secret is not None and environment.jwt_secret.get_secret_value() == "s" * 40
    assert "s" * 40 not in repr(environment)
    assert (environment.max_compare_pathways, environment.max_diff_actions) == (12, 2_000)


def test_a_command_refuses_a_bad_value_with_the_reason_and_no_trace(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["token", "--network-lead", "--database", f"sqlite:///{tmp_path / 'h.db'}"],
                                env={"HARMONISE_MAX_BODY_BYTES": "lots"})
    assert result.exit_code == 2
    assert "HARMONISE_MAX_BODY_BYTES must be a whole number, not 'lots'" in " ".join(result.output.split())
    assert "Traceback" not in result.output and isinstance(result.exception, SystemExit)


@pytest.mark.parametrize(("environment", "message"), [
    ({}, "HARMONISE_DATABASE_URL is not set"),
    ({"HARMONISE_DATABASE_URL": "sqlite:///h.db", "HARMONISE_MAX_FORM_BYTES": "0"},
     "HARMONISE_MAX_FORM_BYTES must be a positive whole number, not '0'"),
])
def test_a_worker_process_stops_with_the_reason_and_no_trace(environment: dict[str, str], message: str,
                                                             tmp_path: Path) -> None:
    program = "from service.api.app import app_from_environment; app_from_environment()"
    done = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True, cwd=tmp_path,
                          env={"PYTHONPATH": str(Path(__file__).resolve().parents[1]), **environment})
    assert done.returncode == 1
    assert message in done.stderr and "Traceback" not in done.stderr
