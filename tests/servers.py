"""A real uvicorn over a test database, for tests that need the server as users run it.

The starter itself is scripts/benchkit.py's `serve_api`, which the benchmarks use too.
"""

from collections.abc import Iterator
from contextlib import contextmanager

from scripts.benchkit import serve_api


@contextmanager
def uvicorn_server(
    database_url: str, *options: str, env: dict[str, str] | None = None
) -> Iterator[str]:
    """uvicorn app.main:app on a free 127.0.0.1 port, healthy before it is yielded: its
    base URL. Stopped on exit."""
    with serve_api(database_url, *options, env=env) as server:
        yield server.base
