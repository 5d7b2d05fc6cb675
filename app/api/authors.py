"""/api/v1/authors"""

from typing import Annotated

from fastapi import APIRouter, Path, Query, Request, Response
from sqlalchemy.orm import Session

from app.api.cache import Built, ResponsesDep
from app.api.deps import SessionsDep, SettingsDep
from app.api.params import (
    MAX_ID,
    MAX_REPEAT,
    Cursor,
    Limit,
    NameValue,
    Page,
    next_page,
    resolve_position,
)
from app.errors import invalid_params, not_found, problem_responses
from app.queries.authors import get_author, list_authors
from app.schemas import AuthorPage, AuthorStats

router = APIRouter(prefix="/authors", tags=["authors"])

SORT = "name"


@router.get(
    "",
    response_model=AuthorPage,
    summary="Authors by name, with article counts",
    responses=problem_responses(400, 503, 504),
)
def list_authors_route(
    request: Request,
    sessions: SessionsDep,
    responses: ResponsesDep,
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
        Query(description="Only authors who wrote for this source (name or domain); may repeat."),
    ] = [],  # noqa: B006
    limit: Limit = 20,
    page: Page = None,
    cursor: Cursor = None,
) -> Response:
    if len(source) > MAX_REPEAT:
        raise invalid_params(("source", f"may repeat at most {MAX_REPEAT} times"))
    after, offset = resolve_position(settings, SORT, limit, page, cursor, (str, int))

    def build(session: Session) -> Built:
        items, total, next_key = list_authors(
            session, q=q, sources=source, limit=limit, after=after, offset=offset
        )
        headers: dict[str, str] = {}
        next_cursor = next_page(request, headers, settings, SORT, next_key, page, limit)
        body = AuthorPage.model_validate(
            {"items": items, "total": total, "limit": limit, "next_cursor": next_cursor}
        )
        return body, headers

    with sessions() as session:
        return responses.respond(request, session, lambda: build(session))


@router.get(
    "/{author_id}",
    response_model=AuthorStats,
    summary="One author with their article count",
    responses=problem_responses(400, 404, 503, 504, s404="No author with this id."),
)
def get_author_route(
    request: Request,
    sessions: SessionsDep,
    responses: ResponsesDep,
    author_id: Annotated[int, Path(ge=1, le=MAX_ID, description="Author id.", examples=[1])],
) -> Response:

    def build(session: Session) -> Built:
        author = get_author(session, author_id)
        if author is None:
            raise not_found("author", author_id)
        return AuthorStats.model_validate(author), {}

    with sessions() as session:
        return responses.respond(request, session, lambda: build(session))
