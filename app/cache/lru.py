"""The one LRU type of the API process: least recently used entries, within a budget.

Each entry has a cost (its size in bytes, as the cache that uses it counts it); the cache
keeps the most recently used entries whose costs fit in the budget. An entry costing more
than max_entry is not kept at all, so one huge answer cannot flush everything else.
Thread-safe: requests run in a threadpool and on the event loop.
"""

from collections import OrderedDict
from collections.abc import Callable, Hashable
from threading import Lock
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class LRU(Generic[K, V]):
    def __init__(self, budget: int, cost: Callable[[K, V], int], max_entry: int) -> None:
        self.budget = budget
        self.max_entry = min(max_entry, budget)
        self._cost = cost
        self._items: OrderedDict[K, tuple[V, int]] = OrderedDict()
        self._used = 0
        self._lock = Lock()

    @property
    def used(self) -> int:
        """The cost of what is kept now (never more than the budget)."""
        return self._used

    def __len__(self) -> int:
        return len(self._items)

    def get(self, key: K) -> V | None:
        with self._lock:
            found = self._items.get(key)
            if found is None:
                return None
            self._items.move_to_end(key)
            return found[0]

    def get_or_put(self, key: K, make: Callable[[], V]) -> V:
        """The value kept under key (None included), else make()'s, kept if it fits.
        make runs outside the lock: two threads that miss at once may both make it."""
        with self._lock:
            found = self._items.get(key)
            if found is not None:
                self._items.move_to_end(key)
                return found[0]
        value = make()
        self.put(key, value)
        return value

    def put(self, key: K, value: V) -> bool:
        """Keep value under key, evicting the least recently used entries to make room;
        False if it costs more than max_entry (nothing is kept, nothing evicted)."""
        cost = self._cost(key, value)
        if cost > self.max_entry:
            return False
        with self._lock:
            old = self._items.pop(key, None)
            if old is not None:
                self._used -= old[1]
            while self._items and self._used + cost > self.budget:
                _, (_, evicted) = self._items.popitem(last=False)
                self._used -= evicted
            self._items[key] = (value, cost)
            self._used += cost
        return True

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
            self._used = 0
