"""GET /api/v1/articles and /articles/{id}: filters, order, pagination, shapes."""

from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from fastapi.testclient import TestClient

from tests.factories import write_article

# Run through PgBouncer (transaction pooling) too: tests/conftest.py.
THROUGH_PGBOUNCER = True

REFERENCE = Path(__file__).resolve().parent.parent / "seeds" / "000_1062a2f1da82aa94.txt"

# (file, published, authors, source, url)
ARTICLES: list[tuple[str, str, list[str], str, str]] = [
    (
        "a",
        "2019-11-01T10:00:00+00:00",
        ["Екатерина Сумина"],
        "ФедералПресс",
        "https://fedpress.ru/1",
    ),
    (
        "b",
        "2019-11-05T12:00:00+00:00",
        ["Иван Петров", "Екатерина Сумина"],
        "Известия",
        "https://iz.ru/2",
    ),
    # 23:59 UTC on the 6th, stated in Moscow time: belongs to the 6th, not the 7th.
    ("c", "2019-11-07T02:59:00+03:00", [], "Известия", "https://www.iz.ru/3"),
    ("d", "2019-11-07T00:00:00+00:00", ["Иван Петров"], "ФедералПресс", "https://fedpress.ru/4"),
    ("e", "2019-11-08T08:00:00-05:00", ["John Smith"], "Reuters", "https://reuters.com/5"),
]


def titles(response: Any) -> list[str]:
    assert response.status_code == 200, response.text
    return [item["title"] for item in response.json()["items"]]


@pytest.fixture
def loaded(client: TestClient, corpus: Path, ingest) -> TestClient:  # type: ignore[no-untyped-def]
    for name, published, authors, source, url in ARTICLES:
        paragraphs = ["Markets rose today."] if source == "Reuters" else ["Новость дня."]
        write_article(
            corpus,
            f"{name}.txt",
            title=name,
            published=published,
            authors=authors,
            source=source,
            url=url,
            paragraphs=paragraphs,
        )
    assert ingest(corpus).inserted == len(ARTICLES)
    return client


def test_reference_article_is_served(client: TestClient, ingest) -> None:  # type: ignore[no-untyped-def]
    ingest(REFERENCE)
    listing = client.get("/api/v1/articles").json()
    assert listing["total"] == 1
    assert listing["next_cursor"] is None
    (item,) = listing["items"]
    assert item["title"].startswith("«Важна кооперация с предприятиями Казахстана»")
    assert item["published_at"] == "2019-11-06T09:26:00+00:00"
    assert [a["name"] for a in item["authors"]] == ["Екатерина Сумина"]
    assert item["source"]["name"] == "ФедералПресс"
    assert item["source"]["domain"] == "fedpress.ru"
    assert item["url"] == "https://fedpress.ru/news/55/economy/2359002"
    assert item["language"] == "ru"
    assert item["excerpt"].startswith("ОМСК, 6 ноября, ФедералПресс.")
    assert len(item["excerpt"]) <= 301
    assert "body" not in item

    full = client.get(f"/api/v1/articles/{item['id']}").json()
    assert len(full["paragraphs"]) == 9
    assert full["body"] == "\n\n".join(full["paragraphs"])
    assert full["photo_credit"] == "пресс-служба правительства Омской области"
    assert full["word_count"] == item["word_count"]
    for key in ("ingested_at", "updated_at"):
        assert full[key].endswith("+00:00")


def test_newest_first_and_oldest_first(loaded: TestClient) -> None:
    assert titles(loaded.get("/api/v1/articles")) == ["e", "d", "c", "b", "a"]
    assert titles(loaded.get("/api/v1/articles?sort=published_at")) == ["a", "b", "c", "d", "e"]


def test_published_at_keeps_the_publishers_offset(loaded: TestClient) -> None:
    items = {i["title"]: i for i in loaded.get("/api/v1/articles").json()["items"]}
    assert items["c"]["published_at"] == "2019-11-07T02:59:00+03:00"
    assert items["e"]["published_at"] == "2019-11-08T08:00:00-05:00"


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("from=2019-11-07", ["e", "d"]),  # c is 23:59 UTC on the 6th
        ("to=2019-11-06", ["c", "b", "a"]),  # a bare date includes the whole UTC day
        ("from=2019-11-06&to=2019-11-06", ["c"]),
        ("to=2019-11-06T23:59:00Z", ["c", "b", "a"]),  # a datetime is inclusive
        ("to=2019-11-06T23:58:59Z", ["b", "a"]),
        ("from=2019-11-07T02:59:00%2B03:00", ["e", "d", "c"]),  # offsets are instants
        ("from=2019-11-07T02:59:00+03:00", ["e", "d", "c"]),  # unencoded + arrives as space
        ("from=2019-11-06T23:59:00", ["e", "d", "c"]),  # no offset means UTC
        ("from=2019-11-08T13:00:00Z", ["e"]),  # e is 13:00 UTC
        ("from=2019-11-08T13:00:01Z", []),
    ],
)
def test_date_filters(loaded: TestClient, query: str, expected: list[str]) -> None:
    response = loaded.get(f"/api/v1/articles?{query}")
    assert titles(response) == expected
    assert response.json()["total"] == len(expected)


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("author=Екатерина Сумина", ["b", "a"]),
        ("author=екатерина сумина", ["b", "a"]),
        ("author=ЕКАТЕРИНА  СУМИНА", ["b", "a"]),
        ("author=Иван Петров&author=john smith", ["e", "d", "b"]),
        ("author=Никто", []),
        ("source=известия", ["c", "b"]),
        ("source=ИЗВЕСТИЯ", ["c", "b"]),
        ("source=iz.ru", ["c", "b"]),
        ("source=www.iz.ru", ["c", "b"]),
        ("source=Reuters&source=fedpress.ru", ["e", "d", "a"]),
        ("language=en", ["e"]),
        ("language=ru", ["d", "c", "b", "a"]),
        ("source=ФедералПресс&author=Иван Петров", ["d"]),
        ("source=известия&from=2019-11-06&language=ru", ["c"]),
        ("author=Екатерина Сумина&to=2019-11-01", ["a"]),
    ],
)
def test_filters_alone_and_combined(loaded: TestClient, query: str, expected: list[str]) -> None:
    response = loaded.get("/api/v1/articles", params=parse_qs(query))
    assert titles(response) == expected
    assert response.json()["total"] == len(expected)


def test_filters_by_id(loaded: TestClient) -> None:
    items = loaded.get("/api/v1/articles").json()["items"]
    by_title = {i["title"]: i for i in items}
    petrov = next(a["id"] for a in by_title["d"]["authors"])
    izvestia = by_title["c"]["source"]["id"]
    assert titles(loaded.get(f"/api/v1/articles?author_id={petrov}")) == ["d", "b"]
    assert titles(loaded.get(f"/api/v1/articles?source_id={izvestia}")) == ["c", "b"]
    assert titles(loaded.get(f"/api/v1/articles?source_id={izvestia}&author_id={petrov}")) == ["b"]


def test_authors_in_byline_order(loaded: TestClient) -> None:
    items = {i["title"]: i for i in loaded.get("/api/v1/articles").json()["items"]}
    assert [a["name"] for a in items["b"]["authors"]] == ["Иван Петров", "Екатерина Сумина"]
    assert items["c"]["authors"] == []


def walk(client: TestClient, url: str) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    response = client.get(url)
    for _ in range(1000):  # bounded: a cursor that repeats a page must not hang
        body = response.json()
        items += body["items"]
        if body["next_cursor"] is None:
            assert "link" not in response.headers
            return items
        link = response.headers["link"]
        assert link.endswith('>; rel="next"')
        next_url = link[1 : link.index(">")]
        assert parse_qs(urlsplit(next_url).query)["cursor"] == [body["next_cursor"]]
        response = client.get(next_url)
    pytest.fail("the cursor walk did not end")


@pytest.fixture
def many(client: TestClient, corpus: Path, ingest) -> TestClient:  # type: ignore[no-untyped-def]
    # 23 articles, with runs of identical timestamps so ties must be broken by id.
    for i in range(23):
        write_article(
            corpus,
            f"{i:02}.txt",
            title=f"n{i}",
            published=f"2019-11-{1 + i // 3:02}T12:00:00+00:00",
            url=f"https://a.ru/{i}",
            source="Один" if i % 2 else "Два",
        )
    ingest(corpus, batch_size=7)
    return client


@pytest.mark.parametrize("sort", ["-published_at", "published_at"])
@pytest.mark.parametrize("limit", [1, 4, 23, 100])
def test_cursor_walk_equals_one_listing(many: TestClient, sort: str, limit: int) -> None:
    everything = many.get(f"/api/v1/articles?limit=100&sort={sort}").json()["items"]
    walked = walk(many, f"/api/v1/articles?limit={limit}&sort={sort}")
    assert [i["id"] for i in walked] == [i["id"] for i in everything]
    assert len({i["id"] for i in walked}) == 23


def test_cursor_walk_with_filters(many: TestClient) -> None:
    everything = many.get("/api/v1/articles?limit=100&source=Один").json()["items"]
    walked = walk(many, "/api/v1/articles?limit=5&source=Один")
    assert [i["id"] for i in walked] == [i["id"] for i in everything]
    assert len(walked) == 11


def test_page_numbers(many: TestClient) -> None:
    everything = many.get("/api/v1/articles?limit=100").json()["items"]
    pages = [many.get(f"/api/v1/articles?limit=5&page={p}") for p in range(1, 6)]
    assert [i["id"] for r in pages for i in r.json()["items"]] == [i["id"] for i in everything]
    assert pages[0].json()["total"] == 23
    assert 'page=2>; rel="next"' in pages[0].headers["link"]
    assert pages[-1].json()["next_cursor"] is None
    assert many.get("/api/v1/articles?limit=5&page=9").json()["items"] == []


def test_deep_pages_must_use_the_cursor(many: TestClient) -> None:
    assert many.get("/api/v1/articles?limit=100&page=100").status_code == 200
    response = many.get("/api/v1/articles?limit=100&page=101")
    assert response.status_code == 400
    problem = response.json()
    assert problem["errors"][0]["name"] == "page"
    assert "cursor" in problem["errors"][0]["reason"]


def test_unknown_article_is_404(loaded: TestClient) -> None:
    response = loaded.get("/api/v1/articles/999999")
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"
    assert "999999" in response.json()["detail"]


@pytest.mark.parametrize("sort", ["-published_at", "published_at"])
def test_cursor_walk_for_one_author(many: TestClient, sort: str) -> None:
    # One author is listed through the article_authors index: same order, same pages.
    query = f"author=Екатерина Сумина&sort={sort}&from=2019-11-02"
    everything = many.get(f"/api/v1/articles?limit=100&{query}").json()
    walked = walk(many, f"/api/v1/articles?limit=4&{query}")
    assert [i["id"] for i in walked] == [i["id"] for i in everything["items"]]
    assert everything["total"] == len(walked) == 20


def test_totals_follow_every_change(many: TestClient, engine) -> None:  # type: ignore[no-untyped-def]
    # Totals are cached under the archive's data version; a write outside the ingest
    # (triggers bump the version) must show at once.
    from sqlalchemy import text

    assert many.get("/api/v1/articles?source=Один").json()["total"] == 11
    with engine.begin() as conn:
        ids = [
            row[0]
            for row in conn.execute(
                text(
                    "SELECT a.id FROM articles a JOIN sources s ON s.id = a.source_id "
                    "WHERE s.name = 'Один' ORDER BY a.id LIMIT 2"
                )
            )
        ]
        for id_ in ids:
            conn.execute(text("DELETE FROM article_authors WHERE article_id = :id"), {"id": id_})
            conn.execute(text("DELETE FROM articles WHERE id = :id"), {"id": id_})
    assert many.get("/api/v1/articles?source=Один").json()["total"] == 9
    assert many.get("/api/v1/articles").json()["total"] == 21


def test_etag_revalidation_and_freshness(loaded: TestClient, corpus: Path, ingest) -> None:  # type: ignore[no-untyped-def]
    first = loaded.get("/api/v1/articles?limit=2")
    etag = first.headers["etag"]
    assert first.headers["cache-control"] == "no-cache"
    again = loaded.get("/api/v1/articles?limit=2", headers={"If-None-Match": etag})
    assert again.status_code == 304
    assert again.content == b""
    other = loaded.get("/api/v1/articles?limit=3", headers={"If-None-Match": etag})
    assert other.status_code == 200  # another URL is another representation

    write_article(corpus, "new.txt", title="new", url="https://a.ru/new", published="2030-01-01")
    ingest(corpus)
    changed = loaded.get("/api/v1/articles?limit=2", headers={"If-None-Match": etag})
    assert changed.status_code == 200
    assert changed.headers["etag"] != etag
    assert changed.json()["items"][0]["title"] == "new"
    assert changed.json()["total"] == first.json()["total"] + 1
