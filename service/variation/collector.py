"""A comparison's garbage collection kept to the objects the comparison makes.

A process that has loaded a network's pathways holds about half a million objects, and each full
collection during a comparison scanned them all again: about a fifth of the time of all 15 topics
at national scale (docs/performance.md). ``own_objects_only`` freezes them (``gc.freeze``) while a
comparison runs, so collections scan only what the comparison made; cycles it makes are still
collected, and the frozen objects go back to the collector when the last comparison running ends.
A process that froze objects of its own (``gc.get_freeze_count``) is left as it is.
"""

import gc
import threading
from collections.abc import Callable
from functools import wraps
from typing import ParamSpec, TypeVar

P = ParamSpec("P")
R = TypeVar("R")

_lock = threading.Lock()
#: Comparisons running under this module's freeze (threads of a server may run several at once).
_running = 0


def own_objects_only(function: Callable[P, R]) -> Callable[P, R]:
    """``function`` run with the objects that exist when it starts left out of garbage collection."""

    @wraps(function)
    def frozen(*args: P.args, **kwargs: P.kwargs) -> R:
        if not _enter():
            return function(*args, **kwargs)
        try:
            return function(*args, **kwargs)
        finally:
            _leave()

    return frozen


def _enter() -> bool:
    """Freeze unless another comparison already has; False when the process froze objects itself."""
    global _running
    with _lock:
        if _running == 0:
            if gc.get_freeze_count():  # not ours: nothing of this module's is running
                return False
            gc.freeze()
        _running += 1
        return True


def _leave() -> None:
    global _running
    with _lock:
        _running -= 1
        if _running == 0:
            gc.unfreeze()
