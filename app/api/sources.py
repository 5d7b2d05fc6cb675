"""/api/v1/sources"""

from typing import Annotated

from fastapi import APIRouter, Path, Response

from app.api.deps import SessionsDep, json_response
from app.api.params import MAX_ID
from app.errors import Problem, not_found
from app.queries.sources import get_source, list_sources
from app.schemas import SourceList, SourceStats

router = APIRouter(prefix="/sources", tags=["sources"])


@router.get("", response_model=SourceList, summary="Every source, most articles first")
def list_sources_route(sessions: SessionsDep) -> Response:
    with sessions() as session:
        items = list_sources(session)
    return json_response(SourceList.model_validate({"items": items, "total": len(items)}))


@router.get(
    "/{source_id}",
    response_model=SourceStats,
    summary="One source with its article count and date span",
    responses={404: {"model": Problem, "description": "No source with this id."}},
)
def get_source_route(
    sessions: SessionsDep,
    source_id: Annotated[int, Path(ge=1, le=MAX_ID, description="Source id.", examples=[1])],
) -> Response:
    with sessions() as session:
        source = get_source(session, source_id)
    if source is None:
        raise not_found("source", source_id)
    return json_response(SourceStats.model_validate(source))
