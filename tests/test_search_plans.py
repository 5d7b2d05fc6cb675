"""The search's plans: both ways of joining it give the same pages, relevance windows
cover every match once, totals say when they are estimates, dates far out still work."""

from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import event
from sqlalchemy.engine import Engine

from app.config import Settings
from app.databases import postgres
from app.main import create_app
from app.queries import listing
from tests.factories import write_article
from tests.test_articles_api import walk

WORD = quote("форум")
SOURCES = ("Один", "Два", "Три")
AUTHORS = ("Анна Первая", "Борис Второй")


def body(i: int) -> list[str]:
    # Every third article mentions the word, as often as i % 4 + 1 times.
    words = " ".join(["форум"] * (i % 4 + 1)) if i % 3 == 0 else "совещание"
    return [f"Новости дня номер {i}: {words}.", "Подробности следуют."]


@pytest.fixture
def archive(database_url: str, corpus: Path, ingest) -> Any:  # type: ignore[no-untyped-def]
    for i in range(90):
        write_article(
            corpus,
            f"{i:03}.txt",
            title=f"Статья {i}",
            paragraphs=body(i),
            published=f"2019-{10 + i // 30}-{1 + i % 28:02}T{i % 24:02}:{i % 60:02}:00+03:00",
            url=f"https://a.ru/{i}",
            source="Редкий" if i % 27 == 0 else SOURCES[(i // 3) % 3],
            authors=[AUTHORS[i % 2]],
        )
    ingest(corpus, batch_size=25)

    def client(**settings: Any) -> TestClient:
        app = create_app(Settings(database_url=database_url, cursor_secret="s", **settings))
        return TestClient(app)

    return client


QUERIES = [
    f"q={WORD}&sort=-published_at",
    f"q={WORD}&sort=published_at",
    f"q={WORD}&sort=-published_at&from=2019-10-15&to=2019-11-20T12:00:00Z",
    f"q={WORD}&sort=-published_at&source=Редкий",
    f"q={WORD}&sort=-published_at&source=Один&source=Два",
    f"q={WORD}&sort=-published_at&author=Анна Первая&to=2019-11-30",
    f"q={WORD}&sort=-published_at&language=ru&from=2019-11-01",
    f"q={WORD}&source=Редкий",
    f"q={WORD}&author=Борис Второй",
    f"q={WORD}",
]


@pytest.mark.parametrize("query", QUERIES)
def test_both_joins_give_the_same_pages(
    archive: Any, query: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    pages = {}
    for probe_cost in (0, 10**9):  # 0: always walk the filters; huge: always walk the index
        monkeypatch.setattr(listing, "PROBE_COST", probe_cost)
        with archive() as client:
            whole = client.get(f"/api/v1/articles?limit=100&{query}").json()
            walked = walk(client, f"/api/v1/articles?limit=4&{query}")
        assert [i["id"] for i in walked] == [i["id"] for i in whole["items"]]
        assert whole["total"] == len(whole["items"]) and whole["total_exact"]
        pages[probe_cost] = [i["id"] for i in whole["items"]]
    assert pages[0] == pages[10**9]
    assert pages[0], "the query should find something"


@pytest.mark.parametrize(
    "query",
    [
        f"q={WORD}",
        f"q={WORD}&sort=-published_at",
        f"q={WORD}&sort=published_at&from=2019-10-20",
        f"q={WORD}&source=Один&sort=published_at",
    ],
)
def test_both_ways_of_reading_the_matches_give_the_same_pages(
    archive: Any, database_url: str, query: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """PostgreSQL reads a search's matches walking its key index or all at once from GIN,
    whichever costs less (WALKED_ENTRY_COST); SQLite's index does both at once."""
    statements: list[str] = []

    def seen(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        statements.append(statement)

    pages, hinted = {}, {}
    event.listen(Engine, "before_cursor_execute", seen)
    try:
        for cost in (0, 10**9):  # 0: always walk the key index; huge: always read every match
            monkeypatch.setattr(postgres, "WALKED_ENTRY_COST", cost)
            statements.clear()
            with archive(search_rank_window=20) as client:
                whole = client.get(f"/api/v1/articles?limit=100&{query}").json()
                walked = walk(client, f"/api/v1/articles?limit=4&{query}")
            assert [i["id"] for i in walked] == [i["id"] for i in whole["items"]]
            pages[cost] = [i["id"] for i in whole["items"]]
            hinted[cost] = any("enable_indexscan = off" in s for s in statements)
    finally:
        event.remove(Engine, "before_cursor_execute", seen)
    assert pages[0] == pages[10**9]
    assert pages[0], "the query should find something"
    on_postgres = database_url.startswith("postgresql")
    assert hinted == {0: False, 10**9: on_postgres}


def test_date_order_is_the_listings_order(archive: Any) -> None:
    with archive() as client:
        found = client.get(f"/api/v1/articles?limit=100&q={WORD}&sort=-published_at").json()
        everything = client.get("/api/v1/articles?limit=100").json()["items"]
    ids = {i["id"] for i in found["items"]}
    assert [i["id"] for i in found["items"]] == [i["id"] for i in everything if i["id"] in ids]


def test_relevance_ranks_window_by_window_and_misses_nothing(archive: Any) -> None:
    with archive(search_rank_window=20) as client:
        whole = client.get(f"/api/v1/articles?limit=100&q={WORD}").json()
        walked = walk(client, f"/api/v1/articles?limit=3&q={WORD}")
        by_date = client.get(f"/api/v1/articles?limit=100&q={WORD}&sort=-published_at").json()[
            "items"
        ]
    assert whole["total"] == 30 and len(whole["items"]) == 30
    assert [i["id"] for i in walked] == [i["id"] for i in whole["items"]]
    # The newest 20 matches come first, ranked among themselves; then the other 10.
    newest = [i["id"] for i in by_date[:20]]
    assert sorted(i["id"] for i in whole["items"][:20]) == sorted(newest)
    assert sorted(i["id"] for i in whole["items"][20:]) == sorted(i["id"] for i in by_date[20:])


def test_relevance_with_one_window_is_the_whole_ranking(archive: Any) -> None:
    with archive(search_rank_window=20) as narrow, archive() as wide:
        small = f"q={WORD}&source=Один"  # 6 matches: one window either way
        assert (
            narrow.get(f"/api/v1/articles?{small}").json()
            == wide.get(f"/api/v1/articles?{small}").json()
        )


def test_a_total_past_the_counting_budget_is_an_estimate(
    archive: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(listing, "COUNT_WORK", 5)
    with archive(count_cache_bytes=0) as client:
        estimated = client.get(f"/api/v1/articles?q={WORD}&source=Один&source=Два").json()
        exact = client.get(f"/api/v1/articles?q={WORD}").json()
        plain = client.get("/api/v1/articles?source=Один").json()
    assert estimated["total_exact"] is False
    assert estimated["total"] > 0
    assert exact["total_exact"] is True and exact["total"] == 30  # counted in the index
    assert plain["total_exact"] is True  # from the count table


def test_dates_outside_the_keys_range_are_still_found(
    client: TestClient, corpus: Path, ingest
) -> None:  # type: ignore[no-untyped-def]
    for name, published in (
        ("old", "1850-06-01T10:00:00+00:00"),
        ("new", "2019-11-06T10:00:00+00:00"),
        ("far", "3001-01-01T00:00:00+00:00"),
    ):
        write_article(
            corpus,
            f"{name}.txt",
            title=f"форум {name}",
            published=published,
            url=f"https://a.ru/{name}",
        )
    ingest(corpus)

    def titles(query: str) -> list[str]:
        found = client.get(f"/api/v1/articles?q={WORD}&sort=-published_at&{query}").json()
        return [i["title"] for i in found["items"]]

    assert titles("") == ["форум far", "форум new", "форум old"]
    assert titles("to=1900-01-01") == ["форум old"]
    assert titles("from=2900-01-01") == ["форум far"]
    assert titles("from=1800-01-01&to=2100-01-01") == ["форум new", "форум old"]
    assert client.get(f"/api/v1/articles?q={WORD}&to=1900-01-01").json()["total"] == 1


def test_published_at_is_kept_to_the_second(client: TestClient, corpus: Path, ingest) -> None:  # type: ignore[no-untyped-def]
    write_article(corpus, "a.txt", published="2019-11-06T09:26:59.987654+03:00")
    ingest(corpus)
    item = client.get("/api/v1/articles").json()["items"][0]
    assert item["published_at"] == "2019-11-06T09:26:59+03:00"


def test_a_search_count_past_its_budget_is_an_estimate(
    archive: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(listing, "MATCH_WORK", 5)
    with archive(count_cache_bytes=0) as client:
        found = client.get(f"/api/v1/articles?q={WORD}&sort=-published_at").json()
        ranged = client.get(f"/api/v1/articles?q={WORD}&from=2019-11-01").json()
        few = client.get(f"/api/v1/articles?q={WORD}&source=Редкий").json()
    for page in (found, ranged):
        assert page["total_exact"] is False
        # An estimate, but of the right size: more than counted, never absurd.
        assert 5 < page["total"] <= 200
    assert len(found["items"]) == 20  # the page itself is whole
    assert few["total_exact"] is True and few["total"] == len(few["items"])
