"""Responses of the read endpoints, cached under the archive's data version.

The version (models.ArchiveState) moves with every change to articles or bylines, in
the same transaction, so a response cached for (version, URL) is exactly what the
endpoint would compute again: never stale, only dropped when the version moves or the
cache is full. The same pair makes the ETag, so clients revalidate with If-None-Match
and get 304 without a body. A request reads the version in its own snapshot and, on a
miss, computes the response from that same snapshot.
"""

import hashlib
from collections import OrderedDict
from collections.abc import Callable, Mapping
from threading import Lock
from typing import Annotated

from fastapi import Depends, Request, Response
from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.models import ArchiveState

MAX_BODY_BYTES = 512 * 1024  # bigger bodies are rare; caching them would crowd the rest

Built = tuple[BaseModel, Mapping[str, str]]


class ResponseCache:
    def __init__(self, entries: int) -> None:
        self.entries = entries
        self._items: OrderedDict[tuple[int, str], tuple[bytes, dict[str, str]]] = OrderedDict()
        self._lock = Lock()

    def respond(self, request: Request, session: Session, build: Callable[[], Built]) -> Response:
        version = session.connection().scalar(select(ArchiveState.version))
        url = str(request.url.path) + "?" + str(request.url.query)
        if version is None or self.entries == 0:
            model, headers = build()
            return _json(model.model_dump_json().encode(), dict(headers))
        etag = f'"{version}-{hashlib.blake2b(url.encode(), digest_size=8).hexdigest()}"'
        if etag in request.headers.get("if-none-match", ""):
            return Response(status_code=304, headers={"ETag": etag, **CACHE_CONTROL})
        key = (version, url)
        with self._lock:
            cached = self._items.get(key)
            if cached is not None:
                self._items.move_to_end(key)
        if cached is None:
            model, built_headers = build()
            cached = model.model_dump_json().encode(), {**built_headers, "ETag": etag}
            if len(cached[0]) <= MAX_BODY_BYTES:
                with self._lock:
                    self._items[key] = cached
                    if len(self._items) > self.entries:
                        self._items.popitem(last=False)
        body, headers = cached
        return _json(body, headers)


CACHE_CONTROL = {"Cache-Control": "no-cache"}  # clients may keep it, but revalidate (ETag)


def _json(body: bytes, headers: dict[str, str]) -> Response:
    return Response(body, media_type="application/json", headers={**headers, **CACHE_CONTROL})


async def get_response_cache(request: Request) -> ResponseCache:
    cache: ResponseCache = request.app.state.responses
    return cache


ResponsesDep = Annotated[ResponseCache, Depends(get_response_cache)]
