"""The active API keys, held in memory by each worker and read again from the database
every API_KEY_REFRESH_SECONDS (and at most once a second when an unknown key is shown, so
that a key just issued works at once). A request's key is then a dictionary lookup on the
event loop, and a flood of made-up keys costs the database nothing.

A revoked key stops working at the next refresh. If the database does not answer, the
keys last read stay in force; before any were read, a request with a key answers 503.
"""

import asyncio
import logging
import time

from anyio import to_thread
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from app.queries.keys import ActiveKey, active_keys, hash_key

log = logging.getLogger("app")

UNKNOWN_KEY_RELOAD_SECONDS = 1.0


class KeysUnavailableError(Exception):
    """The keys were never read: the database has not answered yet."""


class KeyRing:
    def __init__(self, refresh_seconds: float) -> None:
        self._refresh = refresh_seconds
        self._keys: dict[str, ActiveKey] | None = None
        self._read_at = float("-inf")
        self._lock = asyncio.Lock()

    async def find(self, sessions: sessionmaker[Session], key: str) -> ActiveKey | None:
        """The active key this is, or None if it is unknown or revoked."""
        digest = hash_key(key)
        if time.monotonic() - self._read_at >= self._refresh:
            await self._reload(sessions, self._refresh)
        keys = self._keys
        if keys is not None and digest not in keys:
            await self._reload(sessions, UNKNOWN_KEY_RELOAD_SECONDS)
            keys = self._keys
        if keys is None:
            raise KeysUnavailableError
        return keys.get(digest)

    async def _reload(self, sessions: sessionmaker[Session], older_than: float) -> None:
        async with self._lock:  # one read at a time; the others find it done
            if time.monotonic() - self._read_at < older_than:
                return
            try:
                self._keys = await to_thread.run_sync(_read, sessions)
            except SQLAlchemyError as exc:
                log.warning("API keys not refreshed: %s", exc)
            # Also after a failure: the database is not asked again before the interval.
            self._read_at = time.monotonic()


def _read(sessions: sessionmaker[Session]) -> dict[str, ActiveKey]:
    with sessions() as session:
        return active_keys(session)
