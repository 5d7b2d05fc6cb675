"""What browsers and HTTP clients rely on: CORS, gzip, request ids and the request log."""

import json
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from app.config import Settings
from app.main import create_app
from tests.factories import write_article


@pytest.fixture
def archive(client: TestClient, corpus: Path, ingest) -> TestClient:  # type: ignore[no-untyped-def]
    for i in range(30):
        write_article(corpus, f"{i}.txt", title=f"Новость {i}", url=f"https://a.ru/{i}")
    ingest(corpus)
    return client


def test_any_origin_may_read_and_sees_the_paging_headers(archive: TestClient) -> None:
    response = archive.get("/api/v1/articles?limit=2", headers={"Origin": "https://app.example"})
    assert response.headers["access-control-allow-origin"] == "*"
    exposed = {
        h.strip().lower() for h in response.headers["access-control-expose-headers"].split(",")
    }
    assert {"link", "etag", "x-request-id"} <= exposed


def test_preflight_allows_conditional_gets(archive: TestClient) -> None:
    response = archive.options(
        "/api/v1/articles",
        headers={
            "Origin": "https://app.example",
            "Access-Control-Request-Method": "GET",
            "Access-Control-Request-Headers": "If-None-Match",
        },
    )
    assert response.status_code == 200
    assert "GET" in response.headers["access-control-allow-methods"]
    assert "if-none-match" in response.headers["access-control-allow-headers"].lower()


@pytest.mark.parametrize(
    ("asked", "refused"),
    [
        ({"Access-Control-Request-Method": "POST"}, "method"),
        (
            {"Access-Control-Request-Method": "GET", "Access-Control-Request-Headers": "X-No"},
            "headers",
        ),
    ],
)
def test_a_refused_preflight_is_a_problem(
    archive: TestClient, asked: dict[str, str], refused: str
) -> None:
    # Starlette answers it in plain text; every error of the API is a problem.
    response = archive.options("/api/v1/articles", headers={"Origin": "https://a.example", **asked})
    assert response.status_code == 400
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert problem["type"] == "/problems/cors-refused"
    assert f"refused: {refused}" in problem["detail"]
    assert "GET" in response.headers["access-control-allow-methods"]


def test_origins_are_a_setting(database_url: str, archive: TestClient) -> None:
    settings = Settings(database_url=database_url, cors_origins=["https://good.example"])
    with TestClient(create_app(settings)) as client:
        good = client.get("/api/v1/sources", headers={"Origin": "https://good.example"})
        assert good.headers["access-control-allow-origin"] == "https://good.example"
        bad = client.get("/api/v1/sources", headers={"Origin": "https://evil.example"})
        assert "access-control-allow-origin" not in bad.headers


def test_big_responses_are_gzipped_when_asked(archive: TestClient) -> None:
    big = archive.get("/api/v1/articles?limit=30", headers={"Accept-Encoding": "gzip"})
    assert big.headers["content-encoding"] == "gzip"
    assert len(big.json()["items"]) == 30  # decoded transparently by the client
    plain = archive.get("/api/v1/articles?limit=30", headers={"Accept-Encoding": "identity"})
    assert "content-encoding" not in plain.headers
    assert plain.json() == big.json()
    small = archive.get("/api/v1/health", headers={"Accept-Encoding": "gzip"})
    assert "content-encoding" not in small.headers


def test_every_answer_has_a_request_id_and_a_sane_one_is_kept(archive: TestClient) -> None:
    ids = {archive.get("/api/v1/sources").headers["x-request-id"] for _ in range(3)}
    assert len(ids) == 3
    assert archive.get("/api/v1/articles/999999").headers["x-request-id"]  # errors too
    mine = archive.get("/api/v1/sources", headers={"X-Request-ID": "front-42.a"})
    assert mine.headers["x-request-id"] == "front-42.a"
    hostile = archive.get("/api/v1/sources", headers={"X-Request-ID": "a b\tc" + "x" * 300})
    assert hostile.headers["x-request-id"] != "a b\tc" + "x" * 300


def test_each_request_is_logged_with_its_id(
    archive: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="app.access"):
        response = archive.get("/api/v1/articles?limit=1", headers={"X-Request-ID": "r-1"})
        archive.get("/api/v1/articles?limit=0")
    records = [r for r in caplog.records if r.name == "app.access"]
    first, second = records[-2], records[-1]
    assert response.status_code == 200
    assert (first.method, first.path, first.status, first.request_id) == (  # type: ignore[attr-defined]
        "GET",
        "/api/v1/articles?limit=1",
        200,
        "r-1",
    )
    assert second.status == 400  # type: ignore[attr-defined]
    assert first.duration_ms >= 0  # type: ignore[attr-defined]


@pytest.fixture
def json_log(database_url: str, archive: TestClient) -> Iterator[TestClient]:
    settings = Settings(database_url=database_url, log_format="json")
    with TestClient(create_app(settings)) as client:
        yield client
    # Later apps in this process log as text again.
    create_app(Settings(database_url=database_url))


def test_the_log_can_be_json_lines(json_log: TestClient, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="app.access"):
        json_log.get("/api/v1/sources", headers={"X-Request-ID": "json-1"})
    record = next(r for r in caplog.records if getattr(r, "request_id", None) == "json-1")
    (handler,) = logging.getLogger("app").handlers  # what writes the app's lines to stderr
    entry = json.loads(handler.format(record))
    assert entry["request_id"] == "json-1"
    assert entry["status"] == 200
    assert entry["path"] == "/api/v1/sources"
    assert entry["levelname"] == "INFO"
    assert "time" in entry


def test_head_answers_like_get_without_a_body(archive: TestClient) -> None:
    article = archive.get("/api/v1/articles?limit=1").json()["items"][0]
    get = archive.get(f"/api/v1/articles/{article['id']}")
    head = archive.head(f"/api/v1/articles/{article['id']}")
    assert head.status_code == 200
    assert head.content == b""
    for name in ("etag", "last-modified", "content-type", "content-length"):
        assert head.headers[name] == get.headers[name]
    missing = archive.head("/api/v1/articles/999999")
    assert missing.status_code == 404
    assert missing.content == b""
    assert archive.head("/api/v1/articles?limit=0").status_code == 400
