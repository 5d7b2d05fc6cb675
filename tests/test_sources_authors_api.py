"""GET /api/v1/sources and /api/v1/authors."""

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from tests.factories import write_article

# Run through PgBouncer (transaction pooling) too: tests/conftest.py.
THROUGH_PGBOUNCER = True


@pytest.fixture
def loaded(client: TestClient, corpus: Path, ingest) -> TestClient:  # type: ignore[no-untyped-def]
    rows = [
        (
            "2019-11-01T10:00:00+00:00",
            ["Екатерина Сумина"],
            "ФедералПресс",
            "https://fedpress.ru/1",
        ),
        (
            "2019-11-03T10:00:00+03:00",
            ["Екатерина Сумина", "Анна Ёлкина"],
            "ФедералПресс",
            "https://fedpress.ru/2",
        ),
        ("2019-11-02T10:00:00+00:00", ["Иван Петров"], "Известия", "https://iz.ru/3"),
        ("2019-11-04T10:00:00+00:00", ["Иван Петров"], "ФедералПресс", "https://fedpress.ru/4"),
        ("2019-11-05T10:00:00+00:00", ["Олег 100%_Процентов"], "Известия", "https://iz.ru/5"),
    ]
    for i, (published, authors, source, url) in enumerate(rows):
        write_article(
            corpus, f"{i}.txt", published=published, authors=authors, source=source, url=url
        )
    ingest(corpus)
    return client


def test_sources_most_articles_first_with_date_span(loaded: TestClient) -> None:
    body = loaded.get("/api/v1/sources").json()
    assert body["total"] == 2
    first, second = body["items"]
    assert (first["name"], first["domain"], first["article_count"]) == (
        "ФедералПресс",
        "fedpress.ru",
        3,
    )
    assert first["first_published_at"] == "2019-11-01T10:00:00+00:00"
    assert first["last_published_at"] == "2019-11-04T10:00:00+00:00"
    assert (second["name"], second["article_count"]) == ("Известия", 2)
    one = loaded.get(f"/api/v1/sources/{second['id']}").json()
    assert one == second
    assert loaded.get("/api/v1/sources/999999").status_code == 404


def names(response) -> list[str]:  # type: ignore[no-untyped-def]
    assert response.status_code == 200, response.text
    return [a["name"] for a in response.json()["items"]]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({}, ["Анна Ёлкина", "Екатерина Сумина", "Иван Петров", "Олег 100%_Процентов"]),
        ({"q": "ека"}, ["Екатерина Сумина"]),
        ({"q": "ЕКА"}, ["Екатерина Сумина"]),
        ({"q": "сум"}, ["Екатерина Сумина"]),  # a later word of the name
        ({"q": "ёлк"}, ["Анна Ёлкина"]),
        ({"q": "катерина"}, []),  # prefixes only
        ({"q": "100%_"}, ["Олег 100%_Процентов"]),  # LIKE wildcards are literal
        ({"q": "%"}, []),
        ({"source": "Известия"}, ["Иван Петров", "Олег 100%_Процентов"]),
        ({"source": "fedpress.ru", "q": "и"}, ["Иван Петров"]),
    ],
)
def test_author_search(loaded: TestClient, query: dict[str, str], expected: list[str]) -> None:
    response = loaded.get("/api/v1/authors", params=query)
    assert names(response) == expected
    assert response.json()["total"] == len(expected)


def test_author_counts_and_detail(loaded: TestClient) -> None:
    items = {a["name"]: a for a in loaded.get("/api/v1/authors").json()["items"]}
    assert items["Екатерина Сумина"]["article_count"] == 2
    assert items["Иван Петров"]["article_count"] == 2
    author = items["Анна Ёлкина"]
    assert loaded.get(f"/api/v1/authors/{author['id']}").json() == author
    assert loaded.get("/api/v1/authors/999999").status_code == 404


def test_author_pages_walk(loaded: TestClient) -> None:
    everything = names(loaded.get("/api/v1/authors"))
    seen: list[str] = []
    response = loaded.get("/api/v1/authors?limit=1")
    for _ in range(10):
        seen += names(response)
        cursor = response.json()["next_cursor"]
        if cursor is None:
            break
        response = loaded.get("/api/v1/authors", params={"limit": 1, "cursor": cursor})
    else:
        pytest.fail("the cursor walk did not end")
    assert seen == everything
    assert names(loaded.get("/api/v1/authors?limit=2&page=2")) == everything[2:4]
