"""Every setting of an installation, as the environment gives it: one pydantic-settings description.

Each field is one ``HARMONISE_...`` variable (the names are in ``variables``, which the command
line's help reads without importing this), with its type, its bounds and its default. A value
that is blank counts as unset. ``read_environment`` is the one way in: a value that cannot be used
is refused with a ``ConfigError`` naming the variable and the value, never a validation trace.
What is made from these (the signing key, the request budgets) is in ``settings``.
"""

from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Final

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_core import ErrorDetails
from pydantic_settings import BaseSettings, NoDecode, PydanticBaseSettingsSource, SettingsConfigDict

from ..loader import MAX_FILE_BYTES
from ..store.engine import DEFAULT_POOL_SIZE
from .variables import (
    ALLOW_ANONYMOUS_WRITES,
    AUDIENCE,
    DATABASE_URL,
    DB_POOL_SIZE,
    ISSUER,
    MAX_BODY_BYTES,
    MAX_COMPARE_PATHWAYS,
    MAX_DIFF_ACTIONS,
    MAX_FORM_BYTES,
    MAX_SEARCH_PARAMETERS,
    MAX_SEARCH_VALUE_LENGTH,
    MAX_SEARCH_VALUES,
    PUBLIC_BASE_URL,
    READS_REQUIRE_TOKEN,
    SECRET,
    SECRET_FILE,
    SITE,
    STATEMENT_TIMEOUT,
    TRUSTED_PROXIES,
)

#: A count or size: a positive whole number, below a quadrillion (no setting means more).
Count = Annotated[int, Field(ge=1, lt=10**15)]

#: What a variable must be, by the kind of refusal pydantic reports (formatted with the refusal's bounds).
_REQUIREMENTS: Final = {
    "bool_parsing": "1 or 0 (true or false)",
    "int_parsing": "a whole number",
    "greater_than_equal": "a positive whole number",
    "less_than": "a whole number below {lt:,}",
    "less_than_equal": "a whole number no more than {le:,}",
}


class ConfigError(ValueError):
    """A setting that cannot be used; the message names the variable or file."""


class Environment(BaseSettings):
    """The variables one installation is configured by; unset ones take the defaults here."""

    # Names exactly as written (an environment is case-sensitive on Linux); nothing else is read.
    model_config = SettingsConfigDict(case_sensitive=True, frozen=True, extra="ignore", populate_by_name=False)

    #: The store the API serves (set by ``harmonise serve`` for its worker processes).
    database_url: str | None = Field(default=None, validation_alias=DATABASE_URL)
    #: A published site folder for the workers to serve; unset: the live site built from the store.
    site: Path | None = Field(default=None, validation_alias=SITE)
    jwt_secret: SecretStr | None = Field(default=None, validation_alias=SECRET)
    jwt_secret_file: Path | None = Field(default=None, validation_alias=SECRET_FILE)
    jwt_issuer: str = Field(default="harmonise", validation_alias=ISSUER)
    jwt_audience: str = Field(default="harmonise", validation_alias=AUDIENCE)
    reads_require_token: bool = Field(default=False, validation_alias=READS_REQUIRE_TOKEN)
    allow_anonymous_writes: bool = Field(default=False, validation_alias=ALLOW_ANONYMOUS_WRITES)
    max_body_bytes: Count = Field(default=MAX_FILE_BYTES, validation_alias=MAX_BODY_BYTES)
    public_base_url: str | None = Field(default=None, validation_alias=PUBLIC_BASE_URL)
    trusted_proxies: Annotated[tuple[str, ...], NoDecode] = Field(default=(), validation_alias=TRUSTED_PROXIES)
    # The request budgets (``settings.RequestLimits`` says what each bounds).
    max_search_parameters: Count = Field(default=40, validation_alias=MAX_SEARCH_PARAMETERS)
    max_search_values: Count = Field(default=200, validation_alias=MAX_SEARCH_VALUES)
    max_search_value_length: Count = Field(default=1_000, validation_alias=MAX_SEARCH_VALUE_LENGTH)
    max_form_bytes: Count = Field(default=64 * 1024, validation_alias=MAX_FORM_BYTES)
    statement_timeout_ms: Count = Field(default=10_000, validation_alias=STATEMENT_TIMEOUT)
    max_compare_pathways: Count = Field(default=100, validation_alias=MAX_COMPARE_PATHWAYS)
    max_diff_actions: Count = Field(default=2_000, validation_alias=MAX_DIFF_ACTIONS)
    #: Database connections one API process keeps (``store.engine`` says why this many).
    db_pool_size: Annotated[int, Field(ge=1, le=1000)] = Field(default=DEFAULT_POOL_SIZE, validation_alias=DB_POOL_SIZE)

    @model_validator(mode="before")
    @classmethod
    def _blank_is_unset(cls, values: Any) -> Any:
        """Values trimmed, and blank ones dropped: ``serve`` hands its workers ``HARMONISE_SITE=`` for none."""
        if not isinstance(values, Mapping):
            return values
        trimmed = {name: value.strip() if isinstance(value, str) else value for name, value in values.items()}
        return {name: value for name, value in trimmed.items() if value != ""}

    @field_validator("public_base_url")
    @classmethod
    def _without_trailing_slash(cls, url: str | None) -> str | None:
        if url is None:
            return None
        return url.rstrip("/") or None

    @field_validator("trusted_proxies", mode="before")
    @classmethod
    def _comma_separated(cls, value: Any) -> Any:
        if isinstance(value, str):
            return tuple(part.strip() for part in value.split(",") if part.strip())
        return value


class _Given(Environment):
    """The same settings read from a mapping handed in, and from nothing else (not the process's environment)."""

    @classmethod
    def settings_customise_sources(cls, settings_cls: type[BaseSettings], init_settings: PydanticBaseSettingsSource,
                                   env_settings: PydanticBaseSettingsSource,
                                   dotenv_settings: PydanticBaseSettingsSource,
                                   file_secret_settings: PydanticBaseSettingsSource,
                                   ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings,)


def read_environment(environ: Mapping[str, str] | None = None) -> Environment:
    """The settings in ``environ`` (default: this process's environment); ConfigError if one cannot be used."""
    try:
        return Environment() if environ is None else _Given.model_validate(environ)
    except ValidationError as exc:
        raise ConfigError("; ".join(_refusal(error) for error in exc.errors())) from None


def _refusal(error: ErrorDetails) -> str:
    name = ".".join(str(part) for part in error["loc"])
    requirement = _REQUIREMENTS.get(error["type"])
    if requirement is None:
        return f"{name} cannot be {error['input']!r}: {error['msg']}"
    return f"{name} must be {requirement.format(**error.get('ctx', {}))}, not {error['input']!r}"
