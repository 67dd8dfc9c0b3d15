"""A package's public names imported when first used (PEP 562), so that importing one light module
of the package (as ``harmonise --help`` does) does not import every module its face names.

A package writes ``__getattr__, __dir__ = lazy_face(__name__, _HOMES, __all__)`` below its
``__all__``; type checkers read the same names from an ``if TYPE_CHECKING:`` import block.
"""

from collections.abc import Callable, Mapping, Sequence
from importlib import import_module
from typing import Any


def lazy_face(package: str, homes: Mapping[str, str], public: Sequence[str]
              ) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """The ``__getattr__`` and ``__dir__`` of ``package``, whose public name ``n`` is defined in its
    module ``homes[n]``."""
    namespace = import_module(package).__dict__

    def __getattr__(name: str) -> Any:
        home = homes.get(name)
        if home is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(import_module(f".{home}", package), name)
        namespace[name] = value  # once: the next lookup is an ordinary attribute
        return value

    def __dir__() -> list[str]:
        return sorted(set(namespace) | set(public))

    return __getattr__, __dir__
