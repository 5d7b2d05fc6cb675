"""The archive's data version: the key every cache entry and ETag is made under.

`archive_state.version` (app.models.ArchiveState) is moved by SQL triggers on every table
the API reads, in the same transaction as the change, whoever makes it (the ingest, an
operator's UPDATE, a migration). A request reads it once, in its own snapshot, and
computes anything it does not find in a cache from that same snapshot, so what it caches
under the version is exactly what that version holds.

Cache hits are answered before routing on the event loop, where a session would cost a
threadpool hop: each database module gives a light reader for that (app.databases).
"""

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.models import ArchiveState

_VERSION = "data_version"


def data_version(session: Session) -> int | None:
    """The data version as this session's snapshot sees it, read once per session (every
    cache a request consults keys on it). None if the state row is missing."""
    if _VERSION not in session.info:
        session.info[_VERSION] = session.connection().scalar(select(ArchiveState.version))
    version: int | None = session.info[_VERSION]
    return version
