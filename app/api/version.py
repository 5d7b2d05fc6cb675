"""The archive's data version (models.ArchiveState), read on the event loop.

The cached fast path (app.api.cache.CachedResponses) needs the current version before it
may answer from the cache. Reading it through the sessionmaker would cost a threadpool
hop, which is most of what a cache hit costs, so each backend gets its own light reader:
SQLite a plain sqlite3 connection (a one-row read in WAL mode never waits on a writer),
PostgreSQL one psycopg async connection. A reader that cannot answer returns None, and the
request then takes the ordinary path, which reports a database fault as a 503 problem.
"""

import asyncio
import sqlite3
import time
from typing import Protocol

import psycopg
from sqlalchemy import URL

QUERY = "SELECT version FROM archive_state WHERE id = 1"
RETRY_AFTER_SECONDS = 1.0  # after a failed connect, requests skip the reader this long


class VersionReader(Protocol):
    async def read(self) -> int | None: ...

    async def close(self) -> None: ...


class NoVersion:
    """For databases the fast path cannot reach (SQLite in memory): always the slow path."""

    async def read(self) -> int | None:
        return None

    async def close(self) -> None:
        return None


class SqliteVersion:
    def __init__(self, path: str) -> None:
        self._path = path
        self._connection: sqlite3.Connection | None = None

    async def read(self) -> int | None:
        try:
            if self._connection is None:
                # timeout=0: never block the event loop on a lock; fall back instead.
                self._connection = sqlite3.connect(
                    self._path, timeout=0, isolation_level=None, check_same_thread=False
                )
            row = self._connection.execute(QUERY).fetchone()
        except sqlite3.Error:
            await self.close()
            return None
        return int(row[0]) if row else None

    async def close(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None


class PostgresVersion:
    def __init__(self, conninfo: str) -> None:
        self._conninfo = conninfo
        self._connection: psycopg.AsyncConnection[tuple[int]] | None = None
        self._lock = asyncio.Lock()  # one connection: one query at a time
        self._down_until = 0.0

    async def read(self) -> int | None:
        if time.monotonic() < self._down_until:
            return None
        async with self._lock:
            try:
                if self._connection is None or self._connection.closed:
                    self._connection = await psycopg.AsyncConnection.connect(
                        self._conninfo, autocommit=True, connect_timeout=2
                    )
                cursor = await self._connection.execute(QUERY)
                row = await cursor.fetchone()
            except psycopg.Error:
                self._down_until = time.monotonic() + RETRY_AFTER_SECONDS
                await self._discard()
                return None
        return int(row[0]) if row else None

    async def _discard(self) -> None:
        if self._connection is not None:
            await self._connection.close()
            self._connection = None

    async def close(self) -> None:
        async with self._lock:
            await self._discard()


def version_reader(url: URL) -> VersionReader:
    if url.get_backend_name() == "postgresql":
        plain = url.set(drivername="postgresql")
        return PostgresVersion(plain.render_as_string(hide_password=False))
    if url.database and url.database != ":memory:" and not url.database.startswith("file:"):
        return SqliteVersion(url.database)
    return NoVersion()
