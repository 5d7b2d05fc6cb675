"""/api/v1/authors"""

from typing import Annotated

from fastapi import APIRouter, Path, Query, Request, Response
from sqlalchemy.orm import Session

from app.api.deps import ReplyDep, SettingsDep
from app.api.params import MAX_ID, MAX_REPEAT, AuthorSort, Cursor, Limit, NameValue, Page
from app.cache.responses import Answer
from app.errors import invalid_params, not_found, problem_responses
from app.pagination import next_page, read_pager, sort_order
from app.queries.authors import get_author, list_authors
from app.schemas import AuthorPage, AuthorStats

router = APIRouter(prefix="/authors", tags=["authors"])


@router.get(
    "",
    response_model=AuthorPage,
    summary="Authors by name, with article counts",
    responses=problem_responses(400, 503, 504),
)
def list_authors_route(
    request: Request,
    reply: ReplyDep,
    settings: SettingsDep,
    q: Annotated[
        str | None,
        Query(
            max_length=200,
            description="Case-insensitive prefix of the name or of any word in it.",
            examples=["ека"],
        ),
    ] = None,
    source: Annotated[
        list[NameValue],
        Query(
            description="Only authors who wrote for this source (name or domain); may repeat.",
            examples=["fedpress.ru"],
        ),
    ] = [],  # noqa: B006
    sort: AuthorSort = "name",
    limit: Limit = 20,
    page: Page = None,
    cursor: Cursor = None,
) -> Response:
    if len(source) > MAX_REPEAT:
        raise invalid_params(("source", f"may repeat at most {MAX_REPEAT} times"))
    pager = read_pager(settings.cursor_secret, sort_order("authors", sort), limit, page, cursor)

    def build(session: Session) -> Answer:
        found = list_authors(session, pager, q=q, sources=source, totals=reply.totals)
        following = next_page(settings.cursor_secret, pager, found.next_key, request.url)
        body = AuthorPage(found.items, found.total or 0, limit, following.cursor)
        return Answer(body, following.headers)

    return reply(build)


@router.get(
    "/{author_id:int}",
    response_model=AuthorStats,
    summary="One author with their article count",
    responses=problem_responses(400, 404, 503, 504, s404="No author with this id."),
)
def get_author_route(
    reply: ReplyDep,
    author_id: Annotated[int, Path(ge=1, le=MAX_ID, description="Author id.", examples=[1])],
) -> Response:
    def build(session: Session) -> Answer:
        author = get_author(session, author_id)
        if author is None:
            raise not_found("author", author_id)
        return Answer(author)

    return reply(build)
