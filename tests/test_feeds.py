"""GET /articles/feed.atom and feed.rss: valid feeds of the newest matching articles."""

from pathlib import Path
from typing import Any

import feedparser
import pytest
from fastapi.testclient import TestClient

from app.api.feeds import FEED_SIZE
from tests.factories import write_article

# Run through PgBouncer (transaction pooling) too: tests/conftest.py.
THROUGH_PGBOUNCER = True


@pytest.fixture
def archive(client: TestClient, corpus: Path, ingest) -> TestClient:  # type: ignore[no-untyped-def]
    write_article(
        corpus,
        "forum.txt",
        title="Форум «Россия — Казахстан» & <друзья>",
        authors=["Екатерина Сумина", "Иван Петров"],
        source="ФедералПресс",
        url="https://fedpress.ru/news/1?a=1&b=2",
        published="2019-11-07T02:59:00+03:00",
        paragraphs=["В Омске открылся форум сотрудничества.", "Второй абзац."],
    )
    write_article(
        corpus,
        "nobody.txt",
        title="Без автора",
        authors=[],
        source="Известия",
        url="https://iz.ru/2",
        published="2019-11-08T08:00:00-05:00",
        paragraphs=["Текст\x0bс управляющим символом."],
    )
    for i in range(FEED_SIZE + 5):
        write_article(
            corpus,
            f"{i:02}.txt",
            title=f"Старая новость {i}",
            url=f"https://old.example/{i}",
            published=f"2018-01-{1 + i // 3:02}T12:00:00+00:00",
        )
    ingest(corpus)
    return client


def parse(response: Any) -> Any:
    assert response.status_code == 200, response.text
    # feedparser checks the media type too (a non-XML one makes the feed bozo).
    feed = feedparser.parse(
        response.content, response_headers={"content-type": response.headers["content-type"]}
    )
    assert feed.bozo == 0, feed.get("bozo_exception")
    return feed


def listing(client: TestClient, **params: str) -> list[dict[str, Any]]:
    params = {"sort": "-published_at", "limit": str(FEED_SIZE), **params}
    items: list[dict[str, Any]] = client.get("/api/v1/articles", params=params).json()["items"]
    return items


def test_atom_feed(archive: TestClient) -> None:
    response = archive.get("/api/v1/articles/feed.atom")
    assert response.headers["content-type"] == "application/atom+xml; charset=utf-8"
    feed = parse(response)
    assert feed.version == "atom10"
    items = listing(archive)
    assert len(feed.entries) == FEED_SIZE == len(items)
    assert [entry.id for entry in feed.entries] == [item["url"] for item in items]
    assert [entry.title for entry in feed.entries] == [item["title"] for item in items]
    assert feed.feed.id == "http://testserver/api/v1/articles/feed.atom"
    assert feed.feed.updated == "2019-11-08T08:00:00-05:00"  # the newest entry's
    links = {link.rel: link.href for link in feed.feed.links}
    assert links == {
        "self": "http://testserver/api/v1/articles/feed.atom",
        "alternate": "http://testserver/api/v1/articles",
    }

    nobody, forum = feed.entries[:2]
    assert forum.title == "Форум «Россия — Казахстан» & <друзья>"
    assert forum.link == "https://fedpress.ru/news/1?a=1&b=2"
    assert [author.name for author in forum.authors] == ["Екатерина Сумина", "Иван Петров"]
    assert forum.published == "2019-11-07T02:59:00+03:00"  # the publisher's offset
    assert forum.updated == "2019-11-07T02:59:00+03:00"
    assert forum.summary == items[1]["excerpt"]
    assert forum.source.title == "ФедералПресс"
    assert forum.source.links[0].href == "https://fedpress.ru/"
    assert nobody.published == "2019-11-08T08:00:00-05:00"
    assert nobody.summary == "Текстс управляющим символом."  # no character XML cannot carry
    # Without a byline an entry falls back on the feed's author, as RFC 4287 requires.
    assert feed.feed.author == "News archive"


def test_rss_feed(archive: TestClient) -> None:
    response = archive.get("/api/v1/articles/feed.rss")
    assert response.headers["content-type"] == "application/rss+xml; charset=utf-8"
    feed = parse(response)
    assert feed.version == "rss20"
    items = listing(archive)
    assert [entry.id for entry in feed.entries] == [item["url"] for item in items]
    assert [entry.title for entry in feed.entries] == [item["title"] for item in items]
    assert feed.feed.link == "http://testserver/api/v1/articles"
    forum = feed.entries[1]
    assert forum.link == "https://fedpress.ru/news/1?a=1&b=2"
    assert forum.guidislink is False and forum.id == forum.link
    assert [author.name for author in forum.authors] == ["Екатерина Сумина", "Иван Петров"]
    assert forum.published == "Thu, 07 Nov 2019 02:59:00 +0300"
    assert forum.summary == items[1]["excerpt"]
    assert forum.source.title == "ФедералПресс"


@pytest.mark.parametrize("kind", ["atom", "rss"])
@pytest.mark.parametrize(
    "params",
    [
        {"q": "форум"},
        {"source": "известия"},
        {"author": "Иван Петров"},
        {"from": "2018-01-05", "to": "2018-01-10"},
        {"q": "новость", "source": "old.example"},
        {"author": "Никто"},
    ],
)
def test_filters_and_q(archive: TestClient, kind: str, params: dict[str, str]) -> None:
    feed = parse(archive.get(f"/api/v1/articles/feed.{kind}", params=params))
    # Newest first even with q (a feed shows what is new).
    assert [entry.id for entry in feed.entries] == [
        item["url"] for item in listing(archive, **params)
    ]
    assert "News archive: " in feed.feed.title


@pytest.mark.parametrize("kind", ["atom", "rss"])
def test_bad_parameters_are_problems(archive: TestClient, kind: str) -> None:
    response = archive.get(f"/api/v1/articles/feed.{kind}?from=soon&q=-x")
    assert response.status_code == 400
    assert response.headers["content-type"] == "application/problem+json"
    assert {error["name"] for error in response.json()["errors"]} >= {"from"}


def test_the_schema_documents_the_feeds(archive: TestClient) -> None:
    paths = archive.get("/openapi.json").json()["paths"]
    # The media types exactly as sent, charset and all.
    for kind, media_type in (
        ("atom", "application/atom+xml; charset=utf-8"),
        ("rss", "application/rss+xml; charset=utf-8"),
    ):
        responses = paths[f"/api/v1/articles/feed.{kind}"]["get"]["responses"]
        assert set(responses["200"]["content"]) == {media_type}
        assert responses["400"]["content"]["application/problem+json"]


@pytest.mark.parametrize("kind", ["atom", "rss"])
def test_feeds_revalidate_and_follow_new_articles(
    archive: TestClient, corpus: Path, ingest, kind: str
) -> None:  # type: ignore[no-untyped-def]
    first = archive.get(f"/api/v1/articles/feed.{kind}")
    etag = first.headers["etag"]
    again = archive.get(f"/api/v1/articles/feed.{kind}")
    assert again.content == first.content
    assert again.headers["content-type"] == first.headers["content-type"]
    unchanged = archive.get(f"/api/v1/articles/feed.{kind}", headers={"If-None-Match": etag})
    assert unchanged.status_code == 304

    write_article(corpus, "new.txt", title="Свежий выпуск", url="https://a.ru/fresh")
    ingest(corpus)
    changed = archive.get(f"/api/v1/articles/feed.{kind}", headers={"If-None-Match": etag})
    assert changed.status_code == 200
    assert "Свежий выпуск" in [entry.title for entry in parse(changed).entries]
