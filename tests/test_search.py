"""Full-text search on both backends: word forms, syntax, relevance, highlights, facets."""

from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, delete
from sqlalchemy import text as sql

from app.models import Article, ArticleAuthor
from tests.factories import article_text, write_article

# title, body paragraphs, source, published, authors
DOCS: dict[str, tuple[str, list[str], str, str, list[str]]] = {
    "forum": (
        "Форум в Омске",
        ["В Омске открылся российско-казахстанский форум сотрудничества."],
        "ФедералПресс",
        "2019-11-06T09:00:00+00:00",
        ["Екатерина Сумина"],
    ),
    "forums": (
        "Итоги года",
        ["Все форумы региона прошли успешно.", "Гости приехали из Казахстана."],
        "Известия",
        "2019-11-07T09:00:00+00:00",
        ["Иван Петров"],
    ),
    "forumom": (
        "Новости Томска",
        ["Томск гордится форумом и сотрудничеством с Казахстаном."],
        "ФедералПресс",
        "2019-12-01T09:00:00+00:00",
        ["Иван Петров", "Екатерина Сумина"],
    ),
    "kazakhstan": (
        "Казахстан и Россия",
        ["Переговоры президентов прошли в Москве. Форума не было."],
        "Известия",
        "2020-01-15T09:00:00+03:00",
        [],
    ),
    "apart": (
        "Разное",
        ["Российско-китайский саммит. Казахстанский форум отменили."],
        "Коммерсант",
        "2020-02-01T09:00:00+00:00",
        ["Анна Ёлкина"],
    ),
    "yo": (
        "Ёлка в Кремле",
        ["Главная ёлка страны зажглась."],
        "Коммерсант",
        "2020-02-02T09:00:00+00:00",
        [],
    ),
    "ye": (
        "Новогодние елки",
        ["Продажа елок началась <b>в субботу</b> & воскресенье."],
        "Коммерсант",
        "2020-02-03T09:00:00+00:00",
        [],
    ),
    "english": (
        "Markets rally",
        ["Stocks rose as markets rallied on Monday."],
        "Reuters",
        "2020-03-01T09:00:00-05:00",
        ["John Smith"],
    ),
    "html": (
        "<script>alert(1)</script> Форум & ко",
        [
            'Текст с <img src=x onerror="alert(1)"> и словом форум.',
            "Этот абзац написан по-русски, чтобы язык статьи был русским.",
        ],
        "Хакер",
        "2020-03-02T09:00:00+00:00",
        [],
    ),
}


@pytest.fixture
def searchable(client: TestClient, corpus: Path, ingest) -> TestClient:  # type: ignore[no-untyped-def]
    for name, (title, paragraphs, source, published, authors) in DOCS.items():
        write_article(
            corpus,
            f"{name}.txt",
            title=title,
            paragraphs=paragraphs,
            source=source,
            published=published,
            authors=authors,
            url=f"https://example.ru/{name}",
        )
    assert ingest(corpus).inserted == len(DOCS)
    return client


def found(client: TestClient, q: str, **params: Any) -> list[str]:
    response = client.get("/api/v1/articles", params={"q": q, "limit": 100, **params})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["total"] == len(body["items"])
    return [item["url"].rsplit("/", 1)[1] for item in body["items"]]


FORUM = {"forum", "forums", "forumom", "kazakhstan", "apart", "html"}
KAZAKHSTAN = {"forums", "forumom", "kazakhstan"}

# One query table, run on both backends: the same query finds the same articles.
QUERY_TABLE: list[tuple[str, set[str]]] = [
    ("форум", FORUM),
    ("форума", FORUM),
    ("форумы", FORUM),
    ("форумом", FORUM),
    ("ФОРУМ", FORUM),
    ("Казахстан", KAZAKHSTAN),
    ("Казахстана", KAZAKHSTAN),
    ("Казахстаном", KAZAKHSTAN),
    ("форумы Казахстана", {"forums", "forumom", "kazakhstan"}),
    ('"российско-казахстанский форум"', {"forum"}),
    ('"казахстанский форум"', {"forum", "apart"}),
    ('"форум казахстанский"', set()),
    ("российско-казахстанский", {"forum"}),
    ("Омск OR Томск", {"forum", "forumom"}),
    ("форум Омск OR Томск", {"forum", "forumom"}),
    ("форум -Казахстан", {"forum", "apart", "html"}),
    ('форум -"Новости Томска"', FORUM - {"forumom"}),
    ("форум -Казахстан -Омск", {"apart", "html"}),
    ("елка", {"yo", "ye"}),
    ("ёлки", {"yo", "ye"}),
    ("ЁЛКА", {"yo", "ye"}),
    ("market", {"english"}),
    ("Rallying MARKETS", {"english"}),
    ("script", {"html"}),
    ("несуществующееслово", set()),
]


@pytest.mark.parametrize(("q", "expected"), QUERY_TABLE)
def test_query_table(searchable: TestClient, q: str, expected: set[str]) -> None:
    assert set(found(searchable, q)) == expected
    assert set(found(searchable, q, sort="-published_at")) == expected


def test_search_combines_with_filters(searchable: TestClient) -> None:
    assert set(found(searchable, "форум", source="Известия")) == {"forums", "kazakhstan"}
    assert set(found(searchable, "форум", author="Иван Петров")) == {"forums", "forumom"}
    assert set(found(searchable, "форум", **{"from": "2019-12-01", "to": "2020-02-01"})) == {
        "forumom",
        "kazakhstan",
        "apart",
    }
    assert found(searchable, "форум", language="en") == []


def test_date_order_with_q(searchable: TestClient) -> None:
    assert found(searchable, "Казахстан", sort="-published_at") == [
        "kazakhstan",
        "forumom",
        "forums",
    ]
    assert found(searchable, "Казахстан", sort="published_at") == [
        "forums",
        "forumom",
        "kazakhstan",
    ]


def test_relevance_puts_a_title_match_first(searchable: TestClient) -> None:
    # "Казахстан" is the title of one article and a single body mention in two others.
    ranked = found(searchable, "Казахстан")
    assert ranked[0] == "kazakhstan"
    assert found(searchable, "Омск")[0] == "forum"
    explicit = searchable.get("/api/v1/articles", params={"q": "Казахстан", "sort": "relevance"})
    assert explicit.json()["items"][0]["url"].endswith("/kazakhstan")


def test_relevance_cursor_walk(searchable: TestClient) -> None:
    everything = found(searchable, "форум")
    walked: list[str] = []
    params: dict[str, Any] = {"q": "форум", "limit": 2}
    for _ in range(len(DOCS)):  # bounded: a cursor that repeats a page must not hang
        body = searchable.get("/api/v1/articles", params=params).json()
        walked += [i["url"].rsplit("/", 1)[1] for i in body["items"]]
        if not body["next_cursor"]:
            break
        params = {"q": "форум", "limit": 2, "cursor": body["next_cursor"]}
    else:
        pytest.fail("the cursor walk did not end")
    assert walked == everything
    pages = [
        searchable.get("/api/v1/articles", params={"q": "форум", "limit": 4, "page": p}).json()
        for p in (1, 2)
    ]
    by_page = [i["url"].rsplit("/", 1)[1] for page in pages for i in page["items"]]
    assert by_page == everything


def test_highlights_mark_matches_and_escape_html(searchable: TestClient) -> None:
    items = searchable.get("/api/v1/articles", params={"q": "форумы Казахстана"}).json()["items"]
    by_name = {i["url"].rsplit("/", 1)[1]: i for i in items}
    forumom = by_name["forumom"]["highlight"]
    assert forumom["title"] == "Новости Томска"
    assert "<mark>форумом</mark>" in forumom["snippet"]
    assert "<mark>Казахстаном</mark>" in forumom["snippet"]
    kazakh = by_name["kazakhstan"]["highlight"]
    assert kazakh["title"] == "<mark>Казахстан</mark> и Россия"
    assert "<mark>Форума</mark>" in kazakh["snippet"]

    html = searchable.get("/api/v1/articles", params={"q": "форум"}).json()["items"]
    (evil,) = [i for i in html if i["url"].endswith("/html")]
    title, snippet = evil["highlight"]["title"], evil["highlight"]["snippet"]
    assert title == "&lt;script&gt;alert(1)&lt;/script&gt; <mark>Форум</mark> &amp; ко"
    assert "onerror=&quot;alert(1)&quot;&gt;" in snippet
    assert "<mark>форум</mark>" in snippet
    for text in (title, snippet):
        unmarked = text.replace("<mark>", "").replace("</mark>", "")
        assert not set('<>"') & set(unmarked), text
    plain = searchable.get("/api/v1/articles").json()["items"]
    assert all(i["highlight"] is None for i in plain)


def test_ye_and_yo_highlight_both(searchable: TestClient) -> None:
    items = searchable.get("/api/v1/articles", params={"q": "елка"}).json()["items"]
    titles = {i["highlight"]["title"] for i in items}
    assert titles == {"<mark>Ёлка</mark> в Кремле", "Новогодние <mark>елки</mark>"}
    (ye,) = [i for i in items if i["url"].endswith("/ye")]
    assert "&lt;b&gt;в субботу&lt;/b&gt; &amp; воскресенье" in ye["highlight"]["snippet"]


@pytest.mark.parametrize(
    "q",
    [
        '"unbalanced quote',
        '"',
        '""',
        "OR",
        "OR OR OR",
        "-",
        "--",
        "- -форум",
        "-форум",
        "AND NOT",
        "NEAR(форум Омск)",
        "title:форум",
        "форум*",
        "^форум",
        "(форум",
        "'; DROP TABLE articles; --",
        "\\",
        "!()&|<->:*",
        "x" * 500,
        "!" * 1000,
        "форум " + "!" * 990,
        "\u200f\u202eфорум\u0301",
    ],
)
def test_malformed_queries_never_error(searchable: TestClient, q: str) -> None:
    response = searchable.get("/api/v1/articles", params={"q": q})
    assert response.status_code in (200, 400), response.text
    if response.status_code == 400:
        assert response.headers["content-type"] == "application/problem+json"
        assert [e["name"] for e in response.json()["errors"]] == ["q"]
    facets = searchable.get("/api/v1/articles/facets", params={"q": q})
    assert facets.status_code == response.status_code


def test_lenient_queries_still_search(searchable: TestClient) -> None:
    assert set(found(searchable, '"Омск')) == {"forum"}
    assert set(found(searchable, "(Омск) -")) == {"forum"}  # punctuation and stray operators
    assert set(found(searchable, "Омск OR")) == {"forum"}
    assert found(searchable, "  ") == found(searchable, "")  # blank q is no search


def test_relevance_needs_q(searchable: TestClient) -> None:
    response = searchable.get("/api/v1/articles", params={"sort": "relevance"})
    assert response.status_code == 400
    assert response.json()["errors"][0]["name"] == "sort"


def test_reingested_article_is_found_by_new_words(client: TestClient, corpus: Path, ingest) -> None:  # type: ignore[no-untyped-def]
    path = write_article(
        corpus, "a.txt", url="https://a.ru/1", paragraphs=["Старый текст про слонов."]
    )
    ingest(corpus)
    assert set(found(client, "слон")) == {"1"}
    path.write_text(article_text(url="https://a.ru/1", paragraphs=["Новый текст про жирафов."]))
    ingest(corpus)
    assert found(client, "слон") == []
    assert set(found(client, "жираф")) == {"1"}


def test_deleted_article_leaves_the_index(searchable: TestClient, engine: Engine) -> None:
    (item,) = searchable.get("/api/v1/articles", params={"q": "Омск"}).json()["items"]
    with engine.begin() as conn:
        conn.execute(delete(ArticleAuthor).where(ArticleAuthor.article_id == item["id"]))
        conn.execute(delete(Article).where(Article.id == item["id"]))
    assert found(searchable, "Омск") == []
    assert set(found(searchable, "форум")) == FORUM - {"forum"}


def test_the_index_follows_every_change_of_its_articles(
    client: TestClient, corpus: Path, ingest, engine: Engine
) -> None:  # type: ignore[no-untyped-def]
    # SQLite keeps each entry's text apart from the index (migration 0012) and FTS5 reads
    # it to take the entry out: a new text, a new date (by the ingest or by hand) and a
    # deletion by hand must each leave the index whole and answering as the articles say.
    def write(name: str, words: str, published: str) -> Path:
        return write_article(
            corpus,
            f"{name}.txt",
            url=f"https://a.ru/{name}",
            paragraphs=[words],
            published=published,
        )

    first = write("one", "Слоны пришли в город.", "2020-03-01T10:00:00+03:00")
    write("two", "Слоны ушли из города.", "2020-03-02T10:00:00+03:00")
    write("three", "Слоны спят в зоопарке.", "2020-03-03T10:00:00+03:00")
    ingest(corpus)
    assert found(client, "слон", sort="-published_at") == ["three", "two", "one"]
    first.write_text(
        article_text(
            url="https://a.ru/one",
            paragraphs=["Жирафы пришли в город."],
            published="2020-03-04T10:00:00+03:00",
        )
    )
    assert ingest(corpus).updated == 1
    with engine.begin() as connection:
        connection.execute(
            sql("UPDATE articles SET published_at = :at WHERE url = 'https://a.ru/two'"),
            {
                "at": "2020-03-05 07:00:00.000000"
                if engine.dialect.name == "sqlite"
                else "2020-03-05T07:00:00+00:00"
            },
        )
        three = connection.scalar(sql("SELECT id FROM articles WHERE url = 'https://a.ru/three'"))
        connection.execute(delete(ArticleAuthor).where(ArticleAuthor.article_id == three))
        connection.execute(delete(Article).where(Article.id == three))
    assert found(client, "слон", sort="-published_at") == ["two"]
    assert found(client, "жираф") == ["one"]
    assert found(client, "город", sort="-published_at") == ["two", "one"]
    assert found(client, "зоопарк") == []
    if engine.dialect.name == "sqlite":
        with engine.begin() as connection:
            connection.execute(
                sql("INSERT INTO articles_fts(articles_fts) VALUES ('integrity-check')")
            )
            entries = connection.execute(
                sql("SELECT article_id, key FROM articles_fts_entries ORDER BY article_id")
            ).all()
            indexed = connection.scalars(sql("SELECT rowid FROM articles_fts ORDER BY rowid")).all()
        assert sorted(key for _, key in entries) == indexed and len(entries) == 2


FACET_FILTERS: list[dict[str, Any]] = [
    {},
    {"q": "форум"},
    {"q": "Казахстан", "source": "Известия"},
    {"author": "Иван Петров"},
    {"from": "2020-01-01"},
    {"q": "форум -Омск", "to": "2020-01-31"},
]


@pytest.mark.parametrize("params", FACET_FILTERS)
def test_facet_counts_equal_counting_the_listing(
    searchable: TestClient, params: dict[str, Any]
) -> None:
    listing = searchable.get("/api/v1/articles", params={**params, "limit": 100}).json()
    items = listing["items"]
    facets = searchable.get(
        "/api/v1/articles/facets", params={**params, "facet_limit": 100, "interval": "day"}
    ).json()
    assert facets["total"] == listing["total"] == len(items)

    def tally(key: Any) -> dict[Any, int]:
        counts: dict[Any, int] = {}
        for item in items:
            for value in key(item):
                counts[value] = counts.get(value, 0) + 1
        return counts

    assert {s["id"]: s["count"] for s in facets["sources"]} == tally(lambda i: [i["source"]["id"]])
    assert {a["id"]: a["count"] for a in facets["authors"]} == tally(
        lambda i: [a["id"] for a in i["authors"]]
    )
    assert {lang["value"]: lang["count"] for lang in facets["languages"]} == tally(
        lambda i: [i["language"]]
    )
    from datetime import UTC, datetime

    def utc_day(item: dict[str, Any]) -> list[str]:
        instant = datetime.fromisoformat(item["published_at"]).astimezone(UTC)
        return [instant.strftime("%Y-%m-%dT00:00:00+00:00")]

    buckets = facets["published_at"]["buckets"]
    assert {b["start"]: b["count"] for b in buckets} == tally(utc_day)
    assert [b["start"] for b in buckets] == sorted(b["start"] for b in buckets)


@pytest.mark.parametrize(
    ("interval", "expected"),
    [
        ("year", {"2019-01-01": 3, "2020-01-01": 6}),
        (
            "month",
            {"2019-11-01": 2, "2019-12-01": 1, "2020-01-01": 1, "2020-02-01": 3, "2020-03-01": 2},
        ),
        # 2019-11-06 (Wed) and 11-07 (Thu) share the week of Monday 11-04; 2020-02-02 is a Sunday.
        (
            "week",
            {
                "2019-11-04": 2,
                "2019-11-25": 1,
                "2020-01-13": 1,
                "2020-01-27": 2,
                "2020-02-03": 1,
                "2020-02-24": 1,
                "2020-03-02": 1,
            },
        ),
    ],
)
def test_histogram_intervals(
    searchable: TestClient, interval: str, expected: dict[str, int]
) -> None:
    facets = searchable.get("/api/v1/articles/facets", params={"interval": interval}).json()
    got = {b["start"][:10]: b["count"] for b in facets["published_at"]["buckets"]}
    assert got == expected
    assert all(b["start"].endswith("T00:00:00+00:00") for b in facets["published_at"]["buckets"])


def test_facet_limit_keeps_the_top(searchable: TestClient) -> None:
    facets = searchable.get("/api/v1/articles/facets", params={"facet_limit": 1}).json()
    assert facets["sources"] == [{**facets["sources"][0], "name": "Коммерсант", "count": 3}]
    assert len(facets["authors"]) == 1
    assert facets["authors"][0]["count"] == 2
    bad = searchable.get("/api/v1/articles/facets", params={"interval": "hour"})
    assert bad.status_code == 400
