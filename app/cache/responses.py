"""Responses of the read endpoints, cached under the data version.

A response cached for (data version, URL) is exactly what its endpoint would compute
again: the version moves with every change to any table the API reads, in the same
transaction (app.cache.version), so an entry is never stale, only unused once the
version moves, and evicted by the byte budget. The same pair makes the ETag, so clients
revalidate with If-None-Match and get 304 without a body.

Two ways in: `respond()` on the route's path (a miss computes the response in the same
snapshot its version was read in), and `CachedResponses`, which answers hits before
routing, on the event loop, with no session at all.

gzip, once: a body of at least GZIP_MIN_BYTES is compressed when the first client that
accepts gzip asks for it (its miss, or its hit of an entry kept plain), and from then on
only the compressed copy is kept (and counted against the budget); clients that accept
gzip get it as kept, with Content-Encoding and Vary set here, which GZipMiddleware passes
through untouched; the rare client that does not is sent it decompressed. A kept body of
OWN_PAGES_BYTES or more lives in pages of its own, outside the heap (_keep), so that what
the cache frees goes back to the system and the budget is what it costs. A miss never
compresses for a client that did not ask for gzip (app.main keeps
GZipMiddleware, at the same level and threshold, for everything the cache does not make:
errors, exports, small answers). JSON compresses 5 to 10 times, so the same budget keeps
5 to 10 times more answers, and decompressing costs a fraction of compressing: see
docs/benchmarks.md "Memory".
"""

import mmap
import zlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from fastapi import Request, Response
from sqlalchemy.orm import Session
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Receive, Scope, Send

from app.cache.conditional import etag_matches, make_etag, newest_version
from app.cache.lru import LRU
from app.cache.version import data_version
from app.schemas import to_json

if TYPE_CHECKING:
    from app.replicas import ReadRouter

JSON = "application/json"
# An entry above this share of the budget is served but not kept: one huge answer must
# not flush hundreds of ordinary ones.
MAX_ENTRY_SHARE = 0.05
ENTRY_OVERHEAD = 650  # bytes of the entry's objects beyond its body, URL and headers (measured)
# The request state's key for the database the fast path read the version from, so that a
# miss is computed there too (app.api.deps.Reply).
READ_FIRST = "read_first"
# The one gzip of whole answers, the cache's and GZipMiddleware's (app.main): level, and
# zlib's gzip framing (header with no name and mtime 0, so the same body always gives the
# same bytes).
GZIP_LEVEL = 6
GZIP_WBITS = 16 + zlib.MAX_WBITS


def gzip_compress(body: bytes) -> bytes:
    compressor = zlib.compressobj(GZIP_LEVEL, zlib.DEFLATED, GZIP_WBITS)
    return compressor.compress(body) + compressor.flush()


def accepts_gzip(headers: Headers) -> bool:
    """Does the request take gzip? GZipMiddleware's own test, so that cached and uncached
    answers are encoded alike."""
    return "gzip" in headers.get("Accept-Encoding", "")


@dataclass(frozen=True)
class Answer:
    """What an endpoint builds: a schema dataclass sent as JSON, or bytes of media_type."""

    body: object
    headers: Mapping[str, str] = field(default_factory=dict)
    media_type: str = JSON
    include: Any = None  # only these fields (pydantic's include form), for `fields=`

    def encode(self) -> bytes:
        if isinstance(self.body, bytes):
            return self.body
        return to_json(self.body, self.include)


# A body kept this big or bigger lives in pages of its own (a private anonymous mapping,
# unmapped when its entry goes), outside the heap: kept bodies in the heap, among the
# larger answers made and freed around them, left holes it never handed back (about 10%
# of the budget over it, docs/benchmarks.md "Memory"). Smaller ones are not worth a
# mapping and its rounding to whole pages.
OWN_PAGES_BYTES = 4 * mmap.PAGESIZE


def _keep(body: bytes, pages: bool) -> bytes | mmap.mmap:
    """body as an entry keeps it: in pages of its own if big enough (see OWN_PAGES_BYTES)
    and if it may be kept at all (pages: else a mapping would be made for nothing)."""
    if not pages or len(body) < OWN_PAGES_BYTES:
        return body
    try:
        mapping = mmap.mmap(-1, _whole_pages(len(body)), flags=mmap.MAP_PRIVATE)
    except (OSError, AttributeError):  # no more mappings (vm.max_map_count), or no mmap flags
        return body
    mapping.write(body)
    return mapping


def _whole_pages(size: int) -> int:
    return -(-size // mmap.PAGESIZE) * mmap.PAGESIZE


@dataclass(frozen=True, slots=True)
class Entry:
    kept: bytes | mmap.mmap  # the body (gzip-compressed when gzipped), as _keep() keeps it
    length: int  # of the body
    headers: dict[str, str]  # Content-Type and ETag among them
    gzipped: bool = False

    @classmethod
    def of(
        cls, body: bytes, headers: dict[str, str], *, gzipped: bool = False, pages: bool = True
    ) -> "Entry":
        return cls(_keep(body, pages), len(body), headers, gzipped)

    @property
    def body(self) -> bytes:
        kept = self.kept
        return kept if isinstance(kept, bytes) else kept[: self.length]

    @property
    def size(self) -> int:
        """What the body holds in memory: its bytes, or its whole pages."""
        return len(self.kept)


def _cost(key: tuple[int, str], entry: Entry) -> int:
    headers = sum(len(k) + len(v) for k, v in entry.headers.items())
    return entry.size + len(key[1]) + headers + ENTRY_OVERHEAD


class ResponseCache:
    def __init__(self, budget_bytes: int, max_age: int = 0, gzip_min_bytes: int = 1024) -> None:
        self._lru: LRU[tuple[int, str], Entry] = LRU(
            budget_bytes, _cost, int(budget_bytes * MAX_ENTRY_SHARE)
        )
        self.gzip_min_bytes = gzip_min_bytes
        # no-cache: clients may keep a response but revalidate it (ETag) before each use.
        self.cache_control = f"public, max-age={max_age}" if max_age > 0 else "no-cache"

    @property
    def budget_bytes(self) -> int:
        return self._lru.budget

    @property
    def max_entry_bytes(self) -> int:
        """The largest entry kept (MAX_ENTRY_SHARE of the budget)."""
        return self._lru.max_entry

    @property
    def used_bytes(self) -> int:
        """What the kept entries cost, as the budget counts them."""
        return self._lru.used

    def __len__(self) -> int:
        return len(self._lru)

    def clear(self) -> None:
        self._lru.clear()

    def get(self, version: int, url: str) -> Entry | None:
        return self._lru.get((version, url))

    def respond(self, request: Request, session: Session, build: Callable[[], Answer]) -> Response:
        """The endpoint's answer, from the cache or from build(), with its ETag; or 304."""
        version = data_version(session)
        if version is None:  # no state row: nothing to name this response by
            answer = build()  # sent as it is: GZipMiddleware encodes it if asked
            return self._send(answer.encode(), _headers(answer))
        url = cache_url(request.scope)
        etag = make_etag(version, url)
        if etag_matches(request.headers.get("if-none-match"), etag):
            return self.not_modified(etag)
        gzip_ok = accepts_gzip(request.headers)
        entry = self.get(version, url)
        if entry is not None:
            return self.response(entry, gzip_ok, (version, url))
        answer = build()
        body, headers = answer.encode(), {**_headers(answer), "ETag": etag}
        gzipped = gzip_ok and len(body) >= self.gzip_min_bytes
        if gzipped:
            body = gzip_compress(body)
        # Kept unless too big for the cache (or it is off): only then worth its pages.
        pages = len(body) <= self.max_entry_bytes
        entry = Entry.of(body, headers, gzipped=gzipped, pages=pages)
        self._lru.put((version, url), entry)
        return self.response(entry, gzip_ok)

    def response(
        self,
        entry: Entry,
        gzip_ok: bool,
        key: tuple[int, str] | None = None,
        *,
        outside_gzip: bool = False,
    ) -> Response:
        """A kept entry as the request takes it: its gzip body as kept, else decompressed.

        An entry is compressed when the first client that takes gzip needs it (on its miss,
        or on its hit of an entry a client without gzip made, which key then replaces), so
        a miss never compresses what its client does not want, and a body is compressed at
        most once while it is kept. outside_gzip: the answer will not pass GZipMiddleware
        (CachedResponses' hits), so this sets the Vary it would have set on a plain body."""
        if not entry.gzipped:
            body = entry.body
            if not (gzip_ok and key is not None and len(body) >= self.gzip_min_bytes):
                return self._send(body, self._plain(entry.headers, body, outside_gzip))
            entry = Entry.of(gzip_compress(body), entry.headers, gzipped=True)
            self._lru.put(key, entry)
        if not gzip_ok:
            body = zlib.decompress(entry.body, GZIP_WBITS)
            return self._send(body, self._plain(entry.headers, body, outside_gzip))
        # Vary as GZipMiddleware sets it on every answer it could encode; it sends an
        # encoded answer through untouched.
        encoded = {**entry.headers, "Content-Encoding": "gzip", "Vary": "Accept-Encoding"}
        return self._send(entry.body, encoded)

    def _plain(self, headers: dict[str, str], body: bytes, outside_gzip: bool) -> dict[str, str]:
        if outside_gzip and len(body) >= self.gzip_min_bytes:
            return {**headers, "Vary": "Accept-Encoding"}
        return headers

    def _send(self, body: bytes, headers: Mapping[str, str]) -> Response:
        return Response(body, headers={**headers, "Cache-Control": self.cache_control})

    def not_modified(self, etag: str) -> Response:
        return Response(
            status_code=304, headers={"ETag": etag, "Cache-Control": self.cache_control}
        )


def _headers(answer: Answer) -> dict[str, str]:
    return {**answer.headers, "Content-Type": answer.media_type}


def cache_url(scope: Scope) -> str:
    """The key of a request's response: its path and query string exactly as sent, and
    the scheme and Host it came by (the Link header is an absolute URL built from them)."""
    host = next((value for name, value in scope["headers"] if name == b"host"), b"")
    query = scope["query_string"]
    return f"{scope['scheme']}://{host.decode('latin-1')}{scope['path']}?{query.decode('latin-1')}"


class CachedResponses:
    """Answer API GETs from the response cache before routing, on the event loop.

    A hit costs a version read (app.databases' reader, on the database app.replicas would
    route the request to) and a dict lookup: no threadpool hop, no parameter parsing, no
    session. Entries only exist for URLs that an endpoint answered 200 under the same data
    version, so what this sends is what the endpoint would send. If-None-Match with the
    current ETag is a 304 here too. Anything else (a miss, a database fault, a client that
    has seen a newer version than this replica has) goes on to the app.
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
    reads: ReadRouter | None = getattr(state, "reads", None)
    if reads is None:
        return None
    member = reads.pick()
    version = await member.versions.read()
    if version is None:
        return None
    scope.setdefault("state", {})[READ_FIRST] = member
    if_none_match = next(
        (value.decode("latin-1") for name, value in scope["headers"] if name == b"if-none-match"),
        None,
    )
    seen = newest_version(if_none_match)
    if seen is not None and seen > version and member is not reads.primary:
        return None  # this replica lags what the client has seen: the route reads elsewhere
    url = cache_url(scope)
    responses: ResponseCache = state.responses
    etag = make_etag(version, url)
    if etag_matches(if_none_match, etag):
        return responses.not_modified(etag)
    entry = responses.get(version, url)
    if entry is None:
        return None
    gzip_ok = accepts_gzip(Headers(scope=scope))
    return responses.response(entry, gzip_ok, (version, url), outside_gzip=True)
