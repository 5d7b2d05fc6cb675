"""Facet counts over the filtered (and searched) articles, for sidebars and timelines."""

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, aliased

from app.databases import database_for
from app.models import Article, ArticleAuthor, Author, Source
from app.queries.listing import ArticleFilters, plan_listing
from app.schemas import (
    AuthorCount,
    Bucket,
    CategoryCount,
    Facets,
    Histogram,
    Interval,
    LanguageCount,
    SourceCount,
)


def _as_instant(value: Any) -> datetime:
    if isinstance(value, datetime):
        return value.replace(tzinfo=UTC)
    return datetime.fromisoformat(str(value)).replace(tzinfo=UTC)


def facets(
    session: Session, filters: ArticleFilters, *, facet_limit: int, interval: Interval
) -> Facets:
    empty = Facets(0, [], [], [], [], Histogram(interval, []))
    listing = plan_listing(session, filters)
    if listing is None:
        return empty

    def counted(*columns: Any) -> Any:
        return listing.apply(select(*columns, func.count().label("n")).select_from(Article))

    params = listing.params
    total = session.scalar(counted(), params) or 0
    if total == 0:
        return empty
    count = func.count()
    sources = session.execute(
        counted(Source.id, Source.name, Source.domain)
        .join(Source, Source.id == Article.source_id)
        .group_by(Source.id, Source.name, Source.domain)
        .order_by(count.desc(), Source.name, Source.id)
        .limit(facet_limit),
        params,
    ).all()
    byline = aliased(ArticleAuthor)
    authors = session.execute(
        counted(Author.id, Author.name)
        .join(byline, byline.article_id == Article.id)
        .join(Author, Author.id == byline.author_id)
        .group_by(Author.id, Author.name)
        .order_by(count.desc(), Author.name, Author.id)
        .limit(facet_limit),
        params,
    ).all()
    languages = session.execute(
        counted(Article.language)
        .group_by(Article.language)
        .order_by(count.desc(), Article.language),
        params,
    ).all()
    categories = session.execute(
        counted(Article.category)
        .group_by(Article.category)
        .order_by(count.desc(), Article.category),
        params,
    ).all()
    # The start of the UTC day/week (Monday)/month/year holding published_at.
    bucket = database_for(session).date_bucket(Article.published_at, interval).label("bucket")
    buckets = session.execute(counted(bucket).group_by(bucket).order_by(bucket), params).all()
    return Facets(
        total=total,
        sources=[SourceCount(r.id, r.name, r.domain, r.n) for r in sources],
        authors=[AuthorCount(r.id, r.name, r.n) for r in authors],
        languages=[LanguageCount(r.language, r.n) for r in languages],
        categories=[CategoryCount(r.category, r.n) for r in categories],
        published_at=Histogram(interval, [Bucket(_as_instant(r.bucket), r.n) for r in buckets]),
    )
