"""Totals cached under the archive's data version (see models.ArchiveState).

Counting the articles that match a listing costs a pass over an index, milliseconds per
100,000 articles, on every page of every listing. A total only changes when a table it
is counted from changes, and triggers on every table an endpoint reads bump the version in
the same transaction (migrations 0003 and 0005); reading the version is one primary-key
lookup in the request's own snapshot, so a cached total is exactly the count that query
would return.
"""

from collections import OrderedDict
from collections.abc import Callable, Hashable
from threading import Lock

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from app.models import ArchiveState

MAX_ENTRIES = 10_000
_VERSION = "data_version"


def data_version(session: Session) -> int | None:
    """The archive's data version as this session sees it, read once per session (the
    response cache and the count cache both key on it)."""
    if _VERSION not in session.info:
        session.info[_VERSION] = session.connection().scalar(select(ArchiveState.version))
    version: int | None = session.info[_VERSION]
    return version


class CountCache:
    def __init__(self, size: int = MAX_ENTRIES) -> None:
        self.size = size
        self._items: OrderedDict[tuple[Engine, int, Hashable], int] = OrderedDict()
        self._lock = Lock()

    def get(self, session: Session, key: Hashable, count: Callable[[], int]) -> int:
        version = data_version(session)
        if version is None:  # no state row: count every time
            return count()
        # One process may serve several databases (tests do), each with its own versions.
        entry = (session.connection().engine, version, key)
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
