"""The security settings of one installation, made from its environment (``environment``).

The signing key is, in order: ``HARMONISE_JWT_SECRET``, the file named by
``HARMONISE_JWT_SECRET_FILE``, or a random key generated once per local install and kept in
``.harmonise-secret`` (mode 0600) beside the SQLite database (in the home folder for a server
database). So ``harmonise serve`` always starts with a key nobody else knows, and ``harmonise
token`` on the same machine signs with the same one. Without a token nothing can be written,
unless ``HARMONISE_ALLOW_ANONYMOUS_WRITES=1`` switches that off for local development.
"""

import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from .environment import ConfigError, Environment, read_environment  # noqa: F401  (ConfigError: re-exported)
from .variables import (  # the names, in a module of their own (light enough for the command line's --help)
    ALLOW_ANONYMOUS_WRITES,  # noqa: F401  (re-exported: their old home)
    AUDIENCE,  # noqa: F401
    ISSUER,  # noqa: F401
    MAX_BODY_BYTES,  # noqa: F401
    MAX_COMPARE_PATHWAYS,  # noqa: F401
    MAX_DIFF_ACTIONS,  # noqa: F401
    MAX_FORM_BYTES,  # noqa: F401
    MAX_SEARCH_PARAMETERS,  # noqa: F401
    MAX_SEARCH_VALUE_LENGTH,  # noqa: F401
    MAX_SEARCH_VALUES,  # noqa: F401
    PUBLIC_BASE_URL,  # noqa: F401
    READS_REQUIRE_TOKEN,  # noqa: F401
    SECRET,
    SECRET_FILE,  # noqa: F401
    STATEMENT_TIMEOUT,  # noqa: F401
    TRUSTED_PROXIES,  # noqa: F401
    VARIABLES,  # noqa: F401
)

LOCAL_SECRET_NAME: Final = ".harmonise-secret"
#: HS256 keys shorter than the hash are guessable (RFC 7518 3.2).
MIN_SECRET_BYTES: Final = 32
#: A secret file is a line of text; anything longer is not one.
_SECRET_FILE_LIMIT: Final = 4096
#: The defaults of every setting, as ``environment`` declares them (no environment read).
_DEFAULTS: Final = Environment.model_construct()
DEFAULT_ISSUER: Final = _DEFAULTS.jwt_issuer
DEFAULT_AUDIENCE: Final = _DEFAULTS.jwt_audience


@dataclass(frozen=True)
class RequestLimits:
    """What one request may cost: past any of these the client gets a 4xx (or 503), never a hang.

    Each is a documented setting (docs/security.md, "Request budgets"); the defaults are generous
    for every real client and FHIR tool seen, and small enough that no single request can hold a
    worker or a database connection for long.
    """

    #: Search parameters (name=value pairs that select, not _count or _sort) in one search.
    search_parameters: int = _DEFAULTS.max_search_parameters
    #: Values in one search, counting each comma-separated alternative.
    search_values: int = _DEFAULTS.max_search_values
    #: Characters in one search value.
    search_value_length: int = _DEFAULTS.max_search_value_length
    #: Bytes of a form body (POST _search); a search is a short list of parameters.
    form_bytes: int = _DEFAULTS.max_form_bytes
    #: Milliseconds one database statement may run before it is cancelled (503 to the client).
    statement_timeout_ms: int = _DEFAULTS.statement_timeout_ms
    #: Distinct pathways (``pathway=`` references) one ``$compare`` compares.
    compare_pathways: int = _DEFAULTS.max_compare_pathways
    #: Actions (at any depth) in each resource ``$diff`` compares.
    diff_actions: int = _DEFAULTS.max_diff_actions
    #: Database connections one process keeps; a request waits up to ``store.engine.POOL_TIMEOUT`` for one.
    database_connections: int = _DEFAULTS.db_pool_size

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] | None = None) -> "RequestLimits":
        """The limits in ``environ`` (default: this process's environment); ConfigError naming a bad one."""
        return cls.of(read_environment(environ))

    @classmethod
    def of(cls, environment: Environment) -> "RequestLimits":
        return cls(search_parameters=environment.max_search_parameters,
                   search_values=environment.max_search_values,
                   search_value_length=environment.max_search_value_length,
                   form_bytes=environment.max_form_bytes,
                   statement_timeout_ms=environment.statement_timeout_ms,
                   compare_pathways=environment.max_compare_pathways,
                   diff_actions=environment.max_diff_actions,
                   database_connections=environment.db_pool_size)


@dataclass(frozen=True)
class SecuritySettings:
    secret: bytes = field(repr=False)
    #: Where the key came from (a variable or a file), for messages; never the key itself.
    key_source: str
    issuer: str = DEFAULT_ISSUER
    audience: str = DEFAULT_AUDIENCE
    #: False (the default): anyone may read; True: reads need a token with a read scope.
    reads_require_token: bool = False
    #: Local development only: a write without a token is accepted (and audited as anonymous).
    allow_anonymous_writes: bool = False
    #: Request bodies larger than this are refused with 413 before they are read whole.
    max_body_bytes: int = _DEFAULTS.max_body_bytes
    #: What one request may cost besides its body.
    limits: RequestLimits = field(default_factory=RequestLimits)
    #: The FHIR server's public base (``https://host/fhir``) for links and Location headers; None:
    #: the address ``serve`` listens on. Never the request's Host header, which a client chooses.
    public_base_url: str | None = None
    #: Addresses (or networks, ``10.0.0.0/8``) of proxies whose X-Forwarded-For is believed. Empty:
    #: none; the audit records the address the connection came from.
    trusted_proxies: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if len(self.secret) < MIN_SECRET_BYTES:
            raise ConfigError(f"the signing key from {self.key_source} is {len(self.secret)} bytes; "
                              f"it must be at least {MIN_SECRET_BYTES} (e.g. `openssl rand -hex 32`)")

    @classmethod
    def from_environment(cls, database_url: str, environ: Mapping[str, str] | None = None) -> "SecuritySettings":
        """The settings for a store at ``database_url`` from ``environ`` (default: this process's
        environment), creating the local key file if it is needed; ConfigError naming a bad value."""
        return cls.of(database_url, read_environment(environ))

    @classmethod
    def of(cls, database_url: str, environment: Environment) -> "SecuritySettings":
        secret, source = _signing_key(database_url, environment)
        return cls(
            secret=secret,
            key_source=source,
            issuer=environment.jwt_issuer,
            audience=environment.jwt_audience,
            reads_require_token=environment.reads_require_token,
            allow_anonymous_writes=environment.allow_anonymous_writes,
            max_body_bytes=environment.max_body_bytes,
            limits=RequestLimits.of(environment),
            public_base_url=environment.public_base_url,
            trusted_proxies=environment.trusted_proxies,
        )


def local_secret_file(database_url: str) -> Path:
    """Where the generated key of a local install lives: beside the SQLite file, else in the home folder."""
    try:
        url = make_url(database_url)
    except ArgumentError:
        raise ConfigError(f"'{database_url}' is not a database URL") from None
    if url.get_backend_name() == "sqlite" and url.database and url.database != ":memory:":
        return Path(url.database).resolve().parent / LOCAL_SECRET_NAME
    return Path.home() / LOCAL_SECRET_NAME


def _signing_key(database_url: str, environment: Environment) -> tuple[bytes, str]:
    if environment.jwt_secret is not None:
        return environment.jwt_secret.get_secret_value().encode(), SECRET
    if environment.jwt_secret_file is not None:
        return read_secret_file(environment.jwt_secret_file), str(environment.jwt_secret_file)
    path = local_secret_file(database_url)
    return local_secret(path), str(path)


def read_secret_file(path: Path) -> bytes:
    try:
        with path.open("rb") as file:
            return file.read(_SECRET_FILE_LIMIT).strip()
    except OSError as exc:
        raise ConfigError(f"cannot read the signing key file {path}: {exc.strerror}") from None


def local_secret(path: Path) -> bytes:
    """The key in ``path``, made first if there is none: random, readable by its owner only.

    The key is written to a private temporary file and then linked into place, so two processes
    starting at once agree on one key and neither ever reads a half-written file.
    """
    if not path.exists():
        draft = path.with_name(f"{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
        try:
            descriptor = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(descriptor, "w") as file:
                file.write(secrets.token_hex(32) + "\n")
            os.link(draft, path)
        except FileExistsError:
            pass  # another process made it first: use theirs
        except OSError as exc:
            raise ConfigError(f"cannot create the signing key file {path}: {exc.strerror}") from None
        finally:
            draft.unlink(missing_ok=True)
    return read_secret_file(path)
