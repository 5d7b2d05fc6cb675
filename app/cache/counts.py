"""Listing totals, cached under the data version.

Counting the articles that match a listing costs a pass over an index, milliseconds per
100,000 articles, on every page of every listing. A total only changes with the data
version (app.cache.version), so a total cached under the version its session reads is
exactly the count that query would return.
"""

from collections.abc import Callable, Hashable

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from app.cache.lru import LRU
from app.cache.version import data_version

# What one entry costs in memory: the key's tuple of filters, the int, the LRU's links.
# An estimate (sys.getsizeof would walk every key on every put), generous for the
# filters a listing usually has.
ENTRY_BYTES = 600


class CountCache:
    def __init__(self, budget_bytes: int) -> None:
        self._lru: LRU[tuple[Engine, int, Hashable], int] = LRU(
            budget_bytes, lambda _key, _total: ENTRY_BYTES, ENTRY_BYTES
        )

    def get(self, session: Session, key: Hashable, count: Callable[[], int]) -> int:
        """The total for key under the session's data version, counted on a miss."""
        version = data_version(session)
        if version is None:  # no state row: count every time
            return count()
        # One process may serve several databases (tests do), each with its own versions.
        entry = (session.connection().engine, version, key)
        return self._lru.get_or_put(entry, count)
