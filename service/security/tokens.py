"""Signed bearer tokens: JWTs (HS256, by PyJWT) issued by ``harmonise token`` and verified per request.

Verification pins the algorithm, and requires the issuer, the audience, a subject, and issue and
expiry times: a token with ``alg: none``, another key, another audience or no expiry is refused.
"""

import re
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Final

import jwt

from .scopes import Scopes
from .settings import SecuritySettings

ALGORITHM: Final = "HS256"
#: The claim holding the ODS code of the trust the holder acts for.
ODS_CLAIM: Final = "ods"
#: Clock difference tolerated between the issuer and this server.
LEEWAY: Final = timedelta(seconds=30)
_REQUIRED: Final = ["exp", "iat", "sub", "iss", "aud"]
_ODS_CODE: Final = re.compile(r"[A-Z0-9]{3,10}")


@dataclass(frozen=True)
class Principal:
    """Who a verified token speaks for."""

    subject: str
    issuer: str
    scopes: Scopes
    #: ODS code of the trust the holder acts for; None for a network lead or a reader.
    trust: str | None = None


class InvalidToken(Exception):
    """A token that cannot be trusted; ``expired`` tells a client it may simply need a new one."""

    def __init__(self, message: str, *, expired: bool = False) -> None:
        super().__init__(message)
        self.message = message
        self.expired = expired


def is_ods_code(text: str) -> bool:
    return bool(_ODS_CODE.fullmatch(text))


def issue(settings: SecuritySettings, subject: str, scopes: Scopes, trust: str | None = None,
          lifetime: timedelta = timedelta(hours=8), now: datetime | None = None) -> str:
    """A signed token for ``subject`` with ``scopes``, acting for ``trust`` if given."""
    issued = now or datetime.now(UTC)
    claims: dict[str, object] = {
        "iss": settings.issuer, "aud": settings.audience, "sub": subject, "iat": issued, "nbf": issued,
        "exp": issued + lifetime, "jti": uuid.uuid4().hex, "scope": str(scopes),
    }
    if trust is not None:
        claims[ODS_CLAIM] = trust
    return jwt.encode(claims, settings.secret, algorithm=ALGORITHM)


def verify(settings: SecuritySettings, token: str) -> Principal:
    """The principal of a token signed with our key; InvalidToken saying why not otherwise."""
    try:
        claims = jwt.decode(token, settings.secret, algorithms=[ALGORITHM], audience=settings.audience,
                            issuer=settings.issuer, leeway=LEEWAY, options={"require": _REQUIRED})
    except jwt.ExpiredSignatureError:
        raise InvalidToken("the token has expired; ask for a new one", expired=True) from None
    except jwt.InvalidTokenError as exc:
        raise InvalidToken(f"the token is not valid: {exc}") from None
    scope, trust, subject = claims.get("scope", ""), claims.get(ODS_CLAIM), claims["sub"]
    if not isinstance(scope, str):
        raise InvalidToken("the token's scope claim must be a space-separated string")
    if trust is not None and not (isinstance(trust, str) and is_ods_code(trust)):
        raise InvalidToken(f"the token's {ODS_CLAIM} claim must be an ODS code like RHQ")
    if not isinstance(subject, str) or not subject.strip():
        raise InvalidToken("the token has no subject")
    return Principal(subject, claims["iss"], Scopes.parse(scope), trust)
