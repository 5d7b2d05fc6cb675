"""The declarative base shared by the models and the migrations (with its constraint
naming convention), the UTC timestamp type, and the engine and sessionmaker for a URL.
What each database does differently lives in app.databases."""

from datetime import UTC, datetime

from sqlalchemy import DateTime, Dialect, Engine, MetaData
from sqlalchemy.engine import make_url
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.types import TypeDecorator

from app.databases import database_for

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
    correctly, and ``+03:00`` input can never be compared as a string against ``+00:00``
    (Database.stored_instant). Values read back are always aware (UTC).
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("UTCDateTime needs an aware datetime")
        return database_for(dialect).stored_instant(value.astimezone(UTC))

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def make_engine(
    url: str,
    pool_size: int = 5,
    statement_timeout_ms: int = 0,
    *,
    read_only: bool = False,
    cache_bytes: int = 0,
) -> Engine:
    """An engine for a SQLite or PostgreSQL URL, with its database's settings
    (app.databases).

    statement_timeout_ms > 0 cancels any statement that runs longer (the API sets it; the
    ingest's long batches and ANALYZE must not be cut short). read_only: the API's engines,
    whose every transaction is one read-only snapshot. cache_bytes > 0: each connection's
    page cache in this process (SQLite's; the API's, from SQLITE_CACHE_BYTES).
    """
    parsed = make_url(url)
    return database_for(parsed).make_engine(
        parsed,
        pool_size=pool_size,
        statement_timeout_ms=statement_timeout_ms,
        read_only=read_only,
        cache_bytes=cache_bytes,
    )


def make_sessionmaker(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(bind=engine, expire_on_commit=False)
