"""Listing, filtering and fetching articles."""

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from sqlalchemy import ColumnElement, Integer, Select, func, literal, or_, select, tuple_
from sqlalchemy.orm import Session

from app.db import UTCDateTime
from app.models import Article, ArticleAuthor, Author, Source, name_key

SORTS = {"-published_at": True, "published_at": False}  # sort -> descending?


@dataclass
class ArticleFilters:
    published_from: datetime | None = None  # inclusive
    published_to: datetime | None = None  # inclusive
    authors: list[str] = field(default_factory=list)  # names, any case
    author_ids: list[int] = field(default_factory=list)
    sources: list[str] = field(default_factory=list)  # names or domains, any case
    source_ids: list[int] = field(default_factory=list)
    languages: list[str] = field(default_factory=list)

    def conditions(self) -> list[ColumnElement[bool]]:
        where: list[ColumnElement[bool]] = []
        if self.published_from is not None:
            where.append(Article.published_at >= self.published_from)
        if self.published_to is not None:
            where.append(Article.published_at <= self.published_to)
        if self.authors or self.author_ids:
            keys = [name_key(name) for name in self.authors]
            author_ids = select(Author.id).where(
                or_(Author.id.in_(self.author_ids), Author.name_key.in_(keys))
            )
            where.append(
                Article.id.in_(
                    select(ArticleAuthor.article_id).where(ArticleAuthor.author_id.in_(author_ids))
                )
            )
        if self.sources or self.source_ids:
            keys = [name_key(name) for name in self.sources]
            where.append(
                Article.source_id.in_(
                    select(Source.id).where(
                        or_(
                            Source.id.in_(self.source_ids),
                            Source.name_key.in_(keys),
                            Source.domain.in_([k.removeprefix("www.") for k in keys]),
                        )
                    )
                )
            )
        if self.languages:
            where.append(Article.language.in_(self.languages))
        return where


def _listing_columns() -> Select[*tuple[Any, ...]]:
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


def _item(row: Any, authors: list[dict[str, Any]]) -> dict[str, Any]:
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


def _authors_of(session: Session, article_ids: list[int]) -> dict[int, list[dict[str, Any]]]:
    found: dict[int, list[dict[str, Any]]] = {id_: [] for id_ in article_ids}
    if article_ids:
        rows = session.execute(
            select(ArticleAuthor.article_id, Author.id, Author.name)
            .join(Author, Author.id == ArticleAuthor.author_id)
            .where(ArticleAuthor.article_id.in_(article_ids))
            .order_by(ArticleAuthor.article_id, ArticleAuthor.position)
        )
        for article_id, author_id, name in rows:
            found[article_id].append({"id": author_id, "name": name})
    return found


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
    """One page of articles matching filters, in sort order, after a keyset or an offset."""
    descending = SORTS[sort]
    where = filters.conditions()
    total = session.scalar(select(func.count()).select_from(Article).where(*where)) or 0

    stmt = _listing_columns().where(*where)
    if after is not None:
        key = tuple_(Article.published_at, Article.id)
        bound = tuple_(literal(after[0], UTCDateTime()), literal(after[1], Integer()))
        stmt = stmt.where(key < bound if descending else key > bound)
    order = (
        (Article.published_at.desc(), Article.id.desc())
        if descending
        else (Article.published_at.asc(), Article.id.asc())
    )
    rows = session.execute(stmt.order_by(*order).offset(offset).limit(limit + 1)).all()
    has_next = len(rows) > limit
    rows = rows[:limit]
    authors = _authors_of(session, [row.id for row in rows])
    items = [_item(row, authors[row.id]) for row in rows]
    next_key = None
    if has_next and rows:
        last = rows[-1]
        next_key = [last.published_at.astimezone(UTC).isoformat(), last.id]
    return ArticleSlice(items=items, total=total, next_key=next_key)


def get_article(session: Session, article_id: int) -> dict[str, Any] | None:
    row = session.execute(
        _listing_columns()
        .add_columns(Article.body, Article.photo_credit, Article.ingested_at, Article.updated_at)
        .where(Article.id == article_id)
    ).one_or_none()
    if row is None:
        return None
    item = _item(row, _authors_of(session, [article_id])[article_id])
    return item | {
        "body": row.body,
        "paragraphs": row.body.split("\n\n") if row.body else [],
        "photo_credit": row.photo_credit,
        "ingested_at": row.ingested_at,
        "updated_at": row.updated_at,
    }
