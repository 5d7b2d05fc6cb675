"""Read replicas and PgBouncer, on servers the suite starts itself (`pg_cluster`: a primary,
a streaming replica, PgBouncer in transaction pooling mode; scripts/pgcluster.py).

Which database answered is told by pausing the replica's replay (pg_wal_replay_pause): an
article ingested on the primary then exists there and not on the replica.
"""

import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
from fastapi import Request
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text

from app.config import Settings
from app.db import make_engine
from app.ingest.loader import ingest_paths
from app.main import create_app
from app.migrate import upgrade_to_head
from scripts import pgcluster
from scripts.benchkit import serve_api
from tests.factories import write_article
from tests.test_errors import problem
from tests.test_readonly import assert_serves_everything, loaded_database
from tests.test_response_cache import break_sessions

LISTING = "/api/v1/articles?limit=100"
SECRET = "test-secret"


@pytest.fixture(scope="module")
def news(pg_cluster: pgcluster.Cluster) -> Iterator[str]:
    """A migrated database on the cluster's primary (and so on its replica): its name."""
    name = f"news_{uuid.uuid4().hex[:8]}"
    pgcluster.add_database(pg_cluster, name)
    engine = make_engine(pg_cluster.primary.url(name))
    upgrade_to_head(engine)
    engine.dispose()
    pg_cluster.primary.sql("GRANT SELECT ON ALL TABLES IN SCHEMA public TO news_reader", name)
    yield name


class Archive:
    """The test's view of the cluster: its URLs, and ingesting into the primary."""

    def __init__(self, servers: pgcluster.Cluster, name: str, folder: Path) -> None:
        self.servers, self.name, self.folder = servers, name, folder
        self.primary_url = servers.primary.url(name)
        self.replica = servers.replicas[0]
        self.replica_url = self.replica.url(name)
        self.writer: Engine = make_engine(self.primary_url)
        self._count = 0

    def add(self, title: str) -> None:
        """Ingest one article into the primary (only ever the primary: the ingest's URL)."""
        self._count += 1
        folder = self.folder / f"batch{self._count}"
        write_article(folder, "a.txt", title=title, url=f"https://omsk.ru/news/{uuid.uuid4()}")
        assert ingest_paths(self.writer, [folder]).inserted == 1

    def replayed(self) -> None:
        self.servers.wait_replayed(self.replica)

    @contextmanager
    def paused(self) -> Iterator[None]:
        """The replica receives the primary's changes but does not apply them."""
        self.replica.sql("SELECT pg_wal_replay_pause()")
        try:
            yield
        finally:
            self.replica.sql("SELECT pg_wal_replay_resume()")

    @contextmanager
    def api(self, *, replicas: bool = True, **settings: Any) -> Iterator[TestClient]:
        chosen = Settings(
            database_url=self.primary_url,
            database_read_urls=[self.replica_url] if replicas else [],
            cursor_secret=SECRET,
            **settings,
        )
        with TestClient(create_app(chosen), raise_server_exceptions=False) as client:
            yield client


@pytest.fixture
def archive(pg_cluster: pgcluster.Cluster, news: str, tmp_path: Path) -> Iterator[Archive]:
    made = Archive(pg_cluster, news, tmp_path)
    with made.writer.begin() as conn:
        conn.execute(text("DELETE FROM article_authors; DELETE FROM articles"))
    made.replayed()
    yield made
    made.writer.dispose()


def titles(client: TestClient, **headers: str) -> list[str]:
    response = client.get(LISTING, headers=headers)
    assert response.status_code == 200, response.text
    return [item["title"] for item in response.json()["items"]]


def replica_health(client: TestClient) -> dict[str, Any]:
    body = client.get("/api/v1/health").json()
    return next(db for db in body["databases"] if db["role"] == "replica")


def wait_for(condition: Callable[[], bool], timeout: float = 15) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.1)


def test_reads_go_to_the_replica_and_show_an_article_once_it_is_replayed(
    archive: Archive,
) -> None:
    with archive.api(max_replica_lag_s=60) as client, archive.api(replicas=False) as direct:
        wait_for(lambda: replica_health(client)["reads"] is True)
        health = client.get("/api/v1/health").json()
        # How far behind the replica is depends on when it last replayed: a number within
        # the allowed lag, not an exact one.
        lag = health["databases"][1].pop("lag_s")
        assert isinstance(lag, float) and 0 <= lag < 60
        assert health == {
            "status": "ok",
            "database": "ok",
            "databases": [
                {
                    "name": "primary",
                    "role": "primary",
                    "status": "ok",
                    "reads": False,
                    "lag_s": None,
                },
                {
                    "name": "replica-1",
                    "role": "replica",
                    "status": "ok",
                    "reads": True,
                },
            ],
        }
        with archive.paused():
            archive.add("Форум в Омске")
            assert titles(direct) == ["Форум в Омске"]  # on the primary
            assert titles(client) == []  # not yet on the replica, which serves the reads
        archive.replayed()
        assert titles(client) == ["Форум в Омске"]


def test_a_client_that_saw_newer_data_is_never_answered_with_older(archive: Archive) -> None:
    archive.add("Первая")
    archive.replayed()
    with archive.api(max_replica_lag_s=60) as client, archive.api(replicas=False) as direct:
        old = client.get(LISTING)
        assert old.status_code == 200
        with archive.paused():
            archive.add("Вторая")
            new = direct.get(LISTING)
            assert new.headers["etag"] != old.headers["etag"]
            # The replica is at the old version (and has the listing cached under it); this
            # client has seen the new one: the primary answers, where that version is current.
            for _ in range(2):  # through the fast path, then with the entry cached
                again = client.get(LISTING, headers={"If-None-Match": new.headers["etag"]})
                assert again.status_code == 304
                assert again.headers["etag"] == new.headers["etag"]
            # Any of our ETags tells what the client has seen, whatever URL it came with.
            other = client.get(
                "/api/v1/articles?limit=50", headers={"If-None-Match": new.headers["etag"]}
            )
            assert other.status_code == 200
            assert [item["title"] for item in other.json()["items"]] == ["Вторая", "Первая"]
            # A client at the replica's version is told so: it is no fresher than the replica.
            same = client.get(LISTING, headers={"If-None-Match": old.headers["etag"]})
            assert same.status_code == 304
            assert titles(client) == ["Первая"]
        archive.replayed()
        caught_up = client.get(LISTING, headers={"If-None-Match": old.headers["etag"]})
        assert caught_up.status_code == 200
        assert caught_up.headers["etag"] == new.headers["etag"]
        assert [item["title"] for item in caught_up.json()["items"]] == ["Вторая", "Первая"]


def test_a_cursor_made_on_one_database_pages_on_another(archive: Archive) -> None:
    for i in range(5):
        archive.add(f"Статья {i}")
    archive.replayed()
    with archive.api() as client, archive.api(replicas=False) as direct:
        first = direct.get("/api/v1/articles?limit=2").json()
        path = f"/api/v1/articles?limit=2&cursor={first['next_cursor']}"
        on_primary, on_replica = direct.get(path), client.get(path)
        assert on_replica.status_code == 200
        assert on_replica.json() == on_primary.json()
        assert [item["title"] for item in on_replica.json()["items"]] == ["Статья 2", "Статья 1"]


def test_a_lagging_replica_leaves_the_rotation_and_comes_back(archive: Archive) -> None:
    with archive.api(max_replica_lag_s=1) as client:
        assert replica_health(client)["reads"] is True
        with archive.paused():
            archive.add("Свежая")
            # Reads stay on the replica (old data) until the lag passes 1 s, then go to
            # the primary, which has the article.
            wait_for(lambda: replica_health(client)["status"] == "lagging")
            health = replica_health(client)
            assert health["reads"] is False and health["lag_s"] > 1
            assert titles(client) == ["Свежая"]
        wait_for(lambda: replica_health(client)["reads"] is True)
        # Back in rotation: caught up to within the allowed lag (how far depends on when
        # it last replayed, so not exactly 0).
        assert 0 <= replica_health(client)["lag_s"] <= 1


@contextmanager
def load(base: str, paths: list[str], threads: int = 4) -> Iterator[list[tuple[float, int]]]:
    """Threads GET paths round and round until the block ends: (time, status) of each."""
    results: list[tuple[float, int]] = []
    done = threading.Event()

    def run() -> None:
        with httpx.Client(base_url=base, timeout=30) as session:
            while not done.is_set():
                for path in paths:
                    try:
                        status = session.get(path).status_code
                    except httpx.HTTPError:
                        status = -1
                    results.append((time.monotonic(), status))

    workers = [threading.Thread(target=run) for _ in range(threads)]
    for worker in workers:
        worker.start()
    try:
        yield results
    finally:
        done.set()
        for worker in workers:
            worker.join(timeout=60)


def test_a_replica_outage_under_load_costs_no_request_and_it_comes_back(
    archive: Archive,
) -> None:
    for i in range(3):
        archive.add(f"Статья {i}")
    archive.replayed()
    env = {
        "DATABASE_READ_URLS": archive.replica_url,
        "RESPONSE_CACHE_BYTES": "0",  # every request reads a database
        "MAX_REPLICA_LAG_S": "30",
        "CURSOR_SECRET": SECRET,
    }
    paths = [LISTING, "/api/v1/articles/facets", "/api/v1/sources", "/api/v1/articles?q=статья"]
    with serve_api(archive.primary_url, env=env) as server:

        def replica() -> dict[str, Any]:
            body = httpx.get(server.base + "/api/v1/health").json()
            return dict(body["databases"][1])

        with load(server.base, paths) as results:
            time.sleep(1)
            archive.replica.stop("fast")  # cuts the replica's sessions mid-query
            stopped = time.monotonic()
            wait_for(lambda: replica()["status"] == "down")
            time.sleep(1.5)  # reads go on, from the primary
            archive.replica.start()
            restarted = time.monotonic()
            wait_for(lambda: replica()["reads"] is True, timeout=30)
            time.sleep(0.5)
        statuses = [status for _, status in results]
        assert statuses and set(statuses) == {200}, {s: statuses.count(s) for s in set(statuses)}
        during = [status for at, status in results if stopped < at < restarted]
        assert len(during) > 20, len(during)
        # Back in the rotation, the replica answers reads again: with its replay paused,
        # an article new on the primary is not seen.
        with archive.paused():
            archive.add("Только на основной")
            listing = httpx.get(server.base + LISTING).json()
            assert "Только на основной" not in [item["title"] for item in listing["items"]]


def test_pgbouncer_serves_the_api_with_a_select_only_role(
    pg_cluster: pgcluster.Cluster, tmp_path: Path
) -> None:
    # A database of its own, whose first ids are the ones every_endpoint() asks for.
    name = f"news_ro_{uuid.uuid4().hex[:8]}"
    pgcluster.add_database(pg_cluster, name)
    url = loaded_database(lambda _backend: pg_cluster.primary.url(name), "postgresql", tmp_path)
    pg_cluster.primary.sql("GRANT SELECT ON ALL TABLES IN SCHEMA public TO news_reader", name)
    pg_cluster.wait_replayed(pg_cluster.replicas[0])
    assert pg_cluster.pooler is not None and url.endswith(name)
    primary = pg_cluster.pooler.url(name, "news_reader")
    replica = pg_cluster.pooler.url(f"{name}_replica1", "news_reader")
    settings = Settings(database_url=primary, database_read_urls=[replica], response_cache_bytes=0)
    assert_serves_everything(settings)
    with TestClient(create_app(settings)) as client:
        assert replica_health(client)["reads"] is True  # probed through PgBouncer too


def test_the_old_statement_timeout_route_is_refused_by_pgbouncer(archive: Archive) -> None:
    # Why the timeout is a SET LOCAL per transaction: PgBouncer refuses startup options.
    assert archive.servers.pooler is not None
    conninfo = f"host=127.0.0.1 port={archive.servers.pooler.port} dbname={archive.name}"
    with pytest.raises(psycopg.OperationalError, match="unsupported startup parameter: options"):
        psycopg.connect(conninfo + " user=postgres options='-c statement_timeout=100'")


def test_statement_timeout_applies_through_pgbouncer(archive: Archive) -> None:
    assert archive.servers.pooler is not None
    pooled = archive.servers.pooler.url(archive.name, "news_reader")
    settings = Settings(database_url=pooled, statement_timeout_ms=300, response_cache_bytes=0)
    app = create_app(settings)

    def slow(request: Request) -> dict[str, Any]:
        with request.app.state.sessionmaker() as session:
            return {"slept": session.execute(text("SELECT pg_sleep(3) IS NULL")).scalar()}

    app.add_api_route("/api/v1/slow", slow)
    with TestClient(app, raise_server_exceptions=False) as client:
        started = time.monotonic()
        assert problem(client.get("/api/v1/slow"), 504)["type"] == "/problems/query-timeout"
        assert time.monotonic() - started < 2.5
        for _ in range(3):  # the pooled server connection is fine, and keeps no timeout
            assert client.get("/api/v1/health").status_code == 200
    with psycopg.connect(pgcluster_conninfo(pooled), autocommit=True) as conn:
        assert conn.execute("SHOW statement_timeout").fetchone() == ("0",)


def pgcluster_conninfo(url: str) -> str:
    return url.replace("postgresql+psycopg://", "postgresql://")


def test_the_fast_path_reads_the_version_through_pgbouncer(archive: Archive) -> None:
    # The fast path's version reader is one autocommit connection per process, which
    # psycopg would switch to a prepared statement after 5 reads; through transaction
    # pooling the next read may run on a server connection without it, or where another
    # process prepared the same name. Two apps here share PgBouncer's server connections,
    # and only the fast path can answer them (their sessions are broken).
    archive.add("Статья")
    archive.replayed()
    pooler = archive.servers.pooler
    assert pooler is not None
    settings = Settings(
        database_url=pooler.url(archive.name),
        database_read_urls=[pooler.url(f"{archive.name}_replica1")],
        cursor_secret=SECRET,
    )
    with (
        TestClient(create_app(settings), raise_server_exceptions=False) as one,
        TestClient(create_app(settings), raise_server_exceptions=False) as other,
    ):
        for client in (one, other):
            assert client.get(LISTING).status_code == 200  # cached
            break_sessions(client)
        for _ in range(20):
            for client in (one, other):
                assert client.get(LISTING).status_code == 200
