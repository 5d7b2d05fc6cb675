"""The reader page's files as the app serves them (the browser tests drive the page)."""

from fastapi.testclient import TestClient

from app.reader import WEB


def test_root_serves_the_reader_page_under_a_strict_policy(client: TestClient) -> None:
    response = client.get("/")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert response.text == (WEB / "index.html").read_text(encoding="utf-8")
    policy = response.headers["content-security-policy"]
    assert "default-src 'self'" in policy and "unsafe-inline" not in policy


def test_the_page_loads_only_its_own_files(client: TestClient) -> None:
    html = client.get("/").text
    for asset in ("static/reader.js", "static/reader.css"):
        assert f'"{asset}"' in html
        response = client.get(f"/{asset}")
        assert response.status_code == 200, asset
    assert client.get("/static/reader.js").headers["content-type"].startswith("text/javascript")
    for text in (html, client.get("/static/reader.js").text, client.get("/static/reader.css").text):
        assert "http://" not in text and "https://" not in text and "//cdn" not in text
    assert "innerHTML" not in client.get("/static/reader.js").text


def test_missing_files_are_problems_and_limits_still_apply(client: TestClient) -> None:
    response = client.get("/static/nothing.js")
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"
    assert client.get("/static/" + "a" * 9000).status_code == 414
    assert client.get("/static/%2e%2e/reader.py").status_code == 404  # app/reader.py


def test_the_page_is_not_part_of_the_api_schema(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    assert all(path.startswith("/api/v1/") for path in paths)


def test_redoc_may_only_load_images_from_the_app(client: TestClient) -> None:
    assert client.get("/redoc").headers["content-security-policy"] == "img-src 'self' data:"
    assert "content-security-policy" not in client.get("/docs").headers
    assert "content-security-policy" not in client.get("/api/v1/health").headers
