"""Listing totals from the count table equal counting the articles, whatever changes them."""

import random
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text

from tests.factories import write_article

SOURCES = ("Один", "Два", "Три")


@pytest.fixture
def spread(client: TestClient, corpus: Path, ingest) -> TestClient:  # type: ignore[no-untyped-def]
    """60 articles over three months, with offsets that move some across UTC midnight."""
    rng = random.Random(7)
    for i in range(60):
        day = 1 + rng.randrange(28)
        month = rng.choice((10, 11, 12))
        hour = rng.randrange(24)
        offset = rng.choice(("+00:00", "+03:00", "-05:00"))
        english = i % 5 == 0
        write_article(
            corpus,
            f"{i:02}.txt",
            title=f"Title number {i}" if english else f"Статья {i}",
            paragraphs=["An English text here."] if english else ["Русский текст."],
            published=f"2019-{month:02}-{day:02}T{hour:02}:{rng.randrange(60):02}:00{offset}",
            url=f"https://a.ru/{i}",
            source=SOURCES[i % 3],
        )
    ingest(corpus, batch_size=13)
    return client


QUERIES = [
    "",
    "from=2019-11-01",
    "to=2019-11-15",
    "from=2019-10-15&to=2019-12-10",
    "from=2019-11-03T21:30:00Z&to=2019-11-04T02:00:00Z",
    "from=2019-10-31T12:00:00%2B03:00&to=2019-12-01T00:00:00Z",
    "from=2019-10-01&to=2019-10-31",
    "from=2019-12-31T23:00:00Z",
    "to=2019-10-01T00:00:00Z",
    "source=Один",
    "source=Один&source=Три&from=2019-11-02T10:00:00Z",
    "language=en",
    "language=ru&to=2019-11-20T05:00:00Z&source=Два",
    "from=2019-11-05&to=2019-11-05",
]


def items_counted(client: TestClient, query: str) -> tuple[int, int]:
    body = client.get(f"/api/v1/articles?limit=100&{query}").json()
    return body["total"], len(body["items"])


@pytest.mark.parametrize("query", QUERIES)
def test_totals_equal_the_articles_listed(spread: TestClient, query: str) -> None:
    total, listed = items_counted(spread, query)
    assert total == listed


def test_totals_follow_changes_made_outside_the_ingest(
    spread: TestClient, engine: Engine, backend: str
) -> None:
    # A date as each backend stores it (app.db.UTCDateTime): naive UTC text on SQLite.
    moved = "'2019-12-31 10:00:00.000000'" if backend == "sqlite" else "'2019-12-31 10:00Z'"
    with engine.begin() as connection:
        connection.execute(text("DELETE FROM article_authors WHERE article_id % 4 = 0"))
        connection.execute(text("DELETE FROM articles WHERE id % 4 = 0"))
        connection.execute(
            text("UPDATE articles SET source_id = (SELECT min(id) FROM sources) WHERE id % 3 = 1")
        )
        connection.execute(text("UPDATE articles SET language = 'other' WHERE id % 7 = 2"))
        connection.execute(text(f"UPDATE articles SET published_at = {moved} WHERE id % 5 = 3"))
    for query in [*QUERIES, "language=other", "from=2019-12-31"]:
        total, listed = items_counted(spread, query)
        assert total == listed, query


def test_a_changed_date_moves_its_count(spread: TestClient, corpus: Path, ingest) -> None:  # type: ignore[no-untyped-def]
    before, _ = items_counted(spread, "from=2019-10-01&to=2019-10-31")
    write_article(
        corpus,
        "moved.txt",
        title="Перенесённая",
        published="2019-10-10T10:00:00+00:00",
        url="https://a.ru/moved",
    )
    ingest(corpus)
    assert items_counted(spread, "from=2019-10-01&to=2019-10-31")[0] == before + 1
    write_article(
        corpus,
        "moved.txt",
        title="Перенесённая",
        published="2019-12-10T10:00:00+00:00",
        url="https://a.ru/moved",
    )
    ingest(corpus)
    assert items_counted(spread, "from=2019-10-01&to=2019-10-31")[0] == before
    for query in QUERIES:
        total, listed = items_counted(spread, query)
        assert total == listed, query


def test_an_emptied_archive_counts_nothing(
    spread: TestClient, engine: Engine, backend: str
) -> None:
    statement = "TRUNCATE articles CASCADE" if backend == "postgresql" else "DELETE FROM articles"
    with engine.begin() as connection:
        if backend == "sqlite":
            connection.execute(text("DELETE FROM article_authors"))
        connection.execute(text(statement))
    for query in QUERIES:
        assert items_counted(spread, query) == (0, 0), query


def test_an_update_that_moves_no_count_rewrites_none(
    spread: TestClient, engine: Engine, backend: str
) -> None:
    """The story ids the ingest writes after the batches change no counted value: the
    count rows are left as they are (PostgreSQL counts a statement's net change, 0010;
    SQLite's trigger fires only for the counted columns)."""
    version = "xmin::text" if backend == "postgresql" else "rowid"
    query = text(f"SELECT {version}, * FROM article_counts ORDER BY 2, 3, 4, 5")
    with engine.begin() as connection:
        before = connection.execute(query).all()
        connection.execute(text("UPDATE articles SET story_id = id + 1, title = title || '.'"))
        assert connection.execute(query).all() == before
