"""One request reads one snapshot: every query of a request (its data version, its page,
its total) sees the archive as it was when the first one ran, whatever commits meanwhile.
So what is cached under a version is what that version holds (app.cache.version)."""

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from app.api.deps import ReplyDep
from app.cache.responses import Answer
from app.config import Settings
from app.ingest.loader import ingest_paths
from app.main import create_app
from app.models import Article
from tests.factories import write_article

# Run through PgBouncer (transaction pooling) too: tests/conftest.py.
THROUGH_PGBOUNCER = True


@pytest.fixture
def counting(database_url: str, engine: Engine, tmp_path: Path) -> Iterator[TestClient]:
    """An app with a route that counts the articles, lets an ingest commit one more, and
    counts again, all in one request."""
    write_article(tmp_path / "first", "a.txt", url="https://omsk.ru/news/1")
    ingest_paths(engine, [tmp_path / "first"])
    write_article(tmp_path / "second", "b.txt", url="https://omsk.ru/news/2")
    app = create_app(Settings(database_url=database_url, cursor_secret="test-secret"))

    def count_twice(reply: ReplyDep) -> object:
        def build(session: Session) -> Answer:
            before = session.scalar(select(func.count()).select_from(Article))
            assert ingest_paths(engine, [tmp_path / "second"]).inserted == 1  # commits
            after = session.scalar(select(func.count()).select_from(Article))
            return Answer(json.dumps({"before": before, "after": after}).encode())

        return reply(build)

    app.add_api_route("/api/v1/count-twice", count_twice)
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client


def test_a_request_reads_one_snapshot(counting: TestClient) -> None:
    version_before = counting.get("/api/v1/articles").headers["etag"].split("-")[0]
    during = counting.get("/api/v1/count-twice")
    assert during.status_code == 200, during.text
    assert during.json() == {"before": 1, "after": 1}
    # Named by the version it read, not the one the ingest made meanwhile.
    assert during.headers["etag"].split("-")[0] == version_before
    after = counting.get("/api/v1/articles")
    assert after.json()["total"] == 2
    assert after.headers["etag"].split("-")[0] != version_before
