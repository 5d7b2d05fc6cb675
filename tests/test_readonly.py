"""The API needs nothing but reads: it serves every endpoint through a PostgreSQL role that
has only SELECT, and from a SQLite file opened read-only."""

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError

from app.config import Settings
from app.db import make_engine
from app.ingest.loader import ingest_paths
from app.main import create_app
from app.migrate import upgrade_to_head
from tests.factories import write_article


def loaded_database(make_database: Any, backend: str, folder: Path) -> str:
    url: str = make_database(backend)
    engine = make_engine(url)
    upgrade_to_head(engine)
    write_article(folder, "a.txt", url="https://fedpress.ru/news/1", title="Форум в Омске")
    write_article(folder, "b.txt", url="https://omsk.ru/news/2", authors=["Иван Петров"])
    assert ingest_paths(engine, [folder]).inserted == 2
    engine.dispose()
    return url


def every_endpoint(client: TestClient) -> list[str]:
    """Each GET path of the schema, with an id that exists, plus searches and pages."""
    paths = []
    for path in client.get("/openapi.json").json()["paths"]:
        for name in ("article_id", "source_id", "author_id", "story_id"):
            path = path.replace("{" + name + "}", "1")
        paths.append(path)
    first = client.get("/api/v1/articles?limit=1").json()
    return [
        *paths,
        "/api/v1/articles?q=форум",
        "/api/v1/articles?q=форум&sort=relevance&limit=1",
        f"/api/v1/articles?cursor={first['next_cursor']}&limit=1",
        "/api/v1/articles?author=Иван Петров&source=omsk.ru&page=1",
        "/api/v1/authors?q=ив&source=omsk.ru",
    ]


def assert_serves_everything(settings: Settings) -> None:
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        for path in every_endpoint(client):
            response = client.get(path)
            assert response.status_code == 200, (path, response.text)


@pytest.fixture
def select_only_url(make_database: Any, tmp_path: Path) -> Iterator[str]:
    url = loaded_database(make_database, "postgresql", tmp_path)
    role = f"news_reader_{uuid.uuid4().hex[:8]}"
    database = make_url(url).database
    owner = create_engine(url, isolation_level="AUTOCOMMIT")
    with owner.connect() as conn:
        conn.execute(text(f'CREATE ROLE "{role}" LOGIN'))
        conn.execute(text(f'GRANT CONNECT ON DATABASE "{database}" TO "{role}"'))
        conn.execute(text(f'GRANT USAGE ON SCHEMA public TO "{role}"'))
        conn.execute(text(f'GRANT SELECT ON ALL TABLES IN SCHEMA public TO "{role}"'))
    yield make_url(url).set(username=role).render_as_string(hide_password=False)
    with owner.connect() as conn:
        conn.execute(text(f'DROP OWNED BY "{role}"'))  # its grants, so the role can go
        conn.execute(text(f'DROP ROLE "{role}"'))
    owner.dispose()


def test_a_select_only_postgresql_role_serves_the_api(select_only_url: str) -> None:
    reader = create_engine(select_only_url)
    with reader.connect() as conn, pytest.raises(DBAPIError, match="permission denied"):
        conn.execute(text("UPDATE archive_state SET version = version + 1"))
    reader.dispose()
    assert_serves_everything(Settings(database_url=select_only_url, response_cache_bytes=0))


def test_a_read_only_sqlite_file_serves_the_api(make_database: Any, tmp_path: Path) -> None:
    url = loaded_database(make_database, "sqlite", tmp_path)
    path = make_url(url).database
    read_only = f"sqlite:///file:{path}?mode=ro&uri=true"
    reader = make_engine(read_only)
    with reader.connect() as conn, pytest.raises(DBAPIError, match="readonly"):
        conn.execute(text("UPDATE archive_state SET version = version + 1"))
    reader.dispose()
    assert_serves_everything(Settings(database_url=read_only, response_cache_bytes=0))
