"""API keys and rate limits, applied to every /api/ request before the response cache's
fast path, so that a cache hit is counted like any other answer.

Settings (app.config): API_KEYS is `off` (keys are not looked at), `optional` (a key, if
sent, must be valid and gets its own bucket; requests without one share their address's)
or `required` (401 without a valid key). RATE_LIMIT is each key's rate (`600/minute`;
empty: none), RATE_LIMIT_ANONYMOUS the rate of a client address without a key (empty:
RATE_LIMIT); a key may have its own rate (scripts/keys.py create --rate-limit).

Every limited answer carries the IETF RateLimit-Policy and RateLimit header fields
(draft-ietf-httpapi-ratelimit-headers: quota `q` per window `w` seconds; `r` left,
`t` seconds until the bucket is full again); a request past its rate is answered 429
problem+json with Retry-After. /api/v1/health, the documentation, the reader page and
CORS preflights are neither checked nor counted.
"""

from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from typing import Literal

from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.access.buckets import Buckets, Decision, MemoryBuckets, Rate, RedisBuckets, parse_rate
from app.access.keyring import KeyRing, KeysUnavailableError
from app.config import Settings
from app.errors import ApiError, database_unavailable, problem_response

KeyMode = Literal["off", "optional", "required"]
FREE_PATHS = frozenset({"/api/v1/health"})
REALM = 'Bearer realm="news-archive"'


@dataclass
class Access:
    """The app's key and limit settings, its keyring and its buckets (app.state.access)."""

    mode: KeyMode
    rate: Rate | None
    anonymous_rate: Rate | None
    keyring: KeyRing
    buckets: Buckets

    @classmethod
    def from_settings(cls, settings: Settings) -> "Access":
        rate = parse_rate(settings.rate_limit)
        anonymous = parse_rate(settings.rate_limit_anonymous) or rate
        buckets = RedisBuckets(settings.redis_url) if settings.redis_url else MemoryBuckets()
        keyring = KeyRing(settings.api_key_refresh_seconds)
        return cls(settings.api_keys, rate, anonymous, keyring, buckets)

    @property
    def idle(self) -> bool:
        """Nothing to check: keys off and no limits (the default)."""
        return self.mode == "off" and self.rate is None and self.anonymous_rate is None

    def name_after(self, archive_id: str) -> None:
        """Shared buckets carry the archive's name (RedisBuckets)."""
        if isinstance(self.buckets, RedisBuckets):
            self.buckets.name_after(archive_id)

    async def close(self) -> None:
        await self.buckets.close()


@lru_cache(maxsize=256)
def _key_rate(text: str) -> Rate | None:
    return parse_rate(text)


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope["headers"]:
        if key == name:
            text: str = value.decode("latin-1")
            return text
    return None


def api_key(scope: Scope) -> str | None:
    """The key sent as `Authorization: Bearer <key>` or `X-API-Key: <key>`."""
    authorization = _header(scope, b"authorization")
    if authorization:
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() == "bearer" and token.strip():
            return token.strip()
    key = _header(scope, b"x-api-key")
    return key.strip() if key and key.strip() else None


def rate_headers(policy: str, rate: Rate, decision: Decision) -> list[tuple[bytes, bytes]]:
    headers = [
        (b"ratelimit-policy", f'"{policy}";q={rate.quota};w={rate.window}'.encode()),
        (b"ratelimit", f'"{policy}";r={decision.remaining};t={decision.reset}'.encode()),
    ]
    if not decision.allowed:
        headers.append((b"retry-after", str(decision.retry_after).encode()))
    return headers


def unauthorized(detail: str, challenge: str) -> ApiError:
    return ApiError(
        401, "unauthorized", "Unauthorized", detail, headers={"WWW-Authenticate": challenge}
    )


class AccessControl:
    def __init__(self, app: ASGIApp, prefix: str = "/api/") -> None:
        self.app = app
        self.prefix = prefix

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        access: Access | None = (
            getattr(scope["app"].state, "access", None) if (scope["type"] == "http") else None
        )
        if (
            access is None
            or access.idle
            or scope["method"] == "OPTIONS"
            or not scope["path"].startswith(self.prefix)
            or scope["path"] in FREE_PATHS
        ):
            await self.app(scope, receive, send)
            return
        try:
            policy, bucket, rate = await self._identify(scope, access)
        except ApiError as refused:
            await problem_response(Request(scope), refused)(scope, receive, send)
            return
        decision = await access.buckets.take(bucket, rate) if rate else None
        if rate is None or decision is None:
            await self.app(scope, receive, send)
            return
        headers = rate_headers(policy, rate, decision)
        if not decision.allowed:
            who = "key" if policy == "key" else "client address"
            limited = ApiError(
                429,
                "too-many-requests",
                "Too many requests",
                f"This {who} may make {rate} requests; retry after {decision.retry_after} s.",
                headers={k.decode(): v.decode() for k, v in headers},
            )
            await problem_response(Request(scope), limited)(scope, receive, send)
            return
        await self.app(scope, receive, _with_headers(send, headers))

    async def _identify(self, scope: Scope, access: Access) -> tuple[str, str, Rate | None]:
        """(policy name, bucket, rate) of the request; ApiError when it may not go on."""
        key = api_key(scope) if access.mode != "off" else None
        if key is not None:
            try:
                found = await access.keyring.find(scope["app"].state.sessionmaker, key)
            except KeysUnavailableError:
                raise database_unavailable() from None
            if found is None:
                raise unauthorized(
                    "This API key is unknown or revoked.", f'{REALM}, error="invalid_token"'
                )
            rate = _key_rate(found.rate_limit) if found.rate_limit else access.rate
            return "key", f"key:{found.id}", rate
        if access.mode == "required":
            raise unauthorized(
                "This API needs a key: send it as `Authorization: Bearer <key>` or "
                "`X-API-Key: <key>`.",
                REALM,
            )
        client = scope.get("client")
        address = client[0] if client else "unknown"
        return "anonymous", f"ip:{address}", access.anonymous_rate


def _with_headers(send: Send, headers: Iterable[tuple[bytes, bytes]]) -> Send:
    extra = list(headers)

    async def sending(message: Message) -> None:
        if message["type"] == "http.response.start":
            message = {**message, "headers": [*message.get("headers", []), *extra]}
        await send(message)

    return sending
