"""Totals cached under the archive's data version (see models.ArchiveState).

Counting the articles that match a listing costs a pass over an index, milliseconds per
100,000 articles, on every page of every listing. A total only changes when articles or
bylines change, and triggers bump the version in the same transaction (migration 0003);
reading the version is one primary-key lookup in the request's own snapshot, so a cached
total is exactly the count that query would return.
"""

from collections import OrderedDict
from collections.abc import Callable, Hashable
from threading import Lock

from sqlalchemy import URL, Connection, select

from app.models import ArchiveState

MAX_ENTRIES = 10_000


class CountCache:
    def __init__(self, size: int = MAX_ENTRIES) -> None:
        self.size = size
        self._items: OrderedDict[tuple[URL, int, Hashable], int] = OrderedDict()
        self._lock = Lock()

    def get(self, connection: Connection, key: Hashable, count: Callable[[], int]) -> int:
        version = connection.scalar(select(ArchiveState.version))
        if version is None:  # no state row: count every time
            return count()
        # Keyed by database too: versions of two databases served by one process (tests,
        # a database rebuilt under a running server) would otherwise mix their totals.
        entry = (connection.engine.url, version, key)
        with self._lock:
            if entry in self._items:
                self._items.move_to_end(entry)
                return self._items[entry]
        total = count()
        with self._lock:
            self._items[entry] = total
            if len(self._items) > self.size:
                self._items.popitem(last=False)
        return total


counts = CountCache()
