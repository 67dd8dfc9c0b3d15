"""Workspace passwords: argon2id hashes (argon2-cffi, memory-hard), and the role an account signs in as.

An account's role gives it the scopes ``harmonise token`` gives the same role, so a person in the
workspace may change exactly what their token could through the API (``security.policy``).
"""

from typing import Final

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from .. import conventions as c
from .scopes import NETWORK_LEAD, READ_ALL, TRUST_WRITES, WRITE_ALL, Scopes
from .tokens import Principal

#: The namespace of workspace accounts' names in the audit trail (``Agent.system``).
WORKSPACE_ACCOUNTS: Final = f"{c.BASE}/NamingSystem/workspace-account"
#: The shortest password accepted for an account.
MIN_LENGTH: Final = 12

_hasher: Final = PasswordHasher()  # argon2id, the library's current recommended parameters


def hash_password(password: str) -> str:
    if len(password) < MIN_LENGTH:
        raise ValueError(f"a password must be at least {MIN_LENGTH} characters long")
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


#: A hash of nothing anyone knows, checked when the name is unknown, so an unknown name costs what a known one does.
_DUMMY: Final = _hasher.hash("no account has this password, it is only for timing")


def burn_time(password: str) -> None:
    verify_password(_DUMMY, password)


def role_scopes(trust: str | None, network_lead: bool) -> Scopes:
    """The scopes of a role, as ``harmonise token`` issues them by default."""
    words = [READ_ALL, *(TRUST_WRITES if trust else ()), *((WRITE_ALL, NETWORK_LEAD) if network_lead else ())]
    return Scopes.parse(" ".join(words))


def principal(name: str, trust: str | None, network_lead: bool) -> Principal:
    """Who a signed-in account speaks for, to the same access policy as a token's holder."""
    return Principal(name, WORKSPACE_ACCOUNTS, role_scopes(trust, network_lead), None if network_lead else trust)
