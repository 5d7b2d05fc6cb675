"""`fields=` on /articles and /articles/{id}: trimmed items, errors naming the field."""

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from tests.factories import write_article


@pytest.fixture
def api(client: TestClient, corpus: Path, ingest) -> TestClient:  # type: ignore[no-untyped-def]
    write_article(
        corpus,
        "a.txt",
        title="Форум в Омске",
        paragraphs=["Открылся форум.", "Второй абзац."],
        url="https://fedpress.ru/1",
    )
    write_article(corpus, "b.txt", title="Другое", url="https://fedpress.ru/2")
    ingest(corpus)
    return client


def test_list_items_carry_only_the_fields_named(api: TestClient) -> None:
    full = api.get("/api/v1/articles").json()
    response = api.get("/api/v1/articles?fields=id,title,published_at,source")
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"items", "total", "limit", "next_cursor"}  # the page is whole
    assert body["total"] == 2
    for item, whole in zip(body["items"], full["items"], strict=True):
        assert list(item) == ["id", "title", "published_at", "source"]
        assert item == {key: whole[key] for key in item}
        assert set(item["source"]) == {"id", "name", "domain"}


def test_names_may_come_in_any_order_with_spaces_and_repeats(api: TestClient) -> None:
    body = api.get("/api/v1/articles", params={"fields": " title , id,title,"}).json()
    assert [list(item) for item in body["items"]] == [["id", "title"], ["id", "title"]]


def test_highlight_is_a_field_with_q(api: TestClient) -> None:
    body = api.get("/api/v1/articles", params={"q": "форум", "fields": "id,highlight"}).json()
    (item,) = body["items"]
    assert list(item) == ["id", "highlight"]
    assert "<mark>Форум</mark>" in item["highlight"]["title"]
    without = api.get("/api/v1/articles", params={"q": "форум", "fields": "id"}).json()
    assert list(without["items"][0]) == ["id"]


def test_detail_fields(api: TestClient) -> None:
    item = api.get("/api/v1/articles?fields=id").json()["items"][-1]
    full = api.get(f"/api/v1/articles/{item['id']}").json()
    trimmed = api.get(f"/api/v1/articles/{item['id']}?fields=body,id,paragraphs,authors")
    assert trimmed.status_code == 200
    assert trimmed.json() == {
        "id": full["id"],
        "authors": full["authors"],
        "body": "Открылся форум.\n\nВторой абзац.",
        "paragraphs": ["Открылся форум.", "Второй абзац."],
    }


def test_cached_responses_are_per_fields(api: TestClient) -> None:
    # The response cache keys on the URL: a trimmed and a whole response never mix.
    whole = api.get("/api/v1/articles").json()
    trimmed = api.get("/api/v1/articles?fields=title").json()
    assert api.get("/api/v1/articles").json() == whole
    assert api.get("/api/v1/articles?fields=title").json() == trimmed
    assert list(trimmed["items"][0]) == ["title"]


@pytest.mark.parametrize(
    ("url", "reasons"),
    [
        ("/api/v1/articles?fields=id,bogus", ["unknown field 'bogus'"]),
        ("/api/v1/articles?fields=nope,title,Id", ["unknown field 'nope'", "unknown field 'Id'"]),
        ("/api/v1/articles?fields=body", ["unknown field 'body'"]),  # only on the detail
        ("/api/v1/articles?fields=id,highlight", ["highlight is only there with a search"]),
        ("/api/v1/articles?fields=", ["names no field"]),
        ("/api/v1/articles?fields=,,", ["names no field"]),
        ("/api/v1/articles/1?fields=title,highlight", ["unknown field 'highlight'"]),
        ("/api/v1/articles/1?fields=source.name", ["unknown field 'source.name'"]),
    ],
)
def test_unknown_fields_are_a_400_naming_them(
    api: TestClient, url: str, reasons: list[str]
) -> None:
    response = api.get(url)
    assert response.status_code == 400
    assert response.headers["content-type"] == "application/problem+json"
    errors = response.json()["errors"]
    assert [error["name"] for error in errors] == ["fields"] * len(reasons)
    for error, reason in zip(errors, reasons, strict=True):
        assert reason in error["reason"]
    if "unknown" in reasons[0]:
        assert "known: id, url, title" in errors[0]["reason"]


def test_the_schema_documents_the_whole_shapes(api: TestClient) -> None:
    schema = api.get("/openapi.json").json()
    components = schema["components"]["schemas"]
    item = components["ArticleListItem"]["properties"]
    assert {"id", "title", "authors", "source", "excerpt", "highlight"} <= set(item)
    assert {"body", "paragraphs", "photo_credit"} <= set(components["Article"]["properties"])
    # Any field may be left out by `fields`, so none is required of an article.
    assert "required" not in components["Article"]
    assert components["ArticlePage"]["required"] == ["items", "total", "limit", "next_cursor"]
    params = schema["paths"]["/api/v1/articles"]["get"]["parameters"]
    assert "fields" in {param["name"] for param in params}
