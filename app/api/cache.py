"""Responses of the read endpoints, cached under the archive's data version.

The version (models.ArchiveState) moves with every change to any table an endpoint reads,
in the same transaction, whoever makes it (database triggers bump it, so a change made
with SQL outside the app counts too). A response cached for (version, URL) is therefore
exactly what the endpoint would compute again: never stale, only dropped when the version
moves or the cache is full. The same pair makes the ETag, so clients revalidate with
If-None-Match and get 304 without a body. A request reads the version in its own
snapshot and, on a miss, computes the response from that same snapshot.
"""

import hashlib
from collections import OrderedDict
from collections.abc import Callable, Mapping
from threading import Lock
from typing import Annotated

from fastapi import Depends, Request, Response
from pydantic import BaseModel
from sqlalchemy.orm import Session
from starlette.types import ASGIApp, Receive, Scope, Send

from app.api.version import VersionReader
from app.queries.counts import data_version

MAX_BODY_BYTES = 512 * 1024  # bigger bodies are rare; caching them would crowd the rest

# What an endpoint builds: a response model (sent as JSON), or bytes with a Content-Type
# among the headers.
Built = tuple[BaseModel | bytes, Mapping[str, str]]


class ResponseCache:
    def __init__(self, entries: int, max_age: int = 0) -> None:
        self.entries = entries
        # no-cache: clients may keep a response but revalidate it (ETag) before each use.
        self.cache_control = f"public, max-age={max_age}" if max_age > 0 else "no-cache"
        self._items: OrderedDict[tuple[int, str], tuple[bytes, dict[str, str]]] = OrderedDict()
        self._lock = Lock()

    def get(self, version: int, url: str) -> tuple[bytes, dict[str, str]] | None:
        key = (version, url)
        with self._lock:
            cached = self._items.get(key)
            if cached is not None:
                self._items.move_to_end(key)
        return cached

    def put(self, version: int, url: str, entry: tuple[bytes, dict[str, str]]) -> None:
        if self.entries == 0 or len(entry[0]) > MAX_BODY_BYTES:
            return
        with self._lock:
            self._items[(version, url)] = entry
            if len(self._items) > self.entries:
                self._items.popitem(last=False)

    def respond(self, request: Request, session: Session, build: Callable[[], Built]) -> Response:
        """The endpoint's JSON, from the cache or from build(), with an ETag; or a 304."""
        version = data_version(session)
        if version is None:  # no state row: nothing to name this response by
            body, headers = build()
            return self.json(_encode(body), dict(headers))
        url = cache_url(request.scope)
        etag = make_etag(version, url)
        if etag in request.headers.get("if-none-match", ""):
            return self.not_modified(etag)
        cached = self.get(version, url)
        if cached is None:
            body, built_headers = build()
            cached = _encode(body), {**built_headers, "ETag": etag}
            self.put(version, url, cached)
        return self.json(*cached)

    def json(self, body: bytes, headers: dict[str, str]) -> Response:
        """The response (JSON unless headers name another Content-Type)."""
        media_type = None if "Content-Type" in headers else "application/json"
        headers = {**headers, "Cache-Control": self.cache_control}
        return Response(body, media_type=media_type, headers=headers)

    def not_modified(self, etag: str) -> Response:
        return Response(
            status_code=304, headers={"ETag": etag, "Cache-Control": self.cache_control}
        )


def _encode(body: BaseModel | bytes) -> bytes:
    return body if isinstance(body, bytes) else body.model_dump_json().encode()


def cache_url(scope: Scope) -> str:
    """The key of a request's response: its path and query string exactly as sent, and
    the scheme and Host it came by (the Link header is an absolute URL built from them)."""
    host = next((value for name, value in scope["headers"] if name == b"host"), b"")
    query = scope["query_string"]
    return f"{scope['scheme']}://{host.decode('latin-1')}{scope['path']}?{query.decode('latin-1')}"


def make_etag(version: int, url: str) -> str:
    return f'"{version}-{hashlib.blake2b(url.encode(), digest_size=8).hexdigest()}"'


class CachedResponses:
    """Answer API GETs from the response cache before routing, on the event loop.

    A hit costs a version read (app.api.version) and a dict lookup: no threadpool hop, no
    parameter parsing, no session. Entries only exist for URLs that an endpoint answered
    200 under the same data version, so what this sends is what the endpoint would send.
    If-None-Match with the current ETag is a 304 here too. Anything else (a miss, a
    database fault) goes on to the app.
    """

    def __init__(self, app: ASGIApp, prefix: str = "/api/") -> None:
        self.app = app
        self.prefix = prefix

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] == "http"
            and scope["method"] == "GET"
            and scope["path"].startswith(self.prefix)
            and (response := await _hit(scope))
        ):
            await response(scope, receive, send)
            return
        await self.app(scope, receive, send)


async def _hit(scope: Scope) -> Response | None:
    state = scope["app"].state
    reader: VersionReader | None = getattr(state, "versions", None)
    version = await reader.read() if reader else None
    if version is None:
        return None
    url = cache_url(scope)
    responses: ResponseCache = state.responses
    for name, value in scope["headers"]:
        if name == b"if-none-match":
            etag = make_etag(version, url)
            if etag in value.decode("latin-1"):
                return responses.not_modified(etag)
            break
    cached = responses.get(version, url)
    return responses.json(*cached) if cached else None


async def get_response_cache(request: Request) -> ResponseCache:
    cache: ResponseCache = request.app.state.responses
    return cache


ResponsesDep = Annotated[ResponseCache, Depends(get_response_cache)]
