"""The ASGI app: `uvicorn app.main:app` serves whatever DATABASE_URL names."""

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from anyio import to_thread
from fastapi import APIRouter, Depends, FastAPI
from fastapi.middleware.gzip import GZipMiddleware
from fastapi.openapi.utils import get_openapi
from fastapi.routing import APIRoute
from fastapi_offline import FastAPIOffline
from sqlalchemy.exc import OperationalError

from app.access.middleware import Access, AccessControl
from app.api import articles, authors, changes, export, feeds, health, sources, stories
from app.api.params import reject_nul
from app.cache.counts import CountCache
from app.cache.responses import GZIP_LEVEL, CachedResponses, ResponseCache
from app.config import Settings, get_settings
from app.errors import ProblemCORSMiddleware, id_paths, install_error_handlers
from app.head import HeadAsGet
from app.limits import RequestSizeLimit
from app.logs import REQUEST_ID, RequestLog, configure_logging
from app.migrate import SchemaBehindError, check_schema_current
from app.queries.changes import archive_id
from app.reader import add_pages
from app.replicas import open_reads
from app.search import analyzer

log = logging.getLogger("app")

DESCRIPTION = """
An archive of news articles, mostly Russian, served as JSON.

* Filter `/api/v1/articles` by date (`from`, `to`), `author`, `source`, `language` and
  `category`; `/api/v1/stories` groups the articles of every source about one event.
* Page with `cursor` (keyset: any depth costs the same) or `page` (up to 10,000 items deep).
* Every error is `application/problem+json` (RFC 9457) naming each bad parameter.
"""


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    configure_logging(settings.log_level, json_lines=settings.log_format == "json")

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # Sync routes run in this threadpool. Its default 40 threads only fight over the
        # GIL: each database call releases it and may wait a whole switch interval to get
        # it back, which at 16 concurrent requests cost more than the queries themselves.
        to_thread.current_default_thread_limiter().total_tokens = settings.threads
        reads = open_reads(settings)
        engine = reads.primary.engine
        try:
            check_schema_current(engine)
            with engine.connect() as connection:
                app.state.access.name_after(archive_id(connection))
        except SchemaBehindError as exc:
            log.error("%s", exc)
            await reads.close()
            raise
        except OperationalError as exc:
            # Serve anyway: requests answer 503 until the database is back.
            log.warning("database unreachable at start-up: %s", exc.orig)
        app.state.engine = engine  # the primary's
        app.state.sessionmaker = reads.primary.sessions
        app.state.reads = reads  # where each read goes (app.replicas)
        await reads.start()
        yield
        await app.state.access.close()
        await reads.close()

    app = FastAPIOffline(
        generate_unique_id_function=operation_id,
        title="News archive API",
        version="1.0.0",
        description=DESCRIPTION,
        lifespan=lifespan,
        # FastAPI's native OpenTelemetry looks up the global providers on every request
        # (a fifth of a cache hit's cost) to find that none is configured; this app has none.
        telemetry={"tracing": False, "metrics": False, "logs": False},
    )
    app.state.settings = settings
    app.state.responses = ResponseCache(
        settings.response_cache_bytes, settings.cache_max_age, settings.gzip_min_bytes
    )
    app.state.totals = CountCache(settings.count_cache_bytes)
    analyzer.set_cache_bytes(settings.word_cache_bytes)
    app.state.access = Access.from_settings(settings)
    install_error_handlers(app)
    # Each add_middleware wraps the ones before it: the request log sees everything,
    # CORS applies to every answer, limits come before the cache and routing, and
    # keys and rate limits before the cache's fast path, so that hits count too. The
    # response cache gzips what it keeps itself, once (app.cache.responses), so its hits
    # skip GZipMiddleware (which scans every answer's headers: ~40% of a hit's cost);
    # the middleware, at the same level, encodes every answer routing makes.
    app.add_middleware(
        GZipMiddleware, minimum_size=settings.gzip_min_bytes, compresslevel=GZIP_LEVEL
    )
    app.add_middleware(CachedResponses)
    app.add_middleware(AccessControl)
    app.add_middleware(RequestSizeLimit)
    app.add_middleware(HeadAsGet)
    app.add_middleware(
        ProblemCORSMiddleware,
        allow_origins=settings.cors_origins,
        allow_methods=["GET", "HEAD", "OPTIONS"],
        allow_headers=["If-None-Match", "Authorization", "X-API-Key", REQUEST_ID],
        expose_headers=[
            "Link",
            "ETag",
            "Last-Modified",
            "Content-Disposition",
            "RateLimit",
            "RateLimit-Policy",
            "Retry-After",
            REQUEST_ID,
        ],
        max_age=600,
    )
    app.add_middleware(RequestLog, enabled=settings.access_log)

    api = APIRouter(prefix="/api/v1", dependencies=[Depends(reject_nul)])
    routers = [
        m.router for m in (articles, export, feeds, stories, sources, authors, changes, health)
    ]
    for router in routers:
        api.include_router(router)
    app.include_router(api)
    app.state.id_paths = id_paths(api.prefix, routers)
    add_pages(app)  # the reader at /, its files at /static; /redoc kept offline
    app.openapi = lambda: _openapi(app)  # type: ignore[method-assign]
    return app


def operation_id(route: APIRoute) -> str:
    """A stable operationId, from the route function's name: get_article_route is
    getArticle (FastAPI's default also spells out the path and method, and changes with
    them)."""
    first, *rest = route.name.removesuffix("_route").split("_")
    return first + "".join(word.capitalize() for word in rest)


NOT_MODIFIED = {
    "description": "Not modified: `If-None-Match` named this URL's current `ETag` (answers "
    "with an ETag keep it until the archive changes). No body."
}


def _openapi(app: FastAPI) -> dict[str, Any]:
    """The schema, minus FastAPI's default 422 (invalid input answers 400 problem+json),
    plus the 304 that the response cache may answer on any API GET (app.api.cache)."""
    if app.openapi_schema:
        return app.openapi_schema
    schema = get_openapi(
        title=app.title, version=app.version, description=app.description, routes=app.routes
    )
    for url, path in schema["paths"].items():
        for operation in path.values():
            operation.get("responses", {}).pop("422", None)
            if url.startswith("/api/"):
                operation["responses"].setdefault("304", NOT_MODIFIED)
            for response in operation.get("responses", {}).values():
                content = response.get("content", {})
                if "application/json" in content and "Problem" in str(content):
                    content["application/problem+json"] = content.pop("application/json")
    for name in ("HTTPValidationError", "ValidationError"):
        schema.get("components", {}).get("schemas", {}).pop(name, None)
    app.openapi_schema = schema
    return schema


app = create_app()
