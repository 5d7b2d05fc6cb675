"""Cached responses: answered before routing, exact under the data version, per host."""

from collections.abc import Iterator
from datetime import datetime
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.orm import sessionmaker

from app.config import Settings
from app.db import make_engine
from app.ingest.loader import ingest_paths
from app.main import create_app
from app.migrate import upgrade_to_head
from tests.factories import write_article

# Run through PgBouncer (transaction pooling) too: tests/conftest.py.
THROUGH_PGBOUNCER = True

DEAD_URL = "postgresql+psycopg://postgres@127.0.0.1:1/nothing?connect_timeout=1"


@pytest.fixture
def api(database_url: str, corpus: Path, ingest) -> Iterator[TestClient]:  # type: ignore[no-untyped-def]
    for i in range(3):
        write_article(corpus, f"{i}.txt", title=f"t{i}", url=f"https://a.ru/{i}")
    ingest(corpus)
    app = create_app(Settings(database_url=database_url, cursor_secret="test-secret"))
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client


def break_sessions(client: TestClient) -> None:
    """From now on, whatever reaches a route finds its database unreachable."""
    app: Any = client.app
    for member in app.state.reads.members:
        member.sessions = sessionmaker(make_engine(DEAD_URL))


def test_a_repeated_request_is_answered_without_the_route(api: TestClient) -> None:
    first = api.get("/api/v1/articles?limit=2")
    assert first.status_code == 200
    break_sessions(api)
    again = api.get("/api/v1/articles?limit=2")
    assert again.status_code == 200
    assert again.content == first.content
    for header in ("etag", "link", "cache-control", "content-type"):
        assert again.headers[header] == first.headers[header]
    # Not cached, so it goes to the route and meets the broken database.
    assert api.get("/api/v1/articles?limit=3").status_code == 503


def test_the_cache_answers_if_none_match_with_304(api: TestClient) -> None:
    etag = api.get("/api/v1/sources").headers["etag"]
    break_sessions(api)
    revalidated = api.get("/api/v1/sources", headers={"If-None-Match": etag})
    assert revalidated.status_code == 304
    assert revalidated.headers["etag"] == etag
    assert revalidated.content == b""


def test_a_new_version_is_never_answered_from_the_old_cache(
    api: TestClient, corpus: Path, ingest
) -> None:  # type: ignore[no-untyped-def]
    before = api.get("/api/v1/articles")
    write_article(corpus, "new.txt", title="свежая", url="https://a.ru/new", published="2031-01-01")
    ingest(corpus)
    after = api.get("/api/v1/articles")
    assert after.json()["items"][0]["title"] == "свежая"
    assert after.json()["total"] == before.json()["total"] + 1
    assert after.headers["etag"] != before.headers["etag"]


def test_links_follow_the_host_each_client_used(api: TestClient) -> None:
    one = api.get("/api/v1/articles?limit=1", headers={"Host": "one.example"})
    two = api.get("/api/v1/articles?limit=1", headers={"Host": "two.example"})
    assert "//one.example/" in one.headers["link"]
    assert "//two.example/" in two.headers["link"]
    assert one.json() == two.json()


def test_errors_are_not_cached(api: TestClient) -> None:
    assert api.get("/api/v1/articles?limit=0").status_code == 400
    assert api.get("/api/v1/articles?limit=0").status_code == 400
    assert api.get("/api/v1/articles/999999").status_code == 404
    break_sessions(api)
    assert api.get("/api/v1/articles/999999").status_code == 503


def test_databases_served_by_one_process_keep_their_own_totals(
    backend: str, make_database, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    """Totals are cached under the data version, which each database numbers on its own."""
    urls = {}
    for size in (1, 2):
        url = make_database(backend)
        engine = make_engine(url)
        upgrade_to_head(engine)
        folder = tmp_path / f"db{size}"
        folder.mkdir()
        for i in range(size):
            write_article(folder, f"{i}.txt", title=f"t{i}", url=f"https://a.ru/{size}/{i}")
        ingest_paths(engine, [folder])
        with engine.begin() as connection:  # the same version number in both
            connection.execute(text("UPDATE archive_state SET version = 1000"))
        engine.dispose()
        urls[size] = url
    for size, url in urls.items():
        settings = Settings(database_url=url, cursor_secret="s", response_cache_bytes=0)
        with TestClient(create_app(settings)) as client:
            assert client.get("/api/v1/articles").json()["total"] == size


def test_etags_and_304s_hold_with_the_cache_off(database_url: str, api: TestClient) -> None:
    settings = Settings(database_url=database_url, cursor_secret="s", response_cache_bytes=0)
    with TestClient(create_app(settings)) as client:
        first = client.get("/api/v1/articles/facets")
        assert first.status_code == 200
        etag = first.headers["etag"]
        again = client.get("/api/v1/articles/facets", headers={"If-None-Match": etag})
        assert again.status_code == 304


def test_max_age_is_a_setting(database_url: str, api: TestClient) -> None:
    assert api.get("/api/v1/sources").headers["cache-control"] == "no-cache"
    settings = Settings(database_url=database_url, cursor_secret="s", cache_max_age=300)
    with TestClient(create_app(settings)) as client:
        for _ in range(2):  # computed, then from the cache
            response = client.get("/api/v1/sources")
            assert response.headers["cache-control"] == "public, max-age=300"
        assert (
            client.get(
                "/api/v1/sources", headers={"If-None-Match": response.headers["etag"]}
            ).headers["cache-control"]
            == "public, max-age=300"
        )


def test_an_article_says_when_it_last_changed(api: TestClient) -> None:
    article = api.get("/api/v1/articles?limit=1").json()["items"][0]
    detail = api.get(f"/api/v1/articles/{article['id']}")
    modified = parsedate_to_datetime(detail.headers["last-modified"])
    updated = datetime.fromisoformat(detail.json()["updated_at"])
    assert modified == updated.replace(microsecond=0)
    assert detail.headers["last-modified"].endswith(" GMT")


def test_a_changed_article_gets_a_new_etag_and_its_new_body(
    api: TestClient, corpus: Path, ingest
) -> None:  # type: ignore[no-untyped-def]
    article = api.get("/api/v1/articles?limit=1").json()["items"][0]
    url = f"/api/v1/articles/{article['id']}"
    before = api.get(url)
    assert api.get(url, headers={"If-None-Match": before.headers["etag"]}).status_code == 304

    name = next(p.name for p in corpus.iterdir() if article["url"] in p.read_text())
    write_article(corpus, name, title="Исправленный заголовок", url=article["url"])
    assert ingest(corpus).updated == 1

    after = api.get(url, headers={"If-None-Match": before.headers["etag"]})
    assert after.status_code == 200
    assert after.json()["title"] == "Исправленный заголовок"
    assert after.headers["etag"] != before.headers["etag"]
    assert parsedate_to_datetime(after.headers["last-modified"]) >= parsedate_to_datetime(
        before.headers["last-modified"]
    )
    listing = api.get("/api/v1/articles?limit=1", headers={"If-None-Match": before.headers["etag"]})
    assert listing.json()["items"][0]["title"] == "Исправленный заголовок"
