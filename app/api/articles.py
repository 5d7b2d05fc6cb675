"""/api/v1/articles"""

from datetime import UTC, datetime
from email.utils import format_datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Path, Query, Request, Response
from sqlalchemy.orm import Session

from app.api.cache import Built, ResponsesDep
from app.api.deps import SessionsDep, SettingsDep
from app.api.params import MAX_ID, Cursor, Limit, Page, article_filters, next_page, resolve_position
from app.errors import invalid_params, not_found, problem_responses
from app.queries.articles import ArticleFilters, get_article, list_articles
from app.queries.facets import Interval, facets
from app.schemas import Article, ArticlePage, Facets

router = APIRouter(prefix="/articles", tags=["articles"])

Sort = Annotated[
    Literal["relevance", "-published_at", "published_at"] | None,
    Query(
        description="`relevance` (best match first; the default when `q` is given, and only "
        "with `q`), `-published_at` (newest first; the default otherwise) or `published_at`. "
        "Ties are broken by id, so the order is total.",
    ),
]

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
) -> Response:
    if sort is None:
        sort = "relevance" if filters.search else "-published_at"
    elif sort == "relevance" and filters.search is None:
        raise invalid_params(("sort", "relevance needs a search: give q"))
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
) -> Response:

    def build(session: Session) -> Built:
        article = get_article(session, article_id)
        if article is None:
            raise not_found("article", article_id)
        modified = format_datetime(article["updated_at"].astimezone(UTC), usegmt=True)
        return Article.model_validate(article), {"Last-Modified": modified}

    with sessions() as session:
        return responses.respond(request, session, lambda: build(session))
