"""A real uvicorn over a test database, for tests that need the server as users run it."""

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from app.config import ROOT

# The protocol that answers what uvicorn's parser refuses as problems (app.server).
HTTP = "--http=app.server:HttpToolsProtocol"
# The app logs each request itself.
SERVE = ("--no-access-log", HTTP)


@contextmanager
def uvicorn_server(
    database_url: str,
    *options: str,
    env: dict[str, str] | None = None,
    log: Path | None = None,
) -> Iterator[str]:
    """uvicorn app.main:app on a free 127.0.0.1 port, healthy before it is yielded: its
    base URL. Started as the Makefile and the Docker image start it (options come after,
    and win); its output goes to log. Stopped on exit."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    command = [sys.executable, "-m", "uvicorn", "app.main:app", "--host=127.0.0.1", *SERVE]
    with (log or Path(os.devnull)).open("ab") as output:
        process = subprocess.Popen(
            [*command, f"--port={port}", *options],
            cwd=ROOT,
            env={**os.environ, **(env or {}), "DATABASE_URL": database_url},
            stdout=output,
            stderr=output,
        )
        base = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 30
            while True:
                try:
                    if httpx.get(f"{base}/api/v1/health").status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                alive = process.poll() is None
                assert alive and time.monotonic() < deadline, "uvicorn did not start"
                time.sleep(0.1)
            yield base
        finally:
            process.terminate()
            process.wait(timeout=10)
