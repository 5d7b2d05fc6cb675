"""Every answer an operation gives is one its OpenAPI document declares: the status, and
the Content-Type exactly as sent (parameters and all), on both databases.

The long fuzz (tests/test_fuzz_server.py) checks the same over generated requests; these
are the answers it found undeclared, and the ones it cannot reach: a 304 (it does not
send If-None-Match), a NUL in an undeclared parameter, headers over the limit.
"""

from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from tests.factories import write_article

LONG_TARGET = "q=" + "а" * 2000  # 2,000 Cyrillic letters: 24,000 bytes once encoded
BIG_HEADERS = {"X-Pad": "x" * 17_000}


@pytest.fixture
def archive(client: TestClient, corpus: Path, ingest) -> TestClient:  # type: ignore[no-untyped-def]
    for i in range(3):
        write_article(corpus, f"{i}.txt", title=f"Новость {i}", url=f"https://a.ru/{i}")
    ingest(corpus)
    return client


def ids(client: TestClient) -> dict[str, int]:
    """The id of an article, a source and an author of the archive."""
    article = client.get("/api/v1/articles").json()["items"][0]
    return {
        "article_id": article["id"],
        "source_id": article["source"]["id"],
        "author_id": article["authors"][0]["id"],
        "story_id": article["story_id"],
    }


# Per operation: requests with the answers they should get.
REQUESTS: dict[str, list[tuple[str, int]]] = {
    "/api/v1/articles": [("", 200), ("?limit=0", 400), ("?q=-x", 400)],
    "/api/v1/articles/facets": [("", 200), ("?facet_limit=0", 400)],
    "/api/v1/articles/export": [("", 200), ("?format=ndjson", 200), ("?bom=x", 400)],
    "/api/v1/articles/feed.atom": [("", 200), ("?from=soon", 400)],
    "/api/v1/articles/feed.rss": [("", 200), ("?from=soon", 400)],
    "/api/v1/articles/{article_id}": [("", 200), ("?fields=nope", 400)],
    "/api/v1/articles/{article_id}/similar": [("", 200), ("?limit=0", 400)],
    "/api/v1/stories": [("", 200), ("?category=nope", 400), ("?sort=-importance", 400)],
    "/api/v1/stories/{story_id}": [("", 200), ("?fields=nope", 400)],
    "/api/v1/sources": [("", 200), ("?x=%00", 400)],  # NUL in any parameter
    "/api/v1/sources/{source_id}": [("", 200)],
    "/api/v1/authors": [("", 200), ("?limit=0", 400)],
    "/api/v1/authors/{author_id}": [("", 200)],
    "/api/v1/health": [("", 200), ("?x=%00", 400)],
    "/api/v1/changes": [("", 200), ("?limit=0", 400), ("?since=nope", 400)],
}


def declared(schema: dict[str, Any], template: str, response: httpx.Response) -> None:
    responses = schema["paths"][template]["get"]["responses"]
    status = str(response.status_code)
    assert status in responses, f"{template}: {status} is not declared"
    content = responses[status].get("content", {})
    if not content:
        assert response.content == b"" and "content-type" not in response.headers
        return
    # Exactly as sent: a client matching the document's media types by string finds it.
    assert response.headers["content-type"] in content, (template, status, response.headers)


@pytest.mark.parametrize("template", sorted(REQUESTS))
def test_every_answer_is_declared(archive: TestClient, template: str) -> None:
    schema = archive.get("/openapi.json").json()
    assert set(schema["paths"]) == set(REQUESTS)  # a new operation needs its requests here
    path = template.format(**ids(archive))
    for query, status in REQUESTS[template]:
        response = archive.get(path + query)
        assert response.status_code == status, (path + query, response.text[:300])
        declared(schema, template, response)
        if etag := response.headers.get("etag"):
            revalidated = archive.get(path + query, headers={"If-None-Match": etag})
            assert revalidated.status_code == 304
            declared(schema, template, revalidated)
    # Answered before routing, whatever the operation.
    too_long = archive.get(path + "?" + LONG_TARGET)
    assert too_long.status_code == 414
    declared(schema, template, too_long)
    too_big = archive.get(path, headers=BIG_HEADERS)
    assert too_big.status_code == 431
    declared(schema, template, too_big)
    if "{" not in template:
        return
    for missing in ("0", "2147483647"):  # below the ids' range, and no such row
        response = archive.get(path.rsplit("/", 1)[0] + "/" + missing)
        assert response.status_code in (400, 404)
        declared(schema, template, response)


def test_other_methods_are_405_problems_naming_get(archive: TestClient) -> None:
    for method in ("POST", "PUT", "DELETE", "PATCH", "TRACE"):
        response = archive.request(method, "/api/v1/articles")
        assert response.status_code == 405
        assert response.headers["content-type"] == "application/problem+json"
        assert response.headers["allow"] == "GET"
