"""/api/v1/changes: what changed in the archive since a position, for clients that mirror it."""

from typing import Annotated

from fastapi import APIRouter, Query, Response
from sqlalchemy.orm import Session

from app.api.deps import ReplyDep
from app.cache.responses import Answer
from app.errors import ApiError, invalid_params, problem_responses
from app.queries.changes import changes_after, head, parse_position
from app.schemas import ChangePage

router = APIRouter(tags=["changes"])

MAX_SINCE_CHARS = 64


def position_gone(detail: str) -> ApiError:
    """410: a position this archive cannot continue from; the client starts again."""
    return ApiError(410, "position-gone", "Position gone", detail)


@router.get(
    "/changes",
    response_model=ChangePage,
    summary="Articles inserted, updated or deleted since a position, in commit order",
    description="Each article appears once, at its last change: its current fields, or "
    "a tombstone (`deleted`, with its id and URL) once it is removed. Start with an empty "
    "`since`, apply the items in order, and ask again with `next` (at once while "
    "`has_more`, later to poll): replaying the feed from the start reproduces the "
    "archive exactly. Positions are handed out in commit order, so a change committed "
    "later never appears before one already seen.",
    responses=problem_responses(
        400,
        410,
        503,
        504,
        s410="`since` belongs to another database of this archive (it was rebuilt): "
        "clear your copy and start again with an empty `since`.",
    ),
)
def changes_route(
    reply: ReplyDep,
    since: Annotated[
        str,
        Query(
            max_length=MAX_SINCE_CHARS,
            pattern=r"^([0-9a-f]{1,32}\.[0-9]{1,18})?$",  # app.queries.changes.POSITION
            description="A position: `next` of a previous answer. Empty: from the beginning.",
            examples=["5f0c9e1a2b3d4c6e.1842"],
        ),
    ] = "",
    limit: Annotated[
        int, Query(ge=1, le=1000, description="Changes per answer, 1–1000.", examples=[100])
    ] = 100,
) -> Response:
    position = parse_position(since) if since else None
    if since and position is None:
        raise invalid_params(("since", "not a position: pass `next` of a previous answer"))

    def build(session: Session) -> Answer:
        archive = head(session)
        seq = 0
        if position is not None:
            if position.archive_id != archive.archive_id:
                raise position_gone(
                    "since comes from another database of this archive (rebuilt or "
                    "replaced): clear your copy and start again with an empty since."
                )
            # A position past the last change is one a replica has not caught up with yet:
            # no items until it has.
            seq = position.seq
        found = changes_after(session, archive.archive_id, seq, limit)
        return Answer(ChangePage(found.items, str(found.last), found.has_more))

    return reply(build)
