"""The search index's key: an article's (published_at, id) as one integer, in that order.

Both databases keep each index entry under this key (SQLite: the FTS5 rowid; PostgreSQL:
article_search.sort_key), so the index itself yields matches newest or oldest first and
a date range is a key range: a search by date reads a page of matches, not all of them,
and counting the matches of a date range never leaves the index.

published_at is kept to the second (app.ingest.parser), so key order is exactly the
listings' (published_at, id) order for every instant from EPOCH to LAST_INSTANT; an
instant outside takes the nearest end's key (its order among such articles is by id),
and the listing then checks published_at itself (`exact_range`).
"""

from datetime import UTC, datetime, timedelta

ID_BITS = 28  # article ids below 2^28 (268 million)
SECOND_BITS = 35
EPOCH = datetime(1900, 1, 1, tzinfo=UTC)
EPOCH_OFFSET = 2_208_988_800  # seconds from EPOCH to 1970-01-01, the Unix epoch
MAX_SECONDS = (1 << SECOND_BITS) - 1
LAST_INSTANT = EPOCH + timedelta(seconds=MAX_SECONDS)
MAX_ID = (1 << ID_BITS) - 1
MAX_KEY = (MAX_SECONDS << ID_BITS) | MAX_ID


def search_key(published_at: datetime, article_id: int) -> int:
    if not 0 < article_id <= MAX_ID:
        raise ValueError(f"article id {article_id} does not fit the search key")
    since = published_at - EPOCH
    seconds = since.days * 86_400 + since.seconds  # whole seconds, rounded down
    return (min(max(seconds, 0), MAX_SECONDS) << ID_BITS) | article_id


def article_id_of(key: int) -> int:
    return key & MAX_ID


def instant_of(key: int) -> datetime:
    """The (whole-second) instant a key was made of, or its clamped end."""
    return EPOCH + timedelta(seconds=key >> ID_BITS)


def key_range(start: datetime | None, end: datetime | None) -> tuple[int, int]:
    """The lowest and highest key (inclusive) of articles published in [start, end]
    (None: open). Whole seconds: a start inside a second begins at the next one."""
    low = 0
    if start is not None:
        low = search_key(start, 1) + (1 << ID_BITS if start.microsecond else 0)
    high = MAX_KEY if end is None else search_key(end, MAX_ID)
    return low, high


def exact_range(start: datetime | None, end: datetime | None) -> bool:
    """Does key_range(start, end) hold exactly the articles published in [start, end]?
    Not when a bound lies outside the instants the keys tell apart."""
    return all(bound is None or EPOCH <= bound < LAST_INSTANT for bound in (start, end))
