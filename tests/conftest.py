"""Fixtures: every database test runs on SQLite and on PostgreSQL.

Each backend gets one throwaway database per test run, built by the Alembic migrations;
each test starts from empty tables. PostgreSQL is found at TEST_POSTGRES_URL (default:
postgres@127.0.0.1:5432). Where it is unreachable its tests skip with the reason, except
under CI (CI=true), where they fail.

`pg_cluster` starts a PostgreSQL primary, a streaming replica and a PgBouncer of the suite's
own (scripts/pgcluster.py), once per run. A module that sets THROUGH_PGBOUNCER = True runs
its database tests a third time, as backend "pgbouncer": the app and the ingest reach
that primary through PgBouncer in transaction pooling mode.
"""

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url

from app.config import Settings
from app.db import make_engine
from app.ingest.loader import IngestReport, ingest_paths
from app.main import create_app
from app.migrate import upgrade_to_head
from scripts import pgcluster

PG_SERVER_URL = os.environ.get(
    "TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
# Emptied before each test, in this order (article_changes last: deleting articles leaves
# tombstones there).
TABLES = (
    "article_signatures",
    "article_authors",
    "articles",
    "authors",
    "sources",
    "article_counts",
    "article_changes",
    "stories",
    "article_files",
    "api_keys",
)
BACKENDS = ("sqlite", "postgresql")


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


def _postgres_unreachable() -> str | None:
    try:
        engine = create_engine(PG_SERVER_URL, connect_args={"connect_timeout": 5})
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        engine.dispose()
    except Exception as exc:
        return f"PostgreSQL unreachable at {PG_SERVER_URL}: {exc}"
    return None


@pytest.fixture(scope="session")
def postgres_server() -> str:
    reason = _postgres_unreachable()
    if reason:
        if in_ci():
            pytest.fail(f"{reason} (CI=true: PostgreSQL tests must run, not skip)")
        pytest.skip(reason)
    return PG_SERVER_URL


@pytest.fixture(scope="session")
def pg_cluster() -> Iterator[pgcluster.Cluster]:
    """A primary, one streaming replica and PgBouncer in front, on free loopback ports."""
    reason = pgcluster.missing()
    if reason:
        if in_ci():
            pytest.fail(f"{reason} (CI=true: the replica and pooler tests must run, not skip)")
        pytest.skip(reason)
    with pgcluster.cluster(replicas=1, pooler=True, users=["postgres", "news_reader"]) as made:
        made.primary.sql("CREATE ROLE news_reader LOGIN")
        yield made


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "backend" in metafunc.fixturenames:
        pooled = ("pgbouncer",) if getattr(metafunc.module, "THROUGH_PGBOUNCER", False) else ()
        metafunc.parametrize("backend", [*BACKENDS, *pooled], indirect=True, scope="session")


@pytest.fixture(scope="session")
def make_database(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    """Factory: an empty, unmigrated database URL on a backend, dropped at the end."""
    created: list[str] = []

    def make(backend: str) -> str:
        if backend == "sqlite":
            return f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.db'}"
        if backend == "pgbouncer":
            servers: pgcluster.Cluster = request.getfixturevalue("pg_cluster")
            name = f"news_test_{uuid.uuid4().hex[:12]}"
            pgcluster.add_database(servers, name)
            assert servers.pooler is not None
            return servers.pooler.url(name)
        server = request.getfixturevalue("postgres_server")
        name = f"news_test_{uuid.uuid4().hex[:12]}"
        admin = create_engine(server, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        admin.dispose()
        created.append(name)
        return make_url(server).set(database=name).render_as_string(hide_password=False)

    yield make
    if created:
        admin = create_engine(PG_SERVER_URL, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            for name in created:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(scope="session")
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(scope="session")
def migrated_url(backend: str, make_database) -> str:  # type: ignore[no-untyped-def]
    url: str = make_database(backend)
    engine = make_engine(url)
    upgrade_to_head(engine)
    engine.dispose()
    return url


@pytest.fixture(scope="session")
def session_engine(migrated_url: str) -> Iterator[Engine]:
    engine = make_engine(migrated_url)
    yield engine
    engine.dispose()


@pytest.fixture
def engine(session_engine: Engine) -> Engine:
    """The backend's migrated database, emptied for this test."""
    with session_engine.begin() as conn:
        for table in TABLES:
            conn.execute(text(f"DELETE FROM {table}"))
    return session_engine


@pytest.fixture
def database_url(engine: Engine, migrated_url: str) -> str:
    return migrated_url


@pytest.fixture
def client(database_url: str) -> Iterator[TestClient]:
    app = create_app(Settings(database_url=database_url, cursor_secret="test-secret"))
    with TestClient(app, raise_server_exceptions=False) as test_client:
        yield test_client


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    folder = tmp_path / "articles"
    folder.mkdir()
    return folder


@pytest.fixture
def ingest(engine: Engine):  # type: ignore[no-untyped-def]
    """ingest(*paths) loads files or folders into this test's database."""

    def run(*paths: Path, batch_size: int = 500, workers: int = 1) -> IngestReport:
        return ingest_paths(engine, list(paths), batch_size=batch_size, workers=workers)

    return run
