"""Listing, filtering and fetching articles."""

from collections.abc import Hashable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from typing import Any, cast

from sqlalchemy import (
    ColumnElement,
    Double,
    Integer,
    Select,
    SQLColumnExpression,
    Subquery,
    Table,
    func,
    literal,
    select,
    tuple_,
)
from sqlalchemy.orm import InstrumentedAttribute, Session

from app.databases import database_for
from app.db import UTCDateTime
from app.models import Article, ArticleAuthor, Author, Source, name_key, source_named
from app.queries.counts import counts
from app.search.highlight import highlight_snippet, highlight_title
from app.search.query import SearchQuery

_ARTICLES = cast(Table, Article.__table__)
SORTS = {"-published_at": True, "published_at": False, "relevance": True}  # descending?


@dataclass
class ArticleFilters:
    published_from: datetime | None = None  # inclusive
    published_to: datetime | None = None  # inclusive
    authors: list[str] = field(default_factory=list)  # names, any case
    author_ids: list[int] = field(default_factory=list)
    sources: list[str] = field(default_factory=list)  # names or domains, any case
    source_ids: list[int] = field(default_factory=list)
    languages: list[str] = field(default_factory=list)
    search: SearchQuery | None = None

    def key(self) -> Hashable:
        """What identifies the set of articles these filters select (for cached counts)."""
        return (
            self.published_from,
            self.published_to,
            tuple(sorted({name_key(a) for a in self.authors})),
            tuple(sorted(set(self.author_ids))),
            tuple(sorted({name_key(s) for s in self.sources})),
            tuple(sorted(set(self.source_ids))),
            tuple(sorted(set(self.languages))),
            self.search,
        )


@dataclass
class Listing:
    """How to select the filtered articles and in what key to order and seek them.

    Names are resolved to ids first, so the main query compares ids: with one source
    the (source_id, published_at, id) index yields rows already in order. With exactly
    one author the listing is driven from article_authors, whose (author_id,
    published_at, article_id) index does the same for a prolific author.
    """

    where: list[ColumnElement[bool]]
    published_at: InstrumentedAttribute[datetime]
    id: InstrumentedAttribute[int]
    author_id: int | None = None
    hits: Subquery | None = None  # (id, score) of the articles matching q, to rank them
    known_total: int | None = None  # the count, when planning already found it

    def select_from(self, stmt: Select[*tuple[Any, ...]]) -> Select[*tuple[Any, ...]]:
        if self.author_id is not None:
            stmt = stmt.join(
                ArticleAuthor,
                (ArticleAuthor.article_id == Article.id)
                & (ArticleAuthor.author_id == self.author_id),
            )
        if self.hits is not None:
            stmt = stmt.join(self.hits, self.hits.c.id == Article.id)
        return stmt.where(*self.where)

    def sort_key(self, sort: str) -> tuple[SQLColumnExpression[Any], SQLColumnExpression[int]]:
        if sort == "relevance":
            assert self.hits is not None
            return self.hits.c.score, self.id
        return self.published_at, self.id


def _source_ids(session: Session, filters: ArticleFilters) -> list[int]:
    found = (
        session.scalars(select(Source.id).where(source_named(filters.sources))).all()
        if filters.sources
        else []
    )
    return sorted(set(filters.source_ids) | set(found))


def _author_ids(session: Session, filters: ArticleFilters) -> list[int]:
    keys = [name_key(name) for name in filters.authors]
    found = (
        session.scalars(select(Author.id).where(Author.name_key.in_(keys))).all() if keys else []
    )
    return sorted(set(filters.author_ids) | set(found))


def plan_listing(
    session: Session, filters: ArticleFilters, *, ranked: bool = False
) -> Listing | None:
    """The Listing for filters, or None when they can match nothing (an unknown name).

    ranked: order a search by relevance (joins the matches with their scores).
    """
    where: list[ColumnElement[bool]] = []
    published_at: InstrumentedAttribute[datetime] = Article.published_at
    id_: InstrumentedAttribute[int] = Article.id
    single_author: int | None = None
    if filters.authors or filters.author_ids:
        author_ids = _author_ids(session, filters)
        if not author_ids:
            return None
        if len(author_ids) == 1:
            single_author = author_ids[0]
            published_at, id_ = ArticleAuthor.published_at, ArticleAuthor.article_id
        else:
            where.append(
                Article.id.in_(
                    select(ArticleAuthor.article_id).where(ArticleAuthor.author_id.in_(author_ids))
                )
            )
    if filters.sources or filters.source_ids:
        source_ids = _source_ids(session, filters)
        if not source_ids:
            return None
        where.append(
            Article.source_id == source_ids[0]
            if len(source_ids) == 1
            else Article.source_id.in_(source_ids)
        )
    if filters.languages:
        where.append(Article.language.in_(filters.languages))
    if filters.published_from is not None:
        where.append(published_at >= filters.published_from)
    if filters.published_to is not None:
        where.append(published_at <= filters.published_to)
    hits = None
    known_total = None
    if filters.search is not None:
        database = database_for(session)
        connection = session.connection()
        database.plan_search(connection)
        matches = database.hits(filters.search, ranked=False)
        match_count = connection.scalar(select(func.count()).select_from(matches.subquery()))
        if not where and single_author is None:
            known_total = match_count  # every index entry is an article
        if ranked:
            hits = database.hits(filters.search, ranked=True).subquery("hits")
        else:
            where.append(database.keep_matches(connection, _ARTICLES, matches, match_count or 0))
    return Listing(
        where=where,
        published_at=published_at,
        id=id_,
        author_id=single_author,
        hits=hits,
        known_total=known_total,
    )


def listing_columns() -> Select[*tuple[Any, ...]]:
    return select(
        Article.id,
        Article.url,
        Article.title,
        Article.published_at,
        Article.published_offset_minutes,
        Article.language,
        Article.word_count,
        Article.excerpt,
        Source.id.label("source_id"),
        Source.name.label("source_name"),
        Source.domain.label("source_domain"),
    ).join(Source, Source.id == Article.source_id)


def local_time(utc: datetime, offset_minutes: int) -> datetime:
    """The instant as the publisher stated it, in their own UTC offset."""
    return utc.astimezone(timezone(timedelta(minutes=offset_minutes)))


def article_item(row: Any, authors: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "id": row.id,
        "url": row.url,
        "title": row.title,
        "published_at": local_time(row.published_at, row.published_offset_minutes),
        "authors": authors,
        "source": {"id": row.source_id, "name": row.source_name, "domain": row.source_domain},
        "language": row.language,
        "word_count": row.word_count,
        "excerpt": row.excerpt,
    }


def authors_of(session: Session, article_ids: list[int]) -> dict[int, list[dict[str, Any]]]:
    found: dict[int, list[dict[str, Any]]] = {id_: [] for id_ in article_ids}
    if article_ids:
        rows = session.connection().execute(
            select(ArticleAuthor.article_id, Author.id, Author.name)
            .join(Author, Author.id == ArticleAuthor.author_id)
            .where(ArticleAuthor.article_id.in_(article_ids))
            .order_by(ArticleAuthor.article_id, ArticleAuthor.position)
        )
        for article_id, author_id, name in rows:
            found[article_id].append({"id": author_id, "name": name})
    return found


def seek(
    stmt: Select[*tuple[Any, ...]],
    sort: str,
    first: SQLColumnExpression[Any],
    second: SQLColumnExpression[int],
    after: tuple[Any, ...] | None,
) -> Select[*tuple[Any, ...]]:
    """stmt in sort order by the key (first, second), starting after the keyset `after`."""
    descending = SORTS[sort]
    if after is not None:
        key_type = Double() if sort == "relevance" else UTCDateTime()
        key = tuple_(first, second)
        bound = tuple_(literal(after[0], key_type), literal(after[1], Integer()))
        stmt = stmt.where(key < bound if descending else key > bound)
    order = (first.desc(), second.desc()) if descending else (first.asc(), second.asc())
    return stmt.order_by(*order)


@dataclass
class ArticleSlice:
    items: list[dict[str, Any]]
    total: int
    next_key: list[Any] | None  # sort key of the last item, when there is a next page


def list_articles(
    session: Session,
    filters: ArticleFilters,
    *,
    sort: str = "-published_at",
    limit: int = 20,
    after: tuple[Any, ...] | None = None,
    offset: int = 0,
) -> ArticleSlice:
    """One page of articles matching filters, in sort order, after a keyset or an offset.

    With a search, items carry a highlight and sort may be "relevance".
    """
    listing = plan_listing(session, filters, ranked=sort == "relevance")
    if listing is None:
        return ArticleSlice(items=[], total=0, next_key=None)
    # Core execution: these are plain rows, and the ORM's per-statement work shows in latency.
    connection = session.connection()
    total = listing.known_total
    if total is None:
        count = listing.select_from(select(func.count()).select_from(Article))
        total = counts.get(session, filters.key(), lambda: connection.scalar(count) or 0)

    first, second = listing.sort_key(sort)
    stmt = listing.select_from(listing_columns().add_columns(first.label("sort_value")))
    if filters.search is not None:
        stmt = stmt.add_columns(Article.body)
    stmt = seek(stmt, sort, first, second, after)
    rows = connection.execute(stmt.offset(offset).limit(limit + 1)).all()
    has_next = len(rows) > limit
    rows = rows[:limit]
    authors = authors_of(session, [row.id for row in rows])
    items = [article_item(row, authors[row.id]) for row in rows]
    if filters.search is not None:
        wanted = filters.search.positive_terms
        for item, row in zip(items, rows, strict=True):
            item["highlight"] = {
                "title": highlight_title(row.title, wanted),
                "snippet": highlight_snippet(row.body, wanted),
            }
    next_key = None
    if has_next and rows:
        last = rows[-1]
        value = last.sort_value
        if isinstance(value, datetime):
            value = value.astimezone(UTC).isoformat()
        next_key = [value, last.id]
    return ArticleSlice(items=items, total=total or 0, next_key=next_key)


def full_columns() -> Select[*tuple[Any, ...]]:
    """listing_columns() and the rest of the article (what full_article() reads)."""
    return listing_columns().add_columns(
        Article.body, Article.photo_credit, Article.ingested_at, Article.updated_at
    )


def full_article(row: Any, authors: list[dict[str, Any]]) -> dict[str, Any]:
    """An article's every field but `paragraphs`, from a row of full_columns()."""
    return article_item(row, authors) | {
        "body": row.body,
        "photo_credit": row.photo_credit,
        "ingested_at": row.ingested_at,
        "updated_at": row.updated_at,
    }


def get_article(session: Session, article_id: int) -> dict[str, Any] | None:
    row = session.execute(full_columns().where(Article.id == article_id)).one_or_none()
    if row is None:
        return None
    article = full_article(row, authors_of(session, [article_id])[article_id])
    article["paragraphs"] = row.body.split("\n\n") if row.body else []
    return article
