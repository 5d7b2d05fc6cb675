"""/api/v1/sources"""

from typing import Annotated, Any

from fastapi import APIRouter, Path

from app.api.deps import SessionDep
from app.api.params import MAX_ID
from app.errors import Problem, not_found
from app.queries.sources import get_source, list_sources
from app.schemas import SourceList, SourceStats

router = APIRouter(prefix="/sources", tags=["sources"])


@router.get("", response_model=SourceList, summary="Every source, most articles first")
def list_sources_route(session: SessionDep) -> dict[str, Any]:
    items = list_sources(session)
    return {"items": items, "total": len(items)}


@router.get(
    "/{source_id}",
    response_model=SourceStats,
    summary="One source with its article count and date span",
    responses={404: {"model": Problem, "description": "No source with this id."}},
)
def get_source_route(
    session: SessionDep,
    source_id: Annotated[int, Path(ge=1, le=MAX_ID, description="Source id.", examples=[1])],
) -> dict[str, Any]:
    source = get_source(session, source_id)
    if source is None:
        raise not_found("source", source_id)
    return source
