"""Engine, session and the declarative base shared by the models and the migrations."""

import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import DateTime, Dialect, Engine, MetaData, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.types import TypeDecorator

# Stable constraint names: Alembic batch mode on SQLite and later migrations refer to them.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class UTCDateTime(TypeDecorator[datetime]):
    """An instant, stored in UTC on every backend.

    PostgreSQL keeps it as ``timestamptz``. SQLite has no such type, so the value is
    stored as naive UTC text in one fixed format: text comparison then orders instants
    correctly, and ``+03:00`` input can never be compared as a string against ``+00:00``.
    Values read back are always aware (UTC).
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("UTCDateTime needs an aware datetime")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


SQLITE_POOL_SIZE = 40  # anyio's default threadpool size: FastAPI runs sync routes there


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    # WAL lets the API read while an ingest writes.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


# SQLite calls the progress handler every this many virtual machine steps (~1 ms of work):
# often enough to stop within milliseconds of the deadline, rarely enough to cost nothing.
PROGRESS_STEPS = 10_000


def _sqlite_statement_timeout(engine: Engine, timeout_ms: int) -> None:
    """Interrupt any statement that runs past timeout_ms, as PostgreSQL's statement_timeout.

    SQLite has no such setting; its progress handler, called as a statement runs (rows
    fetched later included), aborts it with "interrupted" once it returns non-zero. The
    deadline lives in the pooled connection's info and is re-armed before each statement.
    """
    seconds = timeout_ms / 1000

    @event.listens_for(engine, "connect")
    def _install(dbapi_connection: Any, record: Any) -> None:
        state: dict[str, Any] = record.info
        state["deadline"] = float("inf")

        def past_deadline() -> int:
            return 1 if time.monotonic() > state["deadline"] else 0

        dbapi_connection.set_progress_handler(past_deadline, PROGRESS_STEPS)

    @event.listens_for(engine, "before_cursor_execute")
    def _arm(conn: Any, cursor: Any, statement: Any, params: Any, context: Any, many: Any) -> None:
        conn.info["deadline"] = time.monotonic() + seconds


def make_engine(url: str, pool_size: int = 5, statement_timeout_ms: int = 0) -> Engine:
    """An engine for a SQLite or PostgreSQL URL, with each backend's settings.

    statement_timeout_ms > 0 cancels any statement that runs longer (the API sets it; the
    ingest's long batches and ANALYZE must not be cut short).
    """
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        # No pre-ping: a SQLite file does not go away between requests like a server can.
        # The pool holds a connection for every thread that may serve a request at once:
        # beyond pool_size each request would open (and set up) a connection of its own.
        engine = create_engine(
            url,
            connect_args={"check_same_thread": False, "timeout": 30},
            pool_size=SQLITE_POOL_SIZE,
            max_overflow=SQLITE_POOL_SIZE,
        )
        event.listen(engine, "connect", _sqlite_pragmas)
        if statement_timeout_ms:
            _sqlite_statement_timeout(engine, statement_timeout_ms)
        return engine
    connect_args: dict[str, Any] = {}
    if statement_timeout_ms:
        connect_args["options"] = f"-c statement_timeout={statement_timeout_ms}"
    # Pre-ping: a connection the server (or the network) dropped is replaced before use,
    # so the API recovers on its own once the database is back.
    return create_engine(
        url,
        pool_size=pool_size,
        max_overflow=pool_size,
        pool_pre_ping=True,
        connect_args=connect_args,
    )


def make_sessionmaker(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(bind=engine, expire_on_commit=False)
