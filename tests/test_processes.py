"""Many API processes over one database: two separate processes on different ports, one of
them with two uvicorn workers. Each keeps a response cache of its own, and each stays
exact: an entry is keyed by the data version, which moves in the database with every
change, so a change made through any writer is seen by every process at its next request."""

from pathlib import Path

import httpx

from scripts.benchkit import serve_api
from tests.factories import write_article

LISTING = "/api/v1/articles?limit=5"


def titles(base: str) -> tuple[str, tuple[str, ...]]:
    """The data version named by the ETag (the rest of it hashes the URL, host and port
    included), and the titles listed. A new connection each time, so that the workers of
    one server take turns."""
    response = httpx.get(base + LISTING, headers={"Connection": "close"}, timeout=30)
    assert response.status_code == 200, response.text
    return response.headers["etag"].split("-")[0], tuple(
        item["title"] for item in response.json()["items"]
    )


def test_every_process_and_worker_sees_a_change_at_once(
    database_url: str,
    corpus: Path,
    ingest,  # type: ignore[no-untyped-def]
) -> None:
    write_article(corpus / "one", "a.txt", title="Первая", url="https://omsk.ru/news/1")
    ingest(corpus / "one")
    env = {"CURSOR_SECRET": "test-secret"}
    with (
        serve_api(database_url, env=env) as one,
        serve_api(database_url, "--workers", "2", env=env) as workers,
    ):
        bases = [one.base, *[workers.base] * 6]
        before = {titles(base) for base in bases}  # every cache now holds the listing
        assert before == {titles(one.base)}
        version, listed = before.pop()
        assert listed == ("Первая",)
        write_article(corpus / "two", "b.txt", title="Вторая", url="https://omsk.ru/news/2")
        ingest(corpus / "two")
        after = {titles(base) for base in bases}
        assert len(after) == 1
        new_version, listed = after.pop()
        assert new_version != version and listed == ("Вторая", "Первая")
