"""/api/v1/authors"""

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request, Response

from app.api.deps import SessionDep, SettingsDep
from app.api.params import MAX_ID, MAX_REPEAT, Cursor, Limit, Page, next_page, resolve_position
from app.errors import Problem, invalid_params, not_found
from app.queries.authors import get_author, list_authors
from app.schemas import AuthorPage, AuthorStats

router = APIRouter(prefix="/authors", tags=["authors"])

SORT = "name"


@router.get(
    "",
    response_model=AuthorPage,
    summary="Authors by name, with article counts",
    responses={400: {"model": Problem, "description": "Invalid parameters."}},
)
def list_authors_route(
    request: Request,
    response: Response,
    session: SessionDep,
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
        list[str],
        Query(description="Only authors who wrote for this source (name or domain); may repeat."),
    ] = [],  # noqa: B006
    limit: Limit = 20,
    page: Page = None,
    cursor: Cursor = None,
) -> dict[str, Any]:
    if len(source) > MAX_REPEAT:
        raise invalid_params(("source", f"may repeat at most {MAX_REPEAT} times"))
    after, offset = resolve_position(settings, SORT, limit, page, cursor, (str, int))
    items, total, next_key = list_authors(
        session, q=q, sources=source, limit=limit, after=after, offset=offset
    )
    return {
        "items": items,
        "total": total,
        "limit": limit,
        "next_cursor": next_page(request, response, settings, SORT, next_key, page, limit),
    }


@router.get(
    "/{author_id}",
    response_model=AuthorStats,
    summary="One author with their article count",
    responses={404: {"model": Problem, "description": "No author with this id."}},
)
def get_author_route(
    session: SessionDep,
    author_id: Annotated[int, Path(ge=1, le=MAX_ID, description="Author id.", examples=[1])],
) -> dict[str, Any]:
    author = get_author(session, author_id)
    if author is None:
        raise not_found("author", author_id)
    return author
