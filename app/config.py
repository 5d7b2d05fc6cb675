"""The one settings object, read once from the environment and an optional .env file."""

import json
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from app.access.buckets import parse_rate

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DATABASE_URL = f"sqlite:///{ROOT / 'data' / 'archive.db'}"


def normalize_database_url(url: str) -> str:
    """Accept the URL spellings people paste and pick our drivers.

    ``postgresql://`` and ``postgres://`` would make SQLAlchemy look for psycopg2;
    we ship psycopg 3, so both become ``postgresql+psycopg://``.
    """
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    database_url: str = Field(
        default=DEFAULT_DATABASE_URL,
        description="sqlite:///path, postgresql://… or postgresql+psycopg://…",
    )
    database_read_urls: Annotated[list[str], NoDecode] = Field(
        default=[],
        description="PostgreSQL read replicas the API reads from, spread across them "
        "(comma-separated, or a JSON list); empty: read from DATABASE_URL. The ingest and "
        "the migrations only ever write DATABASE_URL.",
    )
    max_replica_lag_s: float = Field(
        default=5.0,
        gt=0,
        description="A replica further behind the primary than this (or down) leaves the "
        "rotation until it catches up; reads go to the others, else to the primary.",
    )
    cursor_secret: str = Field(
        default="change-me-in-production",
        description="Key that signs pagination cursors; set it to a random string in production.",
    )
    db_pool_size: int = Field(default=5, ge=1, description="Connections kept per worker.")
    threads: int = Field(
        default=4, ge=1, le=200, description="Threads per worker that run requests' queries."
    )
    response_cache_bytes: int = Field(
        default=50_000_000,
        ge=0,
        description="Bytes of responses kept per worker under the data version, counted "
        "as the body kept (only its gzip copy, once a client that takes gzip has asked for a "
        "body of GZIP_MIN_BYTES or more), URL and headers (0: no cache). A response over "
        "5% of it is served but not kept.",
    )
    sqlite_cache_bytes: int = Field(
        default=2_000_000,
        ge=0,
        description="Bytes of SQLite database pages kept per worker, shared out over the "
        "connections it uses at once (THREADS + 1: its threads' and the event loop's; "
        "400 KB each by default). 0: SQLite's own 2 MB per connection. PostgreSQL caches "
        "pages in its server, not here.",
    )
    count_cache_bytes: int = Field(
        default=2_000_000,
        ge=0,
        description="Bytes of listing totals kept per worker under the data version "
        "(about 600 bytes a total; 0: count every time).",
    )
    word_cache_bytes: int = Field(
        default=16_000_000,
        ge=0,
        description="Bytes of word → search term pairs kept per worker, for queries and "
        "highlights (about 250 bytes a word form; 0: lemmatise every time). The ingest "
        "keeps its own, larger.",
    )
    cache_max_age: int = Field(
        default=0,
        ge=0,
        description="Seconds clients and proxies may reuse a response without asking "
        "(Cache-Control: public, max-age=N); 0 sends no-cache: reuse only after an "
        "If-None-Match revalidation.",
    )
    statement_timeout_ms: int = Field(
        default=5000,
        ge=0,
        description="Longest a single API query may run before it is cancelled and the "
        "request answers 504 (0: no limit). The ingest is not limited.",
    )
    search_rank_window: int = Field(
        default=1000,
        ge=20,
        le=100_000,
        description="Relevance order ranks a search's matches this many at a time, newest "
        "first: a search with at most this many matches is ranked as a whole; one with more "
        "ranks its newest this many, then the next, and so on.",
    )
    log_level: str = Field(default="INFO", description="Python logging level of the app.")
    log_format: Literal["text", "json"] = Field(
        default="text", description="text lines, or one JSON object a line (for collectors)."
    )
    access_log: bool = Field(
        default=True, description="Log one line per request (method, path, status, time, id)."
    )
    cors_origins: list[str] = Field(
        default=["*"],
        description='Origins whose pages may call the API (JSON list; ["*"]: any origin).',
    )
    gzip_min_bytes: int = Field(
        default=1024, ge=0, description="Responses at least this big are gzipped if asked."
    )
    api_keys: Literal["off", "optional", "required"] = Field(
        default="off",
        description="off: keys are not looked at; optional: a key sent must be valid and "
        "gets its own rate; required: no answer without a valid key (scripts/keys.py).",
    )
    rate_limit: str = Field(
        default="",
        description="Requests each API key may make, as N/second|minute|hour|day "
        "(600/minute); empty: no limit.",
    )
    rate_limit_anonymous: str = Field(
        default="",
        description="Requests each client address without a key may make; empty: RATE_LIMIT.",
    )
    redis_url: str = Field(
        default="",
        description="Redis that holds the rate limits' buckets for every worker and "
        "replica (redis://127.0.0.1:6379/0); empty: each worker counts on its own.",
    )
    api_key_refresh_seconds: float = Field(
        default=10,
        ge=0,
        description="How often each worker reads the API keys again: a revoked key works "
        "at most this long.",
    )

    @field_validator("rate_limit", "rate_limit_anonymous")
    @classmethod
    def _check_rate(cls, value: str) -> str:
        parse_rate(value)  # raises ValueError, which pydantic reports with the setting's name
        return value

    @field_validator("database_url")
    @classmethod
    def _normalize_url(cls, value: str) -> str:
        return normalize_database_url(value)

    @field_validator("database_read_urls", mode="before")
    @classmethod
    def _split_urls(cls, value: object) -> object:
        """A JSON list, or URLs separated by commas (and spaces), as people write them."""
        if isinstance(value, str):
            text = value.strip()
            value = json.loads(text) if text.startswith("[") else text.replace(",", " ").split()
        if isinstance(value, list):
            return [normalize_database_url(str(url)) for url in value]
        return value


@lru_cache
def get_settings() -> Settings:
    return Settings()
