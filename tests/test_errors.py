"""Every error is RFC 9457 application/problem+json naming what was wrong."""

from typing import Any

import pytest
from fastapi.testclient import TestClient

from app.config import Settings
from app.main import create_app
from app.pagination import encode_cursor


def problem(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body: dict[str, Any] = response.json()
    assert body["status"] == status
    assert body["type"].startswith("/problems/")
    assert body["title"]
    assert body["detail"]
    assert "Traceback" not in response.text
    return body


@pytest.mark.parametrize(
    ("query", "param"),
    [
        ("from=yesterday", "from"),
        ("to=2019-13-45", "to"),
        ("from=2019-11-05&to=2019-11-01", "to"),
        ("limit=0", "limit"),
        ("limit=101", "limit"),
        ("limit=ten", "limit"),
        ("sort=title", "sort"),
        ("page=0", "page"),
        ("author_id=abc", "author_id"),
        ("source_id=0", "source_id"),
        ("source_id=99999999999", "source_id"),
        ("cursor=garbage", "cursor"),
        ("cursor=abc.def", "cursor"),
        ("page=2&cursor=abc.def", "page"),
        ("author=" + "&author=".join(["x"] * 51), "author"),
    ],
)
def test_invalid_parameters_are_named(client: TestClient, query: str, param: str) -> None:
    body = problem(client.get(f"/api/v1/articles?{query}"), 400)
    assert body["type"] == "/problems/invalid-parameters"
    assert param in [e["name"] for e in body["errors"]]
    assert all(e["reason"] for e in body["errors"])
    assert param in body["detail"]


def test_several_bad_parameters_are_all_named(client: TestClient) -> None:
    body = problem(client.get("/api/v1/articles?limit=0&sort=x"), 400)
    assert {e["name"] for e in body["errors"]} == {"limit", "sort"}


def test_tampered_cursor_is_rejected(client: TestClient) -> None:
    good = encode_cursor("test-secret", "-published_at", ["2019-11-06T00:00:00+00:00", 5])
    assert client.get(f"/api/v1/articles?cursor={good}").status_code == 200
    mac = good.split(".")[1]
    forged = encode_cursor("test-secret", "-published_at", ["2019-11-06T00:00:00+00:00", 6])
    tampered = forged.split(".")[0] + "." + mac
    body = problem(client.get(f"/api/v1/articles?cursor={tampered}"), 400)
    assert body["errors"][0]["name"] == "cursor"
    other_key = encode_cursor("another-secret", "-published_at", ["2019-11-06T00:00:00+00:00", 5])
    problem(client.get(f"/api/v1/articles?cursor={other_key}"), 400)
    wrong_sort = client.get(f"/api/v1/articles?cursor={good}&sort=published_at")
    assert "sort" in problem(wrong_sort, 400)["errors"][0]["reason"]
    wrong_shape = encode_cursor("test-secret", "-published_at", ["not a date", "x"])
    problem(client.get(f"/api/v1/articles?cursor={wrong_shape}"), 400)


def test_not_found_and_method_not_allowed(client: TestClient) -> None:
    problem(client.get("/api/v1/articles/123456"), 404)
    problem(client.get("/api/v1/nothing-here"), 404)
    problem(client.get("/api/v1/articles/abc"), 400)
    problem(client.post("/api/v1/articles"), 405)


def test_unexpected_failure_is_a_500_problem_without_internals(
    database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    app = create_app(Settings(database_url=database_url))

    def explode() -> None:
        raise RuntimeError("secret internal detail")

    app.add_api_route("/api/v1/explode", explode)
    with TestClient(app, raise_server_exceptions=False) as client:
        response = client.get("/api/v1/explode")
    body = problem(response, 500)
    assert "secret internal detail" not in response.text
    assert body["type"] == "/problems/internal-error"
    assert "secret internal detail" in caplog.text  # logged for the operator
