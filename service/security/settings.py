"""The security settings of one installation, read from the environment.

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

from ..loader import MAX_FILE_BYTES
from .variables import (  # the names, in a module of their own (light enough for the command line's --help)
    ALLOW_ANONYMOUS_WRITES,
    AUDIENCE,
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
    STATEMENT_TIMEOUT,
    TRUSTED_PROXIES,
    VARIABLES,  # noqa: F401  (re-exported: its old home)
)

LOCAL_SECRET_NAME: Final = ".harmonise-secret"
#: HS256 keys shorter than the hash are guessable (RFC 7518 3.2).
MIN_SECRET_BYTES: Final = 32
#: A secret file is a line of text; anything longer is not one.
_SECRET_FILE_LIMIT: Final = 4096
DEFAULT_ISSUER: Final = "harmonise"
DEFAULT_AUDIENCE: Final = "harmonise"
_TRUE: Final = ("1", "true", "yes", "on")
_FALSE: Final = ("", "0", "false", "no", "off")


class ConfigError(ValueError):
    """A setting that cannot be used; the message names the variable or file."""


@dataclass(frozen=True)
class RequestLimits:
    """What one request may cost: past any of these the client gets a 4xx (or 503), never a hang.

    Each is a documented setting (docs/security.md, "Request budgets"); the defaults are generous
    for every real client and FHIR tool seen, and small enough that no single request can hold a
    worker or a database connection for long.
    """

    #: Search parameters (name=value pairs that select, not _count or _sort) in one search.
    search_parameters: int = 40
    #: Values in one search, counting each comma-separated alternative.
    search_values: int = 200
    #: Characters in one search value.
    search_value_length: int = 1_000
    #: Bytes of a form body (POST _search); a search is a short list of parameters.
    form_bytes: int = 64 * 1024
    #: Milliseconds one database statement may run before it is cancelled (503 to the client).
    statement_timeout_ms: int = 10_000
    #: Distinct pathways (``pathway=`` references) one ``$compare`` compares.
    compare_pathways: int = 100
    #: Actions (at any depth) in each resource ``$diff`` compares.
    diff_actions: int = 2_000

    def __post_init__(self) -> None:
        for name, variable in _LIMIT_VARIABLES.items():
            if getattr(self, name) < 1:
                raise ConfigError(f"{variable} must be a positive whole number")

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] = os.environ) -> "RequestLimits":
        defaults = cls()
        return cls(**{name: _whole_number(environ, variable, getattr(defaults, name))
                      for name, variable in _LIMIT_VARIABLES.items()})


_LIMIT_VARIABLES: Final = {
    "search_parameters": MAX_SEARCH_PARAMETERS,
    "search_values": MAX_SEARCH_VALUES,
    "search_value_length": MAX_SEARCH_VALUE_LENGTH,
    "form_bytes": MAX_FORM_BYTES,
    "statement_timeout_ms": STATEMENT_TIMEOUT,
    "compare_pathways": MAX_COMPARE_PATHWAYS,
    "diff_actions": MAX_DIFF_ACTIONS,
}


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
    max_body_bytes: int = MAX_FILE_BYTES
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
        if self.max_body_bytes < 1:
            raise ConfigError(f"{MAX_BODY_BYTES} must be a positive number of bytes")

    @classmethod
    def from_environment(cls, database_url: str, environ: Mapping[str, str] = os.environ) -> "SecuritySettings":
        """The settings for a store at ``database_url``, creating the local key file if it is needed."""
        secret, source = _signing_key(database_url, environ)
        return cls(
            secret=secret,
            key_source=source,
            issuer=environ.get(ISSUER) or DEFAULT_ISSUER,
            audience=environ.get(AUDIENCE) or DEFAULT_AUDIENCE,
            reads_require_token=_flag(environ, READS_REQUIRE_TOKEN),
            allow_anonymous_writes=_flag(environ, ALLOW_ANONYMOUS_WRITES),
            max_body_bytes=_whole_number(environ, MAX_BODY_BYTES, MAX_FILE_BYTES),
            limits=RequestLimits.from_environment(environ),
            public_base_url=environ.get(PUBLIC_BASE_URL, "").strip().rstrip("/") or None,
            trusted_proxies=tuple(part.strip() for part in environ.get(TRUSTED_PROXIES, "").split(",")
                                  if part.strip()),
        )


def _flag(environ: Mapping[str, str], name: str) -> bool:
    value = environ.get(name, "").strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ConfigError(f"{name} must be 1 or 0 (true or false), not {value!r}")


def _whole_number(environ: Mapping[str, str], name: str, default: int) -> int:
    value = environ.get(name, "").strip()
    if not value:
        return default
    if not (value.isascii() and value.isdigit() and len(value) < 16):
        raise ConfigError(f"{name} must be a whole number, not {value!r}")
    return int(value)


def local_secret_file(database_url: str) -> Path:
    """Where the generated key of a local install lives: beside the SQLite file, else in the home folder."""
    try:
        url = make_url(database_url)
    except ArgumentError:
        raise ConfigError(f"'{database_url}' is not a database URL") from None
    if url.get_backend_name() == "sqlite" and url.database and url.database != ":memory:":
        return Path(url.database).resolve().parent / LOCAL_SECRET_NAME
    return Path.home() / LOCAL_SECRET_NAME


def _signing_key(database_url: str, environ: Mapping[str, str]) -> tuple[bytes, str]:
    if environ.get(SECRET):
        return environ[SECRET].strip().encode(), SECRET
    if environ.get(SECRET_FILE):
        path = Path(environ[SECRET_FILE])
        return read_secret_file(path), str(path)
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
