"""/api/v1/health"""

from fastapi import APIRouter, Response
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from app.api.deps import SessionsDep, json_response
from app.errors import database_unavailable, problem_responses
from app.schemas import Health

router = APIRouter(tags=["health"])


@router.get(
    "/health",
    response_model=Health,
    summary="Is the API up and does its database answer?",
    responses=problem_responses(503, s503="The database does not answer."),
)
def health(sessions: SessionsDep) -> Response:
    try:
        with sessions() as session:
            session.execute(text("SELECT 1"))
    except SQLAlchemyError:
        raise database_unavailable() from None
    return json_response(Health())
