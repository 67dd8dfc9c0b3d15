"""Uploaded workbooks waiting for their pathway lead to submit or discard them, held in the server, never stored.

The browser is handed only an unguessable key; what it posts back is that key, never the resource, and
the held workbook is converted and checked again when it is submitted (``import_pathway``), so nothing
the browser could alter is trusted. Each is tied to the account and the session (its CSRF token) that
uploaded it, expires after ``TTL``, and the holder keeps at most ``MAX_HELD`` (one per person: a new
upload replaces that person's earlier one). Held in this process: a restarted server forgets them, and
the lead uploads again.
"""

import secrets
import threading
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Final

from ..spreadsheet import Rows

TTL: Final = timedelta(minutes=30)
MAX_HELD: Final = 200


@dataclass(frozen=True)
class Pending:
    key: str
    account: str
    session: str
    rows: Rows
    topic: str
    trust: str
    held_at: datetime


class PendingUploads:
    def __init__(self) -> None:
        self._held: dict[str, Pending] = {}
        self._lock = threading.Lock()

    def hold(self, account: str, session: str, rows: Rows, topic: str, trust: str) -> Pending:
        now = datetime.now(UTC)
        with self._lock:
            self._expire(now)
            for key in [k for k, p in self._held.items() if p.account == account]:
                del self._held[key]
            while len(self._held) >= MAX_HELD:
                del self._held[min(self._held.values(), key=lambda p: p.held_at).key]
            pending = Pending(secrets.token_urlsafe(24), account, session, rows, topic, trust, now)
            self._held[pending.key] = pending
            return pending

    def find(self, key: str, account: str, session: str) -> Pending | None:
        """The upload held under ``key`` for this account in this session; None for another's, or an expired one."""
        with self._lock:
            self._expire(datetime.now(UTC))
            pending = self._held.get(key)
        if pending is None or not secrets.compare_digest(pending.account, account) \
                or not secrets.compare_digest(pending.session, session):
            return None
        return pending

    def drop(self, key: str) -> None:
        with self._lock:
            self._held.pop(key, None)

    def _expire(self, now: datetime) -> None:
        for key in [k for k, p in self._held.items() if now - p.held_at > TTL]:
            del self._held[key]
