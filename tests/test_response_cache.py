"""Cached responses: answered before routing, exact under the data version, per host."""

import gzip
import random
import string
from collections.abc import Iterator
from datetime import datetime
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.orm import sessionmaker

from app.cache import responses
from app.cache.responses import ResponseCache
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


def test_an_unchanged_re_ingest_keeps_every_etag(api: TestClient, corpus: Path, ingest) -> None:  # type: ignore[no-untyped-def]
    """Loading the same files again changes nothing, so clients keep their copies (on
    PostgreSQL an INSERT that adds no source or author would still fire its triggers)."""
    urls = ["/api/v1/articles", "/api/v1/sources", "/api/v1/authors", "/api/v1/stories"]
    etags = {url: api.get(url).headers["etag"] for url in urls}
    report = ingest(corpus)
    assert (report.inserted, report.updated) == (0, 0) and report.unchanged > 0
    for url, etag in etags.items():
        assert api.get(url, headers={"If-None-Match": etag}).status_code == 304, url


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


# --- bytes: the budget, the per-entry cap, gzip kept once ---------------------------------


def random_text(rng: random.Random, size: int) -> str:
    """Words of random letters: about size characters that gzip to about 60%."""
    words = ("".join(rng.choices(string.ascii_lowercase, k=rng.randint(3, 9))) for _ in range(size))
    text = ""
    for word in words:
        if len(text) >= size:
            return text
        text += word + " "
    return text


@pytest.fixture
def large(database_url: str, corpus: Path, ingest) -> Path:  # type: ignore[no-untyped-def]
    """24 articles of about 3,000 characters, and one of about 30,000."""
    rng = random.Random(15)
    for i in range(24):
        body = (random_text(rng, 3000),)
        write_article(corpus, f"{i}.txt", title=f"t{i}", url=f"https://a.ru/{i}", paragraphs=body)
    huge = (random_text(rng, 30_000),)
    write_article(corpus, "huge.txt", title="huge", url="https://a.ru/huge", paragraphs=huge)
    ingest(corpus)
    return corpus


def cache_of(client: TestClient) -> ResponseCache:
    app: Any = client.app
    cache: ResponseCache = app.state.responses
    return cache


def article_urls(client: TestClient) -> dict[str, str]:
    """Each article's URL on the API, by title."""
    items = client.get("/api/v1/articles?limit=100").json()["items"]
    return {item["title"]: f"/api/v1/articles/{item['id']}" for item in items}


def raw(client: TestClient, url: str, **headers: str) -> tuple[int, dict[str, str], bytes]:
    """Status, headers (but the request id) and the body as sent, not decoded."""
    with client.stream("GET", url, headers=headers) as response:
        body = b"".join(response.iter_raw())
        sent = {k: v for k, v in response.headers.items() if k != "x-request-id"}
        return response.status_code, sent, body


def vary(headers: dict[str, str]) -> list[str]:
    return [name.strip().lower() for name in headers.get("vary", "").split(",")]


GZIP = {"Accept-Encoding": "gzip"}
IDENTITY = {"Accept-Encoding": "identity"}


def app_with(database_url: str, budget: int) -> TestClient:
    settings = Settings(database_url=database_url, cursor_secret="s", response_cache_bytes=budget)
    return TestClient(create_app(settings), raise_server_exceptions=False)


def test_an_answer_over_the_entry_cap_is_served_and_not_kept(
    database_url: str, large: Path
) -> None:
    with app_with(database_url, 64_000) as client:
        cache = cache_of(client)
        assert cache.max_entry_bytes == 3_200
        urls = article_urls(client)
        cache.clear()
        small = client.get(urls["t0"], headers=GZIP)
        kept = cache.used_bytes
        # The gzip copy is what is kept and counted, once: less than the body it decodes to.
        assert len(cache) == 1
        assert int(small.headers["content-length"]) < kept < len(small.content)

        huge = client.get(urls["huge"], headers=GZIP)
        assert huge.status_code == 200
        assert int(huge.headers["content-length"]) > cache.max_entry_bytes
        assert huge.json()["title"] == "huge"
        assert (len(cache), cache.used_bytes) == (1, kept)  # served, not kept

        break_sessions(client)
        assert client.get(urls["t0"], headers=GZIP).status_code == 200  # a hit
        assert client.get(urls["huge"], headers=GZIP).status_code == 503  # a miss


def test_large_answers_evict_the_oldest_within_the_budget(database_url: str, large: Path) -> None:
    with app_with(database_url, 64_000) as client:
        cache = cache_of(client)
        urls = article_urls(client)
        cache.clear()
        order = [urls[f"t{i}"] for i in range(24)]
        for url in order:
            assert client.get(url, headers=GZIP).status_code == 200
            # The cache's own accounting: never over the budget (an entry is evicted
            # before the one that would overflow it goes in).
            assert cache.used_bytes <= cache.budget_bytes
        assert cache.used_bytes > cache.budget_bytes - cache.max_entry_bytes  # it did fill
        assert len(cache) < len(order)  # so some were evicted
        kept = len(cache)

        break_sessions(client)
        # The newest `kept` are hits, in any order; the one before them was evicted.
        for url in reversed(order[-kept:]):
            assert client.get(url, headers=GZIP).status_code == 200
        assert client.get(order[-kept - 1], headers=GZIP).status_code == 503
        assert client.get(order[0], headers=GZIP).status_code == 503


@pytest.mark.parametrize("first", [GZIP, IDENTITY], ids=["gzip-first", "identity-first"])
def test_hits_and_misses_send_the_same_bytes(
    database_url: str, large: Path, first: dict[str, str]
) -> None:
    url = "/api/v1/articles?limit=20"
    with app_with(database_url, 0) as uncached:
        expected = {"gzip": raw(uncached, url, **GZIP), "identity": raw(uncached, url, **IDENTITY)}
    with app_with(database_url, 1_000_000) as client:
        then = IDENTITY if first is GZIP else GZIP
        sent = [raw(client, url, **first), raw(client, url, **first), raw(client, url, **then)]
        assert len(cache_of(client)) == 1
        for headers, answer in zip((first, first, then), sent, strict=True):
            name = "gzip" if headers is GZIP else "identity"
            # Miss, hit, and the cache off: byte for byte, headers too.
            assert answer == expected[name]
    gzipped, plain = expected["gzip"], expected["identity"]
    assert gzipped[1]["content-encoding"] == "gzip"
    assert "content-encoding" not in plain[1]
    assert gzip.decompress(gzipped[2]) == plain[2]
    for answer in (gzipped, plain):
        assert vary(answer[1]).count("accept-encoding") == 1
        assert answer[1]["content-length"] == str(len(answer[2]))
    assert gzipped[1]["etag"] == plain[1]["etag"]


def test_a_body_is_compressed_once_when_a_gzip_client_first_needs_it(
    database_url: str, large: Path
) -> None:
    """A miss for a client without gzip keeps the body plain (no compression it does not
    want); the first gzip client's hit compresses it and the gzip copy replaces it."""
    url = "/api/v1/articles?limit=20"
    with app_with(database_url, 1_000_000) as client:
        cache = cache_of(client)
        cache.clear()
        plain = raw(client, url, **IDENTITY)
        assert len(cache) == 1 and cache.used_bytes > len(plain[2])  # kept plain
        gzipped = raw(client, url, **GZIP)
        assert gzipped[1]["content-encoding"] == "gzip"
        assert len(cache) == 1 and cache.used_bytes < len(plain[2])  # replaced by the gzip copy
        assert gzip.decompress(gzipped[2]) == plain[2]
        break_sessions(client)  # both from the one kept copy now
        assert raw(client, url, **GZIP) == gzipped
        assert raw(client, url, **IDENTITY) == plain


def test_the_cache_gzips_as_the_middleware_does(
    database_url: str, large: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Answers the cache does not make (with no data version to name them by) go through
    GZipMiddleware: the same bytes as the cache's own gzip."""
    url = "/api/v1/articles?limit=20"
    with app_with(database_url, 1_000_000) as client:
        cached = raw(client, url, **GZIP)
        cache_of(client).clear()
        monkeypatch.setattr(responses, "data_version", lambda _session: None)
        from_middleware = raw(client, url, **GZIP)
    assert "etag" not in from_middleware[1]
    assert from_middleware[2] == cached[2]
    assert from_middleware[1]["content-encoding"] == "gzip"
    assert vary(from_middleware[1]) == vary(cached[1])


def test_etags_and_304s_are_the_same_whatever_the_encoding(database_url: str, large: Path) -> None:
    url = "/api/v1/articles?limit=20"
    with app_with(database_url, 1_000_000) as client:
        etag = client.get(url, headers=GZIP).headers["etag"]
        assert client.get(url, headers=IDENTITY).headers["etag"] == etag
        for headers in (GZIP, IDENTITY):
            status, sent, body = raw(client, url, **headers, **{"If-None-Match": etag})
            assert (status, body, sent["etag"]) == (304, b"", etag)
            assert "content-encoding" not in sent
        break_sessions(client)  # hits and 304s alike come from the cache
        assert client.get(url, headers=IDENTITY).headers["etag"] == etag
        assert client.get(url, headers={"If-None-Match": etag}).status_code == 304


def test_small_answers_are_kept_as_they_are(api: TestClient) -> None:
    cache = cache_of(api)
    cache.clear()
    status, sent, body = raw(api, "/api/v1/sources", **GZIP)
    assert status == 200 and len(body) < 1024
    assert "content-encoding" not in sent and "accept-encoding" not in vary(sent)
    assert cache.used_bytes > len(body)  # kept, as sent
    assert raw(api, "/api/v1/sources", **GZIP) == (status, sent, body)


# --- what else a worker keeps: SQLite's pages, bodies outside the heap ---------------------


@pytest.mark.parametrize("budget", [0, 5 * 1024 * 1024])
def test_sqlite_pages_are_kept_within_their_budget(database_url: str, budget: int) -> None:
    """SQLITE_CACHE_BYTES is shared out over the connections a worker uses at once
    (THREADS + 1); 0 leaves SQLite's own 2 MB a connection. PostgreSQL keeps its pages in
    the server: the setting changes nothing there but must not get in the way."""
    settings = Settings(
        database_url=database_url, cursor_secret="s", sqlite_cache_bytes=budget, threads=4
    )
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        assert client.get("/api/v1/articles?limit=1").status_code == 200
        app: Any = client.app
        engine = app.state.reads.primary.engine
        if engine.dialect.name != "sqlite":
            return
        with engine.connect() as connection:
            pages = connection.exec_driver_sql("PRAGMA cache_size").scalar()
        assert pages == (-2000 if budget == 0 else -1024)  # KiB: 5 MiB over 5 connections


def test_a_big_body_is_kept_in_pages_of_its_own_and_sent_unchanged(
    database_url: str, large: Path
) -> None:
    with app_with(database_url, 0) as uncached:
        url = article_urls(uncached)["huge"]  # about 30 KB of JSON, 18 KB gzipped
        expected = {"gzip": raw(uncached, url, **GZIP), "identity": raw(uncached, url, **IDENTITY)}
    assert len(expected["gzip"][2]) >= responses.OWN_PAGES_BYTES  # both kept copies are big
    with app_with(database_url, 10_000_000) as client:
        cache = cache_of(client)
        # A miss kept plain, its hit, the gzip copy replacing it, its hit, and decompressed.
        for headers, gzipped in (
            (IDENTITY, False),
            (IDENTITY, False),
            (GZIP, True),
            (GZIP, True),
            (IDENTITY, True),
        ):
            name = "gzip" if headers is GZIP else "identity"
            assert raw(client, url, **headers) == expected[name]
            ((entry, cost),) = cache._lru._items.values()
            assert entry.gzipped == gzipped
            assert not isinstance(entry.kept, bytes)  # a mapping, counted in whole pages
            assert entry.size % 4096 == 0
            assert entry.length <= entry.size < entry.length + 4096
            assert cost >= entry.size + len(url)
