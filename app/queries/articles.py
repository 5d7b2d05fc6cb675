"""Articles: a listing's page, whole articles for exports and feeds, one article.

How a listing selects its articles (filters, search, statements) is app.queries.listing;
this module reads the page's rows and makes them the API's typed rows (app.schemas).
"""

import json
from collections.abc import Sequence
from datetime import datetime, timedelta, timezone
from functools import lru_cache
from typing import Any, TypeVar

from sqlalchemy import Connection, Row, bindparam
from sqlalchemy.orm import Session

from app import schemas
from app.cache.counts import CountCache
from app.databases import database_for
from app.models import Article
from app.pagination import Pager, Slice
from app.queries.listing import (
    ArticleFilters,
    Columns,
    Listing,
    candidates,
    page_columns,
    plan_listing,
)
from app.queries.statements import built
from app.schemas import ArticleListItem, ArticleRecord, AuthorRef, Highlight, SourceRef
from app.search.highlight import highlight_snippet, highlight_title

R = TypeVar("R", bound=ArticleRecord)


@lru_cache(maxsize=256)
def _zone(offset_minutes: int) -> timezone:
    return timezone(timedelta(minutes=offset_minutes))


def local_time(utc: datetime, offset_minutes: int) -> datetime:
    """The instant as the publisher stated it, in their own UTC offset."""
    return utc.astimezone(_zone(offset_minutes))


def byline(text: str | None) -> list[AuthorRef]:
    """The authors of a page row's byline (app.databases' byline(): JSON of [position,
    id, name]), in byline order."""
    if not text:
        return []
    return [AuthorRef(id=id_, name=name) for _, id_, name in sorted(json.loads(text))]


def _item_fields(row: Row[Any]) -> dict[str, Any]:
    """The fields an article's list item and its record share, from a "list", "search"
    or "record" row."""
    return {
        "id": row.id,
        "url": row.url,
        "title": row.title,
        "published_at": local_time(row.published_at, row.published_offset_minutes),
        "authors": byline(row.byline),
        "source": SourceRef(id=row.source_id, name=row.source_name, domain=row.source_domain),
        "language": row.language,
        "word_count": row.word_count,
        "excerpt": row.excerpt,
        "category": row.category,
        "story_id": row.story_id,
    }


def list_item(row: Row[Any]) -> ArticleListItem:
    """A listing's item from a "list" or "search" row (highlight added by the caller)."""
    return ArticleListItem(**_item_fields(row))


def article_record(row: Row[Any], kind: type[R]) -> R:
    """An article's every field but paragraphs, from a "record" row."""
    return kind(
        **_item_fields(row),
        body=row.body,
        photo_credit=row.photo_credit,
        ingested_at=row.ingested_at,
        updated_at=row.updated_at,
    )


def _rows(
    connection: Connection,
    listing: Listing,
    columns: Columns,
    pager: Pager,
    rank_window: int,
) -> tuple[Sequence[Row[Any]], tuple[Any, ...] | None]:
    """The page's rows in the pager's order, and the key to continue after."""
    if pager.order.needs_search:
        listing.plan_walk(connection, rank_window)
        return _ranked_rows(connection, listing, columns, pager, rank_window)
    if listing.composite() is not None:  # the page reads the index's matches in key order
        listing.plan_walk(connection, pager.offset + pager.limit + 1)
    return pager.split(listing.page(connection, columns, pager))


def _ranked_rows(
    connection: Connection,
    listing: Listing,
    columns: Columns,
    pager: Pager,
    rank_window: int,
) -> tuple[Sequence[Row[Any]], tuple[Any, ...] | None]:
    """A relevance page: windows of the newest matches (app.queries.listing.candidates),
    each ranked by score, then id; the key is (window's top key, score, id)."""
    low, high = int(listing.params["key_low"]), int(listing.params["key_high"])
    top, after = high, None
    if pager.after is not None:
        cursor_top, score, id_ = pager.after
        assert isinstance(cursor_top, int) and isinstance(score, float) and isinstance(id_, int)
        top, after = cursor_top, (score, id_)
    ranked: list[tuple[int, float, int]] = []  # (window top, score, id)
    skip = pager.offset
    while len(ranked) <= pager.limit and top >= low:
        want = pager.limit + 1 - len(ranked) + skip
        window = candidates(connection, listing, top, rank_window, want, after)
        for found in window.best:
            if skip:
                skip -= 1
                continue
            ranked.append((top, found.score, found.id))
        after = None
        if window.size < rank_window:
            break
        top = window.lowest - 1
    page = ranked[: pager.limit]
    next_key = page[-1] if len(ranked) > pager.limit else None
    if not page:
        return [], None
    database = listing.shape.database
    statement = built(
        ("by_ids", columns, database),
        lambda: page_columns(columns, database).where(
            Article.id.in_(bindparam("ids", expanding=True))
        ),
    )
    by_id = {row.id: row for row in connection.execute(statement, {"ids": [i for *_, i in page]})}
    return [by_id[i] for *_, i in page], next_key


def list_articles(
    session: Session,
    filters: ArticleFilters,
    pager: Pager,
    totals: CountCache | None = None,
    rank_window: int = 1000,
) -> Slice[ArticleListItem]:
    """One page of the articles matching filters, in the pager's order and position.

    With a search, items carry a highlight, and the order may be relevance. totals
    keeps counts under the data version (None: count every time).
    """
    listing = plan_listing(session, filters)
    if listing is None:
        return Slice(items=[], total=0, next_key=None)
    # Core execution: these are plain rows, and the ORM's per-statement work shows in latency.
    connection = session.connection()
    total = listing.total(session, totals)
    columns: Columns = "search" if filters.search is not None else "list"
    rows, next_key = _rows(connection, listing, columns, pager, rank_window)
    items = [list_item(row) for row in rows]
    if filters.search is not None:
        wanted = filters.search.positive_terms
        for item, row in zip(items, rows, strict=True):
            item.highlight = Highlight(
                title=highlight_title(row.title, wanted),
                snippet=highlight_snippet(row.body, wanted),
            )
    return Slice(items=items, total=total.count, next_key=next_key, exact=total.exact)


def article_records(
    session: Session, filters: ArticleFilters, pager: Pager, rank_window: int = 1000
) -> Slice[ArticleRecord]:
    """Whole articles (every field but paragraphs) in the pager's order, a page at a time,
    without a total: what exports and feeds read."""
    listing = plan_listing(session, filters)
    if listing is None:
        return Slice(items=[], total=None, next_key=None)
    connection = session.connection()
    rows, next_key = _rows(connection, listing, "record", pager, rank_window)
    items = [article_record(row, ArticleRecord) for row in rows]
    return Slice(items, None, next_key)


def get_article(session: Session, article_id: int) -> schemas.Article | None:
    database = database_for(session).name
    statement = built(
        ("article", database),
        lambda: page_columns("record", database).where(Article.id == bindparam("id")),
    )
    row = session.connection().execute(statement, {"id": article_id}).one_or_none()
    if row is None:
        return None
    article = article_record(row, schemas.Article)
    article.paragraphs = row.body.split("\n\n") if row.body else []
    return article
