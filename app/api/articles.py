"""/api/v1/articles: the listing and search, facets, and one article."""

from datetime import UTC
from email.utils import format_datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request, Response
from sqlalchemy.orm import Session

from app.api.deps import ReplyDep, SettingsDep
from app.api.fields import (
    DETAIL_FIELDS,
    LIST_FIELDS,
    SIMILAR_FIELDS,
    DetailFields,
    ListFields,
    SimilarFields,
    parse_fields,
)
from app.api.params import MAX_ID, ArticleSort, Cursor, Limit, Page, article_filters, resolve_sort
from app.cache.responses import Answer
from app.errors import not_found, problem_responses
from app.pagination import next_page, read_pager
from app.queries.articles import get_article, list_articles
from app.queries.facets import facets
from app.queries.listing import ArticleFilters
from app.queries.stories import similar_articles
from app.schemas import Article, ArticlePage, Facets, Interval, SimilarArticles

router = APIRouter(prefix="/articles", tags=["articles"])

PROBLEMS = problem_responses(400, 503, 504)
PAGE_FIELDS = {
    "total": True,
    "total_exact": True,
    "limit": True,
    "next_cursor": True,
}  # kept by `fields=`


@router.get(
    "",
    response_model=ArticlePage,
    summary="List and search articles, with filters",
    responses=PROBLEMS,
)
def list_articles_route(
    request: Request,
    reply: ReplyDep,
    settings: SettingsDep,
    filters: Annotated[ArticleFilters, Depends(article_filters)],
    sort: ArticleSort = None,
    limit: Limit = 20,
    page: Page = None,
    cursor: Cursor = None,
    fields: ListFields = None,
) -> Response:
    order = resolve_sort(sort, filters)
    wanted = parse_fields(fields, LIST_FIELDS, search=filters.search is not None)
    pager = read_pager(settings.cursor_secret, order, limit, page, cursor)

    def build(session: Session) -> Answer:
        found = list_articles(session, filters, pager, reply.totals, settings.search_rank_window)
        following = next_page(settings.cursor_secret, pager, found.next_key, request.url)
        body = ArticlePage(found.items, found.total or 0, found.exact, limit, following.cursor)
        include = None if wanted is None else {"items": {"__all__": wanted}, **PAGE_FIELDS}
        return Answer(body, following.headers, include=include)

    return reply(build)


@router.get(
    "/facets",
    response_model=Facets,
    summary="Counts by source, author, language and date over the filtered articles",
    responses=PROBLEMS,
)
def facets_route(
    reply: ReplyDep,
    filters: Annotated[ArticleFilters, Depends(article_filters)],
    facet_limit: Annotated[
        int, Query(ge=1, le=100, description="How many top sources and authors.", examples=[10])
    ] = 10,
    interval: Annotated[
        Interval, Query(description="Histogram bucket size (UTC).", examples=["month"])
    ] = "month",
) -> Response:
    return reply(
        lambda session: Answer(facets(session, filters, facet_limit=facet_limit, interval=interval))
    )


@router.get(
    "/{article_id:int}",
    response_model=Article,
    summary="One article with its full body",
    responses=problem_responses(400, 404, 503, 504, s404="No article with this id."),
)
def get_article_route(
    reply: ReplyDep,
    article_id: Annotated[int, Path(description="Article id.", ge=1, le=MAX_ID, examples=[1])],
    fields: DetailFields = None,
) -> Response:
    wanted = parse_fields(fields, DETAIL_FIELDS)

    def build(session: Session) -> Answer:
        article = get_article(session, article_id)
        if article is None:
            raise not_found("article", article_id)
        modified = format_datetime(article.updated_at.astimezone(UTC), usegmt=True)
        return Answer(article, {"Last-Modified": modified}, include=wanted)

    return reply(build)


@router.get(
    "/{article_id:int}/similar",
    response_model=SimilarArticles,
    summary="The articles closest in content to one article, its own story's first",
    responses=problem_responses(400, 404, 503, 504, s404="No article with this id."),
)
def similar_articles_route(
    reply: ReplyDep,
    settings: SettingsDep,
    article_id: Annotated[int, Path(description="Article id.", ge=1, le=MAX_ID, examples=[1])],
    limit: Annotated[
        int, Query(ge=1, le=50, description="How many articles, 1–50.", examples=[10])
    ] = 10,
    fields: SimilarFields = None,
) -> Response:
    """The other articles of its story (closest first), then articles that share the
    most distinctive terms of its signature, found through the search index and ranked by
    how close their signatures are (`similarity`)."""
    wanted = parse_fields(fields, SIMILAR_FIELDS)

    def build(session: Session) -> Answer:
        found = similar_articles(session, article_id, limit, settings.search_rank_window)
        if found is None:
            raise not_found("article", article_id)
        include = None if wanted is None else {"items": {"__all__": wanted}}
        return Answer(SimilarArticles(found), include=include)

    return reply(build)
