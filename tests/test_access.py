"""API keys and rate limits: off by default; keys optional or required; a token bucket per
key or client address, in this process or shared through Redis; the IETF RateLimit
headers on every limited answer, cache hits included; 429 problem+json with Retry-After.

Redis is found at TEST_REDIS_URL (default redis://127.0.0.1:6379/0). Where it does not
answer its tests skip, saying so, except under CI=true, where they fail.
"""

import os
import re
from pathlib import Path

import httpx
import pytest
import redis
from fastapi.testclient import TestClient
from pydantic import ValidationError
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from app.access.buckets import Rate, decide, parse_rate
from app.config import Settings
from app.main import create_app
from app.queries.changes import archive_id
from app.queries.keys import create_key, revoke_key
from tests.factories import write_article
from tests.servers import uvicorn_server

REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
ARTICLES = "/api/v1/articles"
RATELIMIT = re.compile(r'"(\w+)";r=(\d+);t=(\d+)')


def _redis_unreachable() -> str | None:
    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2).ping()
    except redis.RedisError as exc:
        return f"Redis unreachable at {REDIS_URL}: {exc}"
    return None


@pytest.fixture(params=["memory", "redis"])
def store(request: pytest.FixtureRequest, engine: Engine) -> str:
    """Where the buckets live: "" (this process) or a Redis URL, emptied of this
    archive's buckets."""
    if request.param == "memory":
        return ""
    reason = _redis_unreachable()
    if reason:
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail(f"{reason} (CI=true: Redis tests must run, not skip)")
        pytest.skip(reason)
    with engine.connect() as connection:
        name = archive_id(connection)
    client = redis.Redis.from_url(REDIS_URL)
    for key in client.scan_iter(f"news-archive:{name}:*"):
        client.delete(key)
    client.close()
    return REDIS_URL


@pytest.fixture
def loaded(corpus: Path, ingest) -> None:  # type: ignore[no-untyped-def]
    write_article(corpus, "1.txt", url="https://a.example/1")
    ingest(corpus)


def make_client(database_url: str, **settings: object) -> TestClient:
    app = create_app(
        Settings(database_url=database_url, cursor_secret="test-secret", **settings)  # type: ignore[arg-type]
    )
    return TestClient(app, raise_server_exceptions=False)


def issue(engine: Engine, name: str = "Тест", rate: str | None = None) -> tuple[str, int]:
    with Session(engine) as session, session.begin():
        return create_key(session, name, rate)


def remaining(response: httpx.Response) -> tuple[str, int, int]:
    match = RATELIMIT.fullmatch(response.headers["ratelimit"])
    assert match, response.headers["ratelimit"]
    return match[1], int(match[2]), int(match[3])


def assert_problem(response: httpx.Response, status: int, slug: str) -> dict[str, object]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body: dict[str, object] = response.json()
    assert body["type"] == f"/problems/{slug}" and body["status"] == status
    return body


def test_the_token_bucket() -> None:
    rate = Rate(3, 60)  # a token back every 20 s
    tat = 0.0
    answers = []
    for now in (100.0, 100.0, 100.0, 100.0, 110.0, 120.0, 120.0):
        decision, tat = decide(rate, now, tat)
        answers.append((decision.allowed, decision.remaining, decision.retry_after))
    assert answers == [
        (True, 2, 0),
        (True, 1, 0),
        (True, 0, 0),
        (False, 0, 20),  # spent: the next token is 20 s away
        (False, 0, 10),
        (True, 0, 0),  # one token back after 20 s
        (False, 0, 20),
    ]
    assert decide(rate, 1000.0, tat)[0].remaining == 2  # full again long after
    assert parse_rate("600/minute") == Rate(600, 60) and parse_rate(" 5 / hours ") == Rate(5, 3600)
    assert parse_rate("") is None
    for bad in ("600", "0/minute", "5/week", "-1/second"):
        with pytest.raises(ValueError, match="not a rate"):
            parse_rate(bad)
    with pytest.raises(ValidationError, match="rate_limit"):
        Settings(rate_limit="lots")


def test_off_by_default(database_url: str, loaded: None) -> None:
    with make_client(database_url) as client:
        for _ in range(3):
            answer = client.get(ARTICLES, headers={"Authorization": "Bearer made-up"})
            assert answer.status_code == 200
            assert "ratelimit" not in answer.headers and "ratelimit-policy" not in answer.headers


def test_anonymous_clients_are_limited_by_address_cache_hits_too(
    database_url: str, loaded: None, store: str
) -> None:
    with make_client(database_url, rate_limit="3/minute", redis_url=store) as client:
        first = client.get(ARTICLES)
        assert first.status_code == 200
        assert first.headers["ratelimit-policy"] == '"anonymous";q=3;w=60'
        assert remaining(first) == ("anonymous", 2, 20)
        # A cache hit (answered before routing) and a 304 count like any answer.
        hit = client.get(ARTICLES)
        assert hit.status_code == 200 and hit.content == first.content
        assert remaining(hit)[1] == 1
        unchanged = client.get(ARTICLES, headers={"If-None-Match": first.headers["etag"]})
        assert unchanged.status_code == 304 and remaining(unchanged)[1] == 0
        limited = client.get(ARTICLES)
        body = assert_problem(limited, 429, "too-many-requests")
        assert "3/minute" in str(body["detail"])
        assert 19 <= int(limited.headers["retry-after"]) <= 20
        assert remaining(limited)[1] == 0
        assert client.get("/api/v1/sources").status_code == 429  # one bucket per client
        # Free: health, the documentation, the reader page.
        for free in ("/api/v1/health", "/openapi.json", "/docs", "/"):
            answer = client.get(free)
            assert answer.status_code == 200, free
            assert "ratelimit" not in answer.headers, free
        # Browsers on other origins may read the headers.
        cors = client.get(ARTICLES, headers={"Origin": "https://app.example"})
        exposed = cors.headers["access-control-expose-headers"].lower()
        assert {"ratelimit", "ratelimit-policy", "retry-after"} <= set(exposed.split(", "))


def test_required_keys(database_url: str, engine: Engine, loaded: None, store: str) -> None:
    key, key_id = issue(engine)
    other, _ = issue(engine, "Другой")
    settings = {"api_keys": "required", "rate_limit": "100/minute", "redis_url": store}
    with make_client(database_url, api_key_refresh_seconds=0, **settings) as client:
        missing = client.get(ARTICLES)
        assert_problem(missing, 401, "unauthorized")
        assert missing.headers["www-authenticate"] == 'Bearer realm="news-archive"'
        wrong = client.get(ARTICLES, headers={"Authorization": "Bearer nak_made-up"})
        assert_problem(wrong, 401, "unauthorized")
        assert 'error="invalid_token"' in wrong.headers["www-authenticate"]
        assert client.get("/api/v1/health").status_code == 200  # still free

        by_bearer = client.get(ARTICLES, headers={"Authorization": f"Bearer {key}"})
        assert by_bearer.status_code == 200
        assert by_bearer.headers["ratelimit-policy"] == '"key";q=100;w=60'
        by_header = client.get(ARTICLES, headers={"X-API-Key": key})
        assert remaining(by_header)[:2] == ("key", 98)  # the same key's bucket
        assert remaining(client.get(ARTICLES, headers={"X-API-Key": other}))[1] == 99

        with Session(engine) as session, session.begin():
            assert revoke_key(session, key_id)
        revoked = client.get(ARTICLES, headers={"X-API-Key": key})
        assert_problem(revoked, 401, "unauthorized")
        # A key issued while the server runs works at once.
        fresh, _ = issue(engine, "Новый")
        assert client.get(ARTICLES, headers={"X-API-Key": fresh}).status_code == 200


def test_optional_keys_get_their_own_rate(
    database_url: str, engine: Engine, loaded: None, store: str
) -> None:
    key, _ = issue(engine)
    generous, _ = issue(engine, "Партнёр", rate="5/second")
    settings = {
        "api_keys": "optional",
        "rate_limit": "2/minute",
        "rate_limit_anonymous": "1/hour",
        "redis_url": store,
    }
    with make_client(database_url, **settings) as client:
        first = client.get(ARTICLES)
        assert first.status_code == 200
        assert first.headers["ratelimit-policy"] == '"anonymous";q=1;w=3600'
        assert_problem(client.get(ARTICLES), 429, "too-many-requests")
        assert_problem(
            client.get(ARTICLES, headers={"X-API-Key": "nak_wrong"}), 401, "unauthorized"
        )
        for left in (1, 0):  # the key has its own bucket, at RATE_LIMIT
            answer = client.get(ARTICLES, headers={"X-API-Key": key})
            assert answer.status_code == 200 and remaining(answer)[1] == left
        assert_problem(client.get(ARTICLES, headers={"X-API-Key": key}), 429, "too-many-requests")
        partner = client.get(ARTICLES, headers={"Authorization": f"bearer {generous}"})
        assert partner.headers["ratelimit-policy"] == '"key";q=5;w=1'


def test_buckets_are_shared_by_processes_through_redis(
    database_url: str, loaded: None, store: str
) -> None:
    """Two servers, one Redis: a client's four requests spread over both exhaust its
    bucket of four. Without Redis each server counts on its own."""
    env = {"RATE_LIMIT": "4/minute", "REDIS_URL": store}
    with uvicorn_server(database_url, env=env) as one, uvicorn_server(database_url, env=env) as two:
        statuses = [httpx.get(base + ARTICLES).status_code for base in (one, two) * 3]
    if store:
        assert statuses == [200, 200, 200, 200, 429, 429]
    else:
        assert statuses == [200] * 6


def test_without_redis_the_api_answers_unlimited(database_url: str, loaded: None) -> None:
    """A Redis that does not answer turns limits off rather than the API."""
    with make_client(
        database_url, rate_limit="1/hour", redis_url="redis://127.0.0.1:1/0"
    ) as client:
        for _ in range(3):
            answer = client.get(ARTICLES)
            assert answer.status_code == 200 and "ratelimit" not in answer.headers
