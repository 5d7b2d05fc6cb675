"""/api/v1/health"""

from fastapi import APIRouter, Response
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from app.api.deps import ReadsDep, json_response
from app.errors import database_unavailable, problem_responses
from app.schemas import DatabaseHealth, Health

router = APIRouter(tags=["health"])


def _select_one(session: Session) -> None:
    session.execute(text("SELECT 1"))


@router.get(
    "/health",
    response_model=Health,
    summary="Is the API up, does the database it reads from answer, how is each database?",
    responses=problem_responses(503, s503="No database the API reads from answers."),
)
def health(reads: ReadsDep) -> Response:
    # Live through the read path (replicas, else the primary); each database's own state
    # is the last background check's (app.replicas), or this query's without replicas.
    try:
        reads.run(_select_one)
    except SQLAlchemyError:
        raise database_unavailable() from None
    primary_reads = not any(member.in_rotation for member in reads.replicas)
    databases = [
        DatabaseHealth(
            member.name,
            member.role,
            member.status if reads.replicas else "ok",
            member.in_rotation or (member is reads.primary and primary_reads),
            None if member.role == "primary" else member.lag_s,
        )
        for member in reads.members
    ]
    return json_response(Health(databases=databases))
