"""Authors: listing with name-prefix search, per-source narrowing and keyset pages."""

from typing import Any

from sqlalchemy import ColumnElement, Row, Select, func, or_, select
from sqlalchemy.orm import Session

from app.cache.counts import CountCache
from app.models import Article, ArticleAuthor, Author, Source, name_key, source_named
from app.pagination import Pager, Slice
from app.schemas import AuthorStats


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _with_count() -> Select[*tuple[Any, ...]]:
    count = (
        select(func.count())
        .where(ArticleAuthor.author_id == Author.id)
        .correlate(Author)
        .scalar_subquery()
    )
    return select(Author.id, Author.name, count.label("article_count"))


def _key_columns(pager: Pager) -> dict[str, ColumnElement[Any]]:
    """The author columns the sort order's key names (app.pagination.SORTS)."""
    return {part.column: getattr(Author, part.column) for part in pager.order.key}


def _stats(row: Row[Any]) -> AuthorStats:
    return AuthorStats(id=row.id, name=row.name, article_count=row.article_count)


def author_conditions(q: str | None, sources: list[str]) -> list[ColumnElement[bool]]:
    where: list[ColumnElement[bool]] = []
    if q and (key := name_key(q)):
        # The name, or any word of it, starts with q: "ека" and "сум" both find
        # "Екатерина Сумина". The range keeps the whole-name prefix on the index.
        where.append(
            or_(
                (Author.name_key >= key) & (Author.name_key < key + "\U0010ffff"),
                Author.name_key.like(f"% {_escape_like(key)}%", escape="\\"),
            )
        )
    if sources:
        source_ids = select(Source.id).where(source_named(sources))
        where.append(
            Author.id.in_(
                select(ArticleAuthor.author_id)
                .join(Article, Article.id == ArticleAuthor.article_id)
                .where(Article.source_id.in_(source_ids))
            )
        )
    return where


def list_authors(
    session: Session,
    pager: Pager,
    *,
    q: str | None = None,
    sources: list[str] | None = None,
    totals: CountCache | None = None,
) -> Slice[AuthorStats]:
    """A page of the authors matching q and sources, in the pager's order."""
    where = author_conditions(q, sources or [])
    count = select(func.count()).select_from(Author).where(*where)
    key = ("authors", q and name_key(q), tuple(sorted(name_key(s) for s in sources or [])))
    total = (
        totals.get(session, key, lambda: session.scalar(count) or 0)
        if totals is not None
        else session.scalar(count) or 0
    )
    rows, next_key = pager.split(
        session.execute(
            pager.select(_with_count().where(*where), _key_columns(pager)), pager.params()
        ).all()
    )
    return Slice([_stats(row) for row in rows], total, next_key)


def get_author(session: Session, author_id: int) -> AuthorStats | None:
    row = session.execute(_with_count().where(Author.id == author_id)).one_or_none()
    return _stats(row) if row else None
