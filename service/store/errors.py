"""What can go wrong in the store, in the words the REST layer turns into HTTP statuses."""


class StoreError(Exception):
    """Base class; ``message`` is written for the person who sent the request."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class NotFound(StoreError):
    """No such resource or version (404)."""


class Gone(StoreError):
    """The resource, or the version asked for, is deleted (410)."""


class PreconditionFailed(StoreError):
    """An If-Match named a version that is not the current one, or If-None-Exist matched more than one (412)."""


class WriteConflict(StoreError):
    """Another writer created the same version at the same moment (409); retrying is safe."""


class InvalidSearch(StoreError):
    """A search parameter, modifier or value the server does not support or cannot read (400)."""


class SearchTooCostly(InvalidSearch):
    """A search past the server's budget: too many parameters or values, or too long a value (400)."""


class StatementTimeout(StoreError):
    """A database statement ran past the store's statement timeout and was cancelled (503).

    Only reads are timed (see ``engine``), and a cancelled read changes nothing: asking again,
    or asking for less, is safe.
    """
