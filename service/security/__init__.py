"""Who may do what: bearer tokens, SMART-style scopes and the ownership rules of the network.

- ``scopes``: the scope grammar (``system/PlanDefinition.write``, ``network-lead``) and what a
  set of scopes grants; the one place scopes are defined.
- ``settings``: keys and switches, from the environment, with a generated local key when none
  is configured.
- ``tokens``: issuing and verifying signed JWTs (PyJWT), to a ``Principal``.
- ``policy``: which changes a principal may make: a trust only to what it owns, the network
  lead to network-wide content.

Nothing here knows about HTTP; ``service.api.auth`` is the edge that applies it to requests.
"""

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .scopes import Access, Scopes
    from .settings import ConfigError, RequestLimits, SecuritySettings
    from .tokens import InvalidToken, Principal, issue, verify

#: Each public name and the module it is defined in. Imported when first used (PEP 562), so that
#: ``harmonise --help`` (which reads ``security.variables``) imports neither PyJWT nor pydantic.
_HOMES = {"Access": "scopes", "Scopes": "scopes", "ConfigError": "settings", "RequestLimits": "settings",
          "SecuritySettings": "settings", "InvalidToken": "tokens", "Principal": "tokens", "issue": "tokens",
          "verify": "tokens"}

__all__ = ["Access", "ConfigError", "InvalidToken", "Principal", "RequestLimits", "Scopes",
           "SecuritySettings", "issue", "verify"]


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(import_module(f".{home}", __name__), name)
    globals()[name] = value  # once: the next lookup is an ordinary attribute
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
