"""The TypeScript client (clients/typescript): its committed OpenAPI document and generated
types match the API as it is now, and its own tests (Node's test runner) pass against a
live server on each database.

Node and npm are the machine's; `npm ci` installs the client's pinned tools from its
package-lock.json when node_modules is missing or older than the lock. Without node or
npm these tests skip, saying so, except under CI=true, where they fail.
"""

import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from app.config import ROOT
from app.queries.keys import create_key
from scripts.openapi import document
from tests.factories import write_article
from tests.servers import uvicorn_server

CLIENT = ROOT / "clients" / "typescript"
REGENERATE = "run `make client` and commit clients/typescript/openapi.json and src/schema.d.ts"
AUTHORS = ("Анна Первая", "Борис Второй", "Вера Третья")


def _run(*command: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        command,
        cwd=CLIENT,
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        timeout=300,
        check=False,
    )


@pytest.fixture(scope="session")
def node_modules() -> Path:
    missing = [tool for tool in ("node", "npm") if shutil.which(tool) is None]
    if missing:
        reason = f"{' and '.join(missing)} not found: the TypeScript client is not tested"
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail(f"{reason} (CI=true: these tests must run, not skip)")
        pytest.skip(reason)
    installed = CLIENT / "node_modules" / ".package-lock.json"
    lock = CLIENT / "package-lock.json"
    if not installed.exists() or installed.stat().st_mtime < lock.stat().st_mtime:
        result = _run("npm", "ci", "--no-audit", "--no-fund")
        assert result.returncode == 0, f"npm ci failed:\n{result.stdout}\n{result.stderr}"
    return CLIENT / "node_modules"


def test_the_committed_document_and_types_are_current(node_modules: Path, tmp_path: Path) -> None:
    committed = (CLIENT / "openapi.json").read_text(encoding="utf-8")
    assert committed == document(), f"clients/typescript/openapi.json is out of date: {REGENERATE}"
    generated = tmp_path / "schema.d.ts"
    result = _run(
        str(node_modules / ".bin" / "openapi-typescript"),
        "openapi.json",
        "--output",
        str(generated),
    )
    assert result.returncode == 0, result.stderr
    assert generated.read_text(encoding="utf-8") == (CLIENT / "src" / "schema.d.ts").read_text(
        encoding="utf-8"
    ), f"clients/typescript/src/schema.d.ts is out of date: {REGENERATE}"


@pytest.fixture
def archive(engine: Engine, corpus: Path, ingest) -> dict[str, str]:  # type: ignore[no-untyped-def]
    """23 articles by three authors, one about «ледоход»; a key allowed 3 requests an hour."""
    for n in range(23):
        write_article(
            corpus,
            f"{n}.txt",
            url=f"https://ts.example/{n}",
            title="Ледоход на Иртыше" if n == 7 else f"Новость {n}",
            authors=[AUTHORS[n % 3]],
            published=f"2020-01-{n + 1:02}T10:00:00+03:00",
        )
    assert ingest(corpus).inserted == 23
    with Session(engine) as session, session.begin():
        limited, _ = create_key(session, "limited", "3/hour")
    return {
        "ARTICLES": "23",
        "AUTHORS": str(len(AUTHORS)),
        "AUTHOR": AUTHORS[0],
        "SEARCH_WORD": "ледоход",
        "LIMITED_KEY": limited,
    }


@pytest.fixture
def server(database_url: str, archive: dict[str, str]) -> Iterator[str]:
    env = {"API_KEYS": "optional", "RATE_LIMIT": "", "API_KEY_REFRESH_SECONDS": "0"}
    with uvicorn_server(database_url, env=env) as base:
        yield base


def test_the_client_against_a_live_server(
    node_modules: Path, server: str, archive: dict[str, str]
) -> None:
    served = httpx.get(f"{server}/openapi.json").json()
    assert served == json.loads(document()), "the served document is the one committed"
    result = _run("npm", "test", env={"API_BASE": server, **archive})
    assert result.returncode == 0, f"npm test failed:\n{result.stdout}\n{result.stderr}"
    assert "# fail 0" in result.stdout, result.stdout
