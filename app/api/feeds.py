"""GET /api/v1/articles/feed.atom and feed.rss: the newest matching articles as a feed."""

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response
from sqlalchemy.orm import Session

from app.api.deps import ReplyDep
from app.api.params import article_filters
from app.cache.responses import Answer
from app.errors import problem_responses
from app.formats.feed import MEDIA_TYPES, FeedInfo, FeedKind, render
from app.pagination import Pager, sort_order
from app.queries.articles import article_records
from app.queries.listing import ArticleFilters

router = APIRouter(prefix="/articles", tags=["articles"])

FEED_SIZE = 50


def _responses(kind: FeedKind, name: str) -> dict[int | str, dict[str, Any]]:
    return {
        200: {
            "description": f"The {FEED_SIZE} newest matching articles as {name}.",
            "content": {MEDIA_TYPES[kind]: {"schema": {"type": "string"}}},  # as sent
        },
        **problem_responses(400, 503, 504),
    }


@router.get(
    "/feed.atom",
    summary=f"The {FEED_SIZE} newest matching articles as an Atom feed",
    response_class=Response,
    responses=_responses("atom", "an Atom 1.0 feed (RFC 4287)"),
)
def atom_feed_route(
    request: Request,
    reply: ReplyDep,
    filters: Annotated[ArticleFilters, Depends(article_filters)],
) -> Response:
    return reply(lambda session: _build("atom", request, session, filters))


@router.get(
    "/feed.rss",
    summary=f"The {FEED_SIZE} newest matching articles as an RSS 2.0 feed",
    response_class=Response,
    responses=_responses("rss", "an RSS 2.0 feed"),
)
def rss_feed_route(
    request: Request,
    reply: ReplyDep,
    filters: Annotated[ArticleFilters, Depends(article_filters)],
) -> Response:
    return reply(lambda session: _build("rss", request, session, filters))


def _build(kind: FeedKind, request: Request, session: Session, filters: ArticleFilters) -> Answer:
    """The feed, cached and revalidated (ETag) like every JSON answer."""
    # Newest first even with q: a feed reader wants what is new, not what ranks best.
    newest = Pager(sort_order("articles", "-published_at"), FEED_SIZE)
    chunk = article_records(session, filters, newest)
    query = ", ".join(f"{name}={value}" for name, value in request.query_params.multi_items())
    listing = request.url.path.rsplit("/", 1)[0]
    info = FeedInfo(
        id=str(request.url),
        title="News archive" + (f": {query}" if query else ""),
        description="The newest articles of the archive" + (f" matching {query}" if query else ""),
        self_url=str(request.url),
        alternate_url=str(request.url.replace(path=listing)),
        updated=datetime.now(UTC),
    )
    return Answer(render(kind, info, chunk.items), media_type=MEDIA_TYPES[kind])
