"""Sources with their article counts and date span."""

from typing import Any

from sqlalchemy import Row, Select, func, select
from sqlalchemy.orm import Session

from app.models import Article, Source
from app.schemas import SourceStats


def _stats() -> Select[*tuple[Any, ...]]:
    return (
        select(
            Source.id,
            Source.name,
            Source.domain,
            func.count(Article.id).label("article_count"),
            func.min(Article.published_at).label("first_published_at"),
            func.max(Article.published_at).label("last_published_at"),
        )
        .outerjoin(Article, Article.source_id == Source.id)
        .group_by(Source.id, Source.name, Source.domain)
    )


def _source(row: Row[Any]) -> SourceStats:
    return SourceStats(
        id=row.id,
        name=row.name,
        domain=row.domain,
        article_count=row.article_count,
        first_published_at=row.first_published_at,
        last_published_at=row.last_published_at,
    )


def list_sources(session: Session) -> list[SourceStats]:
    """Every source, most articles first (then by name)."""
    stmt = _stats().order_by(func.count(Article.id).desc(), Source.name, Source.id)
    return [_source(row) for row in session.execute(stmt)]


def get_source(session: Session, source_id: int) -> SourceStats | None:
    row = session.execute(_stats().where(Source.id == source_id)).one_or_none()
    return _source(row) if row else None
