"""Health, and OpenAPI docs that render without internet access."""

import re

from fastapi.testclient import TestClient

from app.config import Settings
from app.main import create_app


def test_health_ok(client: TestClient) -> None:
    response = client.get("/api/v1/health")
    assert response.status_code == 200
    assert response.json() == {
        "status": "ok",
        "database": "ok",
        "databases": [
            {"name": "primary", "role": "primary", "status": "ok", "reads": True, "lag_s": None}
        ],
    }


def test_health_and_reads_answer_503_when_the_database_is_down() -> None:
    # Nothing listens on port 1: the app starts, and says the database is unavailable.
    settings = Settings(database_url="postgresql+psycopg://postgres@127.0.0.1:1/none")
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        for path in ("/api/v1/health", "/api/v1/articles"):
            response = client.get(path)
            assert response.status_code == 503, path
            assert response.headers["content-type"] == "application/problem+json"
            assert response.json()["type"] == "/problems/database-unavailable"


def test_docs_pages_use_only_local_assets(client: TestClient) -> None:
    for page in ("/docs", "/redoc"):
        html = client.get(page).text
        assets = re.findall(r'(?:src|href)="([^"]+)"', html) + re.findall(r"url: '([^']+)'", html)
        assert assets, page
        for asset in assets:
            assert not asset.startswith(("http://", "https://", "//")), (page, asset)
            if asset.endswith((".js", ".css")):
                assert client.get(asset).status_code == 200, asset
        assert "cdn.jsdelivr" not in html and "fonts.googleapis" not in html


def test_openapi_documents_every_parameter_and_error(client: TestClient) -> None:
    schema = client.get("/openapi.json").json()
    operation = schema["paths"]["/api/v1/articles"]["get"]
    params = {p["name"]: p for p in operation["parameters"]}
    assert {"from", "to", "author", "author_id", "source", "source_id", "language"} <= set(params)
    assert {"sort", "limit", "page", "cursor"} <= set(params)
    for path, methods in schema["paths"].items():
        for method, op in methods.items():
            for param in op.get("parameters", []):
                described = param.get("description") or param["schema"].get("description")
                assert described or param["in"] == "path", (path, method, param["name"])
            assert "422" not in op["responses"], (path, method)
    assert "application/problem+json" in operation["responses"]["400"]["content"]
