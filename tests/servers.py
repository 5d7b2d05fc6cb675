"""A real uvicorn over a test database, for tests that need the server as users run it.

The starter itself is scripts/benchkit.py's `serve_api`, which the benchmarks use too: it
starts uvicorn as the Makefile and the Docker image do.
"""

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from scripts.benchkit import serve_api

# The protocol that answers what uvicorn's parser refuses as problems (app.server).
HTTP = "--http=app.server:HttpToolsProtocol"


@contextmanager
def uvicorn_server(
    database_url: str,
    *options: str,
    env: dict[str, str] | None = None,
    log: Path | None = None,
) -> Iterator[str]:
    """uvicorn app.main:app on a free 127.0.0.1 port, healthy before it is yielded: its
    base URL. Started as the Makefile starts it (options come after, and win); its output
    goes to log. Stopped on exit."""
    with serve_api(database_url, *options, env=env, log_path=log) as server:
        yield server.base
