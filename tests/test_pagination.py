"""Every sort order of every list (app.pagination.SORTS), walked by cursor end to end.

A sort order added to the registry is walked here with no change to this file, as long
as its list is in LISTS: the walk must give exactly the one-page listing, in order, with
ties broken by id.
"""

from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from fastapi.testclient import TestClient

from app.pagination import SORTS, SortOrder
from tests.factories import write_article
from tests.test_articles_api import walk

# Where each list is served, and the query that makes its needs_search orders valid.
LISTS: dict[str, str] = {
    "articles": "/api/v1/articles",
    "authors": "/api/v1/authors",
    "stories": "/api/v1/stories",
}
SEARCH = "q=" + quote("форум")
COUNT = 25


def test_every_list_with_sort_orders_is_walked_here() -> None:
    assert {order.list for order in SORTS} <= set(LISTS)


@pytest.fixture
def archive(client: TestClient, corpus: Path, ingest) -> TestClient:  # type: ignore[no-untyped-def]
    # Runs of equal dates, equal relevance (the same text) and equal-looking names, so
    # every key has ties that only the id breaks.
    for i in range(COUNT):
        write_article(
            corpus,
            f"{i:02}.txt",
            title=f"форум {i % 4}" if i % 3 else f"статья {i}",
            published=f"2019-11-{1 + i // 4:02}T12:00:00+00:00",
            url=f"https://a.ru/{i}",
            authors=[f"Автор {i % 7}", f"Соавтор {i:02}"],
            source="Один" if i % 2 else "Два",
            paragraphs=["форум " * (i % 5) + "новости дня", "второй абзац"],
        )
    # Stories: reports sharing no word, all at one instant, so each is a story of its
    # own and every story key ties (broken by id).
    for i in range(12):
        words = " ".join(f"тема{i}слово{j}" for j in range(6))
        write_article(
            corpus,
            f"story-{i:02}.txt",
            title=f"тема{i}заголовок",
            published="2019-12-01T12:00:00+00:00",
            url=f"https://b.ru/{i}",
            authors=(),
            source="Три",
            paragraphs=[words],
        )
    ingest(corpus, batch_size=9)
    return client


@pytest.mark.parametrize("order", SORTS, ids=lambda order: f"{order.list}:{order.name}")
@pytest.mark.parametrize("limit", [1, 3, 7])
def test_each_sort_order_walks_by_cursor(archive: TestClient, order: SortOrder, limit: int) -> None:
    query = f"sort={order.name}" + (f"&{SEARCH}" if order.needs_search else "")
    base = LISTS[order.list]
    whole = archive.get(f"{base}?limit=100&{query}")
    assert whole.status_code == 200, whole.text
    everything: list[dict[str, Any]] = whole.json()["items"]
    assert len(everything) >= 10  # enough to need several pages at every limit
    walked = walk(archive, f"{base}?limit={limit}&{query}")
    assert [item["id"] for item in walked] == [item["id"] for item in everything]
    assert whole.json()["total"] == len(everything)


def test_a_cursor_only_works_for_its_own_sort(archive: TestClient) -> None:
    for order in SORTS:
        query = f"sort={order.name}" + (f"&{SEARCH}" if order.needs_search else "")
        cursor = archive.get(f"{LISTS[order.list]}?limit=1&{query}").json()["next_cursor"]
        for other in SORTS:
            if other.list != order.list or other.name == order.name:
                continue
            other_query = f"sort={other.name}" + (f"&{SEARCH}" if other.needs_search else "")
            response = archive.get(f"{LISTS[other.list]}?limit=1&{other_query}&cursor={cursor}")
            assert response.status_code == 400
            assert response.json()["errors"][0]["name"] == "cursor"


def test_an_unknown_sort_is_named(archive: TestClient) -> None:
    for base in LISTS.values():
        response = archive.get(f"{base}?sort=nonsense")
        assert response.status_code == 400
        assert [e["name"] for e in response.json()["errors"]] == ["sort"]
