"""Whole articles in listing order, one keyset chunk at a time (exports and feeds).

Each chunk is one short query (plus one for its bylines) that seeks past the last key of
the chunk before, as cursor pagination does: any depth costs the same, nothing is held
between chunks, and the caller may use a new session for each.
"""

from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from app.queries.articles import (
    ArticleFilters,
    authors_of,
    full_article,
    full_columns,
    plan_listing,
    seek,
)


@dataclass
class Chunk:
    items: list[dict[str, Any]]  # full_article() dicts: every field but paragraphs
    next_key: tuple[Any, ...] | None  # where the next chunk starts; None after the last


def article_chunk(
    session: Session,
    filters: ArticleFilters,
    *,
    sort: str,
    size: int,
    after: tuple[Any, ...] | None = None,
) -> Chunk:
    """Up to size articles matching filters in sort order, after the keyset `after`.

    sort "relevance" needs filters.search; each chunk then ranks every match again (the
    database keeps only the top `size` while it sorts), as a relevance page does.
    """
    listing = plan_listing(session, filters, ranked=sort == "relevance")
    if listing is None:
        return Chunk(items=[], next_key=None)
    first, second = listing.sort_key(sort)
    stmt = listing.select_from(full_columns().add_columns(first.label("sort_value")))
    stmt = seek(stmt, sort, first, second, after)
    rows = session.connection().execute(stmt.limit(size)).all()
    authors = authors_of(session, [row.id for row in rows])
    items = [full_article(row, authors[row.id]) for row in rows]
    next_key = (rows[-1].sort_value, rows[-1].id) if len(rows) == size else None
    return Chunk(items=items, next_key=next_key)
