"""Authors: listing with name-prefix search, per-source narrowing and keyset pages."""

from typing import Any

from sqlalchemy import ColumnElement, Integer, Select, String, func, literal, or_, select, tuple_
from sqlalchemy.orm import Session

from app.models import Article, ArticleAuthor, Author, Source, name_key, source_named


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _with_count() -> Select[*tuple[Any, ...]]:
    count = (
        select(func.count())
        .where(ArticleAuthor.author_id == Author.id)
        .correlate(Author)
        .scalar_subquery()
    )
    return select(Author.id, Author.name, Author.name_key, count.label("article_count"))


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
    *,
    q: str | None = None,
    sources: list[str] | None = None,
    limit: int = 20,
    after: tuple[Any, ...] | None = None,
    offset: int = 0,
) -> tuple[list[dict[str, Any]], int, list[Any] | None]:
    """(page of authors by name, total matching, key of the last item if more follow)."""
    where = author_conditions(q, sources or [])
    total = session.scalar(select(func.count()).select_from(Author).where(*where)) or 0
    stmt = _with_count().where(*where)
    if after is not None:
        stmt = stmt.where(
            tuple_(Author.name_key, Author.id)
            > tuple_(literal(after[0], String()), literal(after[1], Integer()))
        )
    rows = session.execute(
        stmt.order_by(Author.name_key, Author.id).offset(offset).limit(limit + 1)
    ).all()
    next_key = [rows[limit - 1].name_key, rows[limit - 1].id] if len(rows) > limit else None
    items = [{"id": r.id, "name": r.name, "article_count": r.article_count} for r in rows[:limit]]
    return items, total, next_key


def get_author(session: Session, author_id: int) -> dict[str, Any] | None:
    row = session.execute(_with_count().where(Author.id == author_id)).one_or_none()
    if row is None:
        return None
    return {"id": row.id, "name": row.name, "article_count": row.article_count}
