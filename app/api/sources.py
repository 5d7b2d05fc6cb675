"""/api/v1/sources"""

from typing import Annotated

from fastapi import APIRouter, Path, Response
from sqlalchemy.orm import Session

from app.api.deps import ReplyDep
from app.api.params import MAX_ID
from app.cache.responses import Answer
from app.errors import not_found, problem_responses
from app.queries.sources import get_source, list_sources
from app.schemas import SourceList, SourceStats

router = APIRouter(prefix="/sources", tags=["sources"])


@router.get(
    "",
    response_model=SourceList,
    summary="Every source, most articles first",
    responses=problem_responses(503, 504),
)
def list_sources_route(reply: ReplyDep) -> Response:
    def build(session: Session) -> Answer:
        items = list_sources(session)
        return Answer(SourceList(items, len(items)))

    return reply(build)


@router.get(
    "/{source_id:int}",
    response_model=SourceStats,
    summary="One source with its article count and date span",
    responses=problem_responses(400, 404, 503, 504, s404="No source with this id."),
)
def get_source_route(
    reply: ReplyDep,
    source_id: Annotated[int, Path(ge=1, le=MAX_ID, description="Source id.", examples=[1])],
) -> Response:
    def build(session: Session) -> Answer:
        source = get_source(session, source_id)
        if source is None:
            raise not_found("source", source_id)
        return Answer(source)

    return reply(build)
