"""The workspace's session cookie: who is signed in and the session's CSRF token, signed with the install's key.

The cookie holds ``{"u": account name or None, "e": the account's session epoch, "c": CSRF token}``
signed by itsdangerous (HMAC-SHA1 over the install's key, ``SecuritySettings.secret``, with a salt
of its own so no token or other signature can be replayed as a session). It is HttpOnly,
SameSite=Strict, and Secure when the request came over HTTPS. Sign-out moves the account's epoch
on, so a copied cookie stops working too.
"""

import hmac
import secrets
from dataclasses import dataclass
from typing import Final

from itsdangerous import BadSignature, URLSafeTimedSerializer
from starlette.requests import Request
from starlette.responses import Response

COOKIE: Final = "harmonise_workspace"
#: How long a session lasts without signing in again.
MAX_AGE_SECONDS: Final = 8 * 60 * 60
_SALT: Final = "harmonise-workspace-session"


@dataclass(frozen=True)
class Session:
    user: str | None
    epoch: int
    csrf: str
    #: Whether the browser must be sent the cookie (a new or changed session).
    fresh: bool = False


def new_session(user: str | None = None, epoch: int = 0) -> Session:
    return Session(user, epoch, secrets.token_urlsafe(32), fresh=True)


class Sessions:
    def __init__(self, secret: bytes) -> None:
        self._serializer = URLSafeTimedSerializer(secret, salt=_SALT)

    def read(self, request: Request) -> Session:
        """The request's session; a new anonymous one when it has none, or one that is forged or too old."""
        cookie = request.cookies.get(COOKIE)
        if cookie:
            try:
                data = self._serializer.loads(cookie, max_age=MAX_AGE_SECONDS)
                if isinstance(data, dict) and isinstance(data.get("c"), str) and isinstance(data.get("e"), int) \
                        and (data.get("u") is None or isinstance(data.get("u"), str)):
                    return Session(data["u"], data["e"], data["c"])
            except BadSignature:
                pass
        return new_session()

    def save(self, request: Request, response: Response, session: Session) -> None:
        value = self._serializer.dumps({"u": session.user, "e": session.epoch, "c": session.csrf})
        response.set_cookie(COOKIE, value, max_age=MAX_AGE_SECONDS, path=_cookie_path(request), httponly=True,
                            samesite="strict", secure=request.url.scheme == "https")


def _cookie_path(request: Request) -> str:
    return (request.scope.get("root_path") or "") + "/"


def csrf_matches(session: Session, sent: object) -> bool:
    return isinstance(sent, str) and bool(sent) and hmac.compare_digest(session.csrf.encode(), sent.encode())
