"""Who may do what: bearer tokens, SMART-style scopes and the ownership rules of the network.

- ``scopes``: the scope grammar (``system/PlanDefinition.write``, ``network-lead``) and what a
  set of scopes grants; the one place scopes are defined.
- ``environment``: every ``HARMONISE_...`` variable, its type and default (pydantic-settings); a
  bad value is refused naming the variable. ``variables`` has their names alone.
- ``settings``: keys and switches made from the environment, with a generated local key when none
  is configured.
- ``tokens``: issuing and verifying signed JWTs (PyJWT), to a ``Principal``.
- ``policy``: which changes a principal may make: a trust only to what it owns, the network
  lead to network-wide content.

Nothing here knows about HTTP; ``service.api.auth`` is the edge that applies it to requests.
"""

from typing import TYPE_CHECKING

from ..lazy import lazy_face

if TYPE_CHECKING:
    from .environment import ConfigError, Environment, read_environment
    from .scopes import Access, Scopes
    from .settings import RequestLimits, SecuritySettings
    from .tokens import InvalidToken, Principal, issue, verify

#: Each public name and the module it is defined in. Imported when first used (PEP 562), so that
#: ``harmonise --help`` (which reads ``security.variables``) imports neither PyJWT nor pydantic.
_HOMES = {"Access": "scopes", "Scopes": "scopes", "ConfigError": "environment",
          "Environment": "environment", "read_environment": "environment", "RequestLimits": "settings",
          "SecuritySettings": "settings", "InvalidToken": "tokens", "Principal": "tokens", "issue": "tokens",
          "verify": "tokens"}

__all__ = ["Access", "ConfigError", "Environment", "InvalidToken", "Principal", "RequestLimits", "Scopes",
           "SecuritySettings", "issue", "read_environment", "verify"]


__getattr__, __dir__ = lazy_face(__name__, _HOMES, __all__)
