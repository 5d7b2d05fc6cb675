"""Facet counts over the filtered (and searched) articles, for sidebars and timelines."""

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, aliased

from app.databases import Interval, database_for
from app.models import Article, ArticleAuthor, Author, Source
from app.queries.articles import ArticleFilters, plan_listing

__all__ = ["Interval", "facets"]


def _as_instant(value: Any) -> datetime:
    if isinstance(value, datetime):
        return value.replace(tzinfo=UTC)
    return datetime.fromisoformat(str(value)).replace(tzinfo=UTC)


def facets(
    session: Session, filters: ArticleFilters, *, facet_limit: int, interval: Interval
) -> dict[str, Any]:
    empty: dict[str, Any] = {
        "total": 0,
        "sources": [],
        "authors": [],
        "languages": [],
        "published_at": {"interval": interval, "buckets": []},
    }
    listing = plan_listing(session, filters)
    if listing is None:
        return empty

    def counted(*columns: Any) -> Any:
        return listing.select_from(
            select(*columns, func.count().label("count")).select_from(Article)
        )

    total = session.scalar(counted()) or 0
    if total == 0:
        return empty
    count = func.count()
    sources = session.execute(
        counted(Source.id, Source.name, Source.domain)
        .join(Source, Source.id == Article.source_id)
        .group_by(Source.id, Source.name, Source.domain)
        .order_by(count.desc(), Source.name, Source.id)
        .limit(facet_limit)
    ).all()
    byline = aliased(ArticleAuthor)
    authors = session.execute(
        counted(Author.id, Author.name)
        .join(byline, byline.article_id == Article.id)
        .join(Author, Author.id == byline.author_id)
        .group_by(Author.id, Author.name)
        .order_by(count.desc(), Author.name, Author.id)
        .limit(facet_limit)
    ).all()
    languages = session.execute(
        counted(Article.language)
        .group_by(Article.language)
        .order_by(count.desc(), Article.language)
    ).all()
    # The start of the UTC day/week (Monday)/month/year holding published_at.
    bucket = database_for(session).date_bucket(Article.published_at, interval).label("bucket")
    buckets = session.execute(counted(bucket).group_by(bucket).order_by(bucket)).all()
    return {
        "total": total,
        "sources": [
            {"id": r.id, "name": r.name, "domain": r.domain, "count": r.count} for r in sources
        ],
        "authors": [{"id": r.id, "name": r.name, "count": r.count} for r in authors],
        "languages": [{"value": r.language, "count": r.count} for r in languages],
        "published_at": {
            "interval": interval,
            "buckets": [{"start": _as_instant(r.bucket), "count": r.count} for r in buckets],
        },
    }
