"""/api/v1/articles"""

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Query, Request, Response

from app.api.deps import SessionDep, SettingsDep
from app.api.params import MAX_ID, Cursor, Limit, Page, article_filters, next_page, resolve_position
from app.errors import Problem, not_found
from app.queries.articles import ArticleFilters, get_article, list_articles
from app.schemas import Article, ArticlePage

router = APIRouter(prefix="/articles", tags=["articles"])

PROBLEMS: dict[int | str, dict[str, Any]] = {
    400: {"model": Problem, "description": "Invalid parameters (each named in `errors`)."},
}


@router.get(
    "",
    response_model=ArticlePage,
    summary="List articles, newest first, with filters",
    responses=PROBLEMS,
)
def list_articles_route(
    request: Request,
    response: Response,
    session: SessionDep,
    settings: SettingsDep,
    filters: Annotated[ArticleFilters, Depends(article_filters)],
    sort: Annotated[
        Literal["-published_at", "published_at"],
        Query(description="`-published_at` (newest first) or `published_at`; ties by id."),
    ] = "-published_at",
    limit: Limit = 20,
    page: Page = None,
    cursor: Cursor = None,
) -> dict[str, Any]:
    after, offset = resolve_position(settings, sort, limit, page, cursor, (datetime, int))
    result = list_articles(session, filters, sort=sort, limit=limit, after=after, offset=offset)
    return {
        "items": result.items,
        "total": result.total,
        "limit": limit,
        "next_cursor": next_page(request, response, settings, sort, result.next_key, page, limit),
    }


@router.get(
    "/{article_id}",
    response_model=Article,
    summary="One article with its full body",
    responses={404: {"model": Problem, "description": "No article with this id."}},
)
def get_article_route(
    session: SessionDep,
    article_id: Annotated[int, Path(description="Article id.", ge=1, le=MAX_ID, examples=[1])],
) -> dict[str, Any]:
    article = get_article(session, article_id)
    if article is None:
        raise not_found("article", article_id)
    return article
