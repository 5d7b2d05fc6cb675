"""Database faults: the API answers 503 problem+json while PostgreSQL is out of reach or a
connection drops mid-request, and recovers by itself when it is back.

The shared PostgreSQL server is never stopped (other runs use it): the app reaches it
through a TCP proxy this test controls, which can cut every connection and refuse new
ones, then let them through again.
"""

import contextlib
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi import Request
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.engine import make_url

from app.config import Settings
from app.db import make_engine
from app.ingest.loader import ingest_paths
from app.main import create_app
from app.migrate import upgrade_to_head
from tests.factories import write_article
from tests.test_errors import problem


class Proxy:
    """127.0.0.1:<port> → target. While down, open connections are cut and new ones closed."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self.up = True
        self._lock = threading.Lock()
        self._open: list[socket.socket] = []
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self._closed = False
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while not self._closed:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            if not self.up:
                client.close()
                continue
            upstream = socket.create_connection(self.target)
            with self._lock:
                self._open += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    def _pump(self, source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        for sock in (source, sink):
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)

    def down(self) -> None:
        self.up = False
        with self._lock:
            sockets, self._open = self._open, []
        for sock in sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()

    def close(self) -> None:
        self._closed = True
        self.down()
        self._listener.close()


@pytest.fixture
def proxied(make_database: Any, tmp_path: Path) -> Iterator[tuple[TestClient, Proxy]]:
    url: str = make_database("postgresql")
    engine = make_engine(url)
    upgrade_to_head(engine)
    for i in range(3):
        write_article(tmp_path, f"{i}.txt", url=f"https://fedpress.ru/news/{i}")
    ingest_paths(engine, [tmp_path])
    engine.dispose()
    parsed = make_url(url)
    proxy = Proxy((parsed.host or "127.0.0.1", parsed.port or 5432))
    through_proxy = parsed.set(host="127.0.0.1", port=proxy.port)
    settings = Settings(
        database_url=through_proxy.render_as_string(hide_password=False),
        response_cache_bytes=0,  # every request must reach the database
    )
    app = create_app(settings)

    def slow(request: Request) -> dict[str, Any]:
        # Stands in for a long query, so the connection can be cut while it runs.
        with request.app.state.sessionmaker() as session:
            return {"slept": session.execute(text("SELECT pg_sleep(3) IS NULL")).scalar()}

    app.add_api_route("/api/v1/slow", slow)
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client, proxy
    proxy.close()


READS = ["/api/v1/health", "/api/v1/articles", "/api/v1/articles/facets", "/api/v1/sources"]


def assert_serving(client: TestClient) -> None:
    for path in READS:
        assert client.get(path).status_code == 200, path


def assert_unavailable(client: TestClient) -> None:
    for path in READS:
        started = time.monotonic()
        body = problem(client.get(path), 503)
        assert body["type"] == "/problems/database-unavailable", path
        assert time.monotonic() - started < 10, path  # an answer, not a hang


def test_database_outage_is_503_and_the_api_recovers(
    proxied: tuple[TestClient, Proxy],
) -> None:
    client, proxy = proxied
    assert_serving(client)
    proxy.down()
    assert_unavailable(client)
    response = client.get("/api/v1/articles")
    assert response.headers["retry-after"]
    # Back: the pooled connections are dead, and pre-ping replaces them on first use.
    proxy.up = True
    assert_serving(client)
    assert client.get("/api/v1/health").json() == {
        "status": "ok",
        "database": "ok",
        "databases": [
            {"name": "primary", "role": "primary", "status": "ok", "reads": True, "lag_s": None}
        ],
    }


def test_connection_dropped_mid_request_is_503(proxied: tuple[TestClient, Proxy]) -> None:
    client, proxy = proxied
    assert_serving(client)
    responses: list[Any] = []
    request = threading.Thread(target=lambda: responses.append(client.get("/api/v1/slow")))
    request.start()
    time.sleep(1)  # the query is running
    proxy.down()
    request.join(timeout=30)
    assert problem(responses[0], 503)["type"] == "/problems/database-unavailable"
    proxy.up = True
    assert_serving(client)
