"""Ingest crash safety: SIGKILL mid-run, re-run, and the database equals one clean run;
and an ingest running while the API serves reads costs the readers nothing."""

import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text

from app.config import ROOT, Settings
from app.db import make_engine
from app.ingest.loader import ingest_paths
from app.main import create_app
from app.migrate import upgrade_to_head
from tests.test_generate_corpus import gen

FILES = 2000
BATCH = 100


@pytest.fixture(scope="module")
def big_corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Deterministic articles with duplicates (same and edited) and malformed files."""
    folder = tmp_path_factory.mktemp("crash-corpus")
    gen.generate(FILES, folder, seed=11, malformed_rate=0.003, duplicate_rate=0.01)
    return folder


def fresh_database(make_database: Any, backend: str) -> tuple[str, Engine]:
    url: str = make_database(backend)
    engine = make_engine(url)
    upgrade_to_head(engine)
    return url, engine


def start_ingest(url: str, corpus: Path) -> subprocess.Popen[str]:
    """scripts/ingest.py in a process group of its own, so a kill takes its workers too."""
    env = {**os.environ, "DATABASE_URL": url}
    command = ["scripts/ingest.py", "--quiet", f"--batch-size={BATCH}", "--workers=2", str(corpus)]
    return subprocess.Popen(
        [sys.executable, *command],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )


def count(engine: Engine, table: str) -> int:
    with engine.connect() as conn:
        return int(conn.scalar(text(f"SELECT count(*) FROM {table}")) or 0)


def index_rows(engine: Engine) -> set[tuple[Any, ...]]:
    """The search index, keyed by article URL (ids differ between databases)."""
    if engine.dialect.name == "postgresql":
        sql = (
            "SELECT a.url, s.vector::text FROM article_search s "
            "JOIN articles a ON a.id = s.article_id"
        )
    else:
        sql = (
            "SELECT a.url, f.title, f.body FROM articles_fts f "
            "JOIN articles a ON a.id = f.rowid & 268435455"  # the key's article id
        )
    with engine.connect() as conn:
        return {tuple(row) for row in conn.execute(text(sql))}


def snapshot(engine: Engine) -> dict[str, Any]:
    """Everything the ingest wrote, without ids or the times of writing."""
    queries = {
        "sources": "SELECT name, name_key, domain FROM sources",
        "authors": "SELECT name, name_key FROM authors",
        "articles": (
            "SELECT a.url, a.title, a.published_at, a.published_offset_minutes, s.name, "
            "s.domain, a.language, a.word_count, a.excerpt, a.body, a.photo_credit, "
            "a.content_hash FROM articles a JOIN sources s ON s.id = a.source_id"
        ),
        "bylines": (
            "SELECT a.url, b.position, au.name, b.published_at FROM article_authors b "
            "JOIN articles a ON a.id = b.article_id JOIN authors au ON au.id = b.author_id"
        ),
    }
    result: dict[str, Any] = {}
    with engine.connect() as conn:
        for name, sql in queries.items():
            rows = [tuple(row) for row in conn.execute(text(sql))]
            assert len(rows) == len(set(rows)), f"duplicate {name}"
            result[name] = Counter(rows)
    result["index"] = index_rows(engine)
    return result


def assert_whole(engine: Engine) -> None:
    """No half-written article: each has its index entry and its whole byline."""
    assert count(engine, "articles") == len(index_rows(engine))
    index_table = "article_search" if engine.dialect.name == "postgresql" else "articles_fts"
    assert count(engine, index_table) == count(engine, "articles")
    with engine.connect() as conn:
        gaps = conn.scalar(
            text(
                "SELECT count(*) FROM (SELECT article_id FROM article_authors "
                "GROUP BY article_id HAVING max(position) + 1 <> count(*)) g"
            )
        )
        assert gaps == 0
        if engine.dialect.name == "sqlite":
            conn.execute(text("INSERT INTO articles_fts(articles_fts) VALUES ('integrity-check')"))


def test_killed_ingest_rerun_equals_a_clean_run(
    backend: str, make_database: Any, big_corpus: Path
) -> None:
    _, clean = fresh_database(make_database, backend)
    report = ingest_paths(clean, [big_corpus], batch_size=BATCH)
    assert report.inserted > 0 and report.updated > 0 and report.rejected

    url, crashed = fresh_database(make_database, backend)
    process = start_ingest(url, big_corpus)
    deadline = time.monotonic() + 60
    # Kill once a few batches are in: mid-run, with more batches to come.
    while count(crashed, "articles") < 3 * BATCH:
        assert process.poll() is None, process.communicate()
        assert time.monotonic() < deadline, "the ingest wrote nothing in a minute"
        time.sleep(0.02)
    os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=30)
    assert process.returncode == -signal.SIGKILL
    loaded = count(crashed, "articles")
    assert 0 < loaded < report.inserted, "the kill did not land mid-run"
    assert_whole(crashed)

    rerun = start_ingest(url, big_corpus)
    out, err = rerun.communicate(timeout=300)
    assert rerun.returncode == 1, err  # 1: the corpus has malformed files, reported
    assert f"rejected: {len(report.rejected)}" in out

    assert_whole(crashed)
    assert snapshot(crashed) == snapshot(clean)
    clean.dispose()
    crashed.dispose()


def test_ingest_while_the_api_serves_reads(
    backend: str, make_database: Any, big_corpus: Path
) -> None:
    url, engine = fresh_database(make_database, backend)
    app = create_app(Settings(database_url=url, response_cache_bytes=0))
    failures: list[str] = []
    served = Counter[str]()
    done = threading.Event()
    paths = [
        "/api/v1/articles?limit=50",
        "/api/v1/articles?q=форум",
        "/api/v1/articles/facets",
        "/api/v1/sources",
        "/api/v1/authors",
        "/api/v1/articles/1",
        "/api/v1/health",
    ]

    def read(client: TestClient, offset: int) -> None:
        i = offset
        while not done.is_set():
            path = paths[i % len(paths)]
            response = client.get(path)
            served[path] += 1
            if response.status_code not in (200, 404):  # article 1 may not be in yet
                failures.append(f"{path}: {response.status_code} {response.text[:200]}")
            i += 1

    with TestClient(app, raise_server_exceptions=False) as client:
        readers = [threading.Thread(target=read, args=(client, n)) for n in range(2)]
        for reader in readers:
            reader.start()
        try:
            process = start_ingest(url, big_corpus)
            _, err = process.communicate(timeout=300)
        finally:
            done.set()
            for reader in readers:
                reader.join()
        assert process.returncode == 1, err
        assert not failures, failures[:5]
        assert sum(served.values()) > 20, served
        total = client.get("/api/v1/articles").json()["total"]
    assert total == count(engine, "articles") > 0
    engine.dispose()
