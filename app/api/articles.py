"""/api/v1/articles"""

from datetime import UTC, datetime
from email.utils import format_datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request, Response
from sqlalchemy.orm import Session

from app.api import export, feeds
from app.api.cache import Built, ResponsesDep
from app.api.deps import SessionsDep, SettingsDep
from app.api.fields import DETAIL_FIELDS, LIST_FIELDS, DetailFields, ListFields, parse_fields, trim
from app.api.params import (
    MAX_ID,
    Cursor,
    Limit,
    Page,
    Sort,
    article_filters,
    next_page,
    resolve_position,
    resolve_sort,
)
from app.errors import not_found, problem_responses
from app.queries.articles import ArticleFilters, get_article, list_articles
from app.queries.facets import Interval, facets
from app.schemas import Article, ArticlePage, Facets

router = APIRouter(prefix="/articles", tags=["articles"])
# Before /articles/{article_id}, which would otherwise take /articles/export and the feeds.
router.include_router(export.router)
router.include_router(feeds.router)

PROBLEMS = problem_responses(400, 503, 504)


@router.get(
    "",
    response_model=ArticlePage,
    summary="List and search articles, with filters",
    responses=PROBLEMS,
)
def list_articles_route(
    request: Request,
    sessions: SessionsDep,
    responses: ResponsesDep,
    settings: SettingsDep,
    filters: Annotated[ArticleFilters, Depends(article_filters)],
    sort: Sort = None,
    limit: Limit = 20,
    page: Page = None,
    cursor: Cursor = None,
    fields: ListFields = None,
) -> Response:
    sort = resolve_sort(sort, filters)
    wanted = parse_fields(fields, LIST_FIELDS, search=filters.search is not None)
    key_types = (float, int) if sort == "relevance" else (datetime, int)
    after, offset = resolve_position(settings, sort, limit, page, cursor, key_types)

    def build(session: Session) -> Built:
        result = list_articles(session, filters, sort=sort, limit=limit, after=after, offset=offset)
        headers: dict[str, str] = {}
        next_cursor = next_page(request, headers, settings, sort, result.next_key, page, limit)
        body = ArticlePage.model_validate(
            {
                "items": result.items,
                "total": result.total,
                "limit": limit,
                "next_cursor": next_cursor,
            }
        )
        if wanted is not None:
            keep = {"items": {"__all__": wanted}, "total": True, "limit": True, "next_cursor": True}
            return trim(body, keep), headers
        return body, headers

    with sessions() as session:
        return responses.respond(request, session, lambda: build(session))


@router.get(
    "/facets",
    response_model=Facets,
    summary="Counts by source, author, language and date over the filtered articles",
    responses=PROBLEMS,
)
def facets_route(
    request: Request,
    sessions: SessionsDep,
    responses: ResponsesDep,
    filters: Annotated[ArticleFilters, Depends(article_filters)],
    facet_limit: Annotated[
        int, Query(ge=1, le=100, description="How many top sources and authors.", examples=[10])
    ] = 10,
    interval: Annotated[
        Interval, Query(description="Histogram bucket size (UTC).", examples=["month"])
    ] = "month",
) -> Response:
    with sessions() as session:
        return responses.respond(
            request,
            session,
            lambda: (
                Facets.model_validate(
                    facets(session, filters, facet_limit=facet_limit, interval=interval)
                ),
                {},
            ),
        )


@router.get(
    "/{article_id}",
    response_model=Article,
    summary="One article with its full body",
    responses=problem_responses(400, 404, 503, 504, s404="No article with this id."),
)
def get_article_route(
    request: Request,
    sessions: SessionsDep,
    responses: ResponsesDep,
    article_id: Annotated[int, Path(description="Article id.", ge=1, le=MAX_ID, examples=[1])],
    fields: DetailFields = None,
) -> Response:
    wanted = parse_fields(fields, DETAIL_FIELDS)

    def build(session: Session) -> Built:
        article = get_article(session, article_id)
        if article is None:
            raise not_found("article", article_id)
        body = Article.model_validate(article)
        modified = format_datetime(article["updated_at"].astimezone(UTC), usegmt=True)
        return (body if wanted is None else trim(body, wanted)), {"Last-Modified": modified}

    with sessions() as session:
        return responses.respond(request, session, lambda: build(session))
