"""Statements built once per shape, then run with parameters.

Building a SELECT with SQLAlchemy's expression language (and the cache key it compiles
under) costs more than running it on an indexed SQLite page: tens of microseconds a
clause, hundreds a listing. What a listing's SQL looks like depends only on its shape
(which filters are present, the order, how a search is joined), never on the values, so
each shape's statement is built the first time it is needed and kept; the values go in
as bound parameters. There are at most a few hundred shapes, so the dictionary stays
small (about 1 KB of memory a statement).
"""

from collections.abc import Callable, Hashable
from typing import TypeVar

T = TypeVar("T")

_built: dict[Hashable, object] = {}


def built(shape: Hashable, build: Callable[[], T]) -> T:
    """The statement of this shape (build() makes it the first time)."""
    found = _built.get(shape)
    if found is None:
        found = _built[shape] = build()
    return found  # type: ignore[return-value]  # one shape, one builder, one type
