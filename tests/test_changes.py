"""The changes feed (/api/v1/changes): replaying it reproduces the archive, whatever
changed it and however, and a change committed later never appears before one already
handed out, even while writers overlap."""

import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Connection, Engine, create_engine, select, text
from sqlalchemy.pool import NullPool

from app.config import Settings
from app.databases import database_for
from app.ingest.loader import ingest_paths
from app.ingest.remove import delete_urls
from app.main import create_app
from app.models import Article
from tests.factories import write_article

CHANGES = "/api/v1/changes"
EXPORT = "/api/v1/articles/export?format=ndjson"

Mirror = dict[int, dict[str, Any]]


@pytest.fixture
def api(database_url: str) -> Iterator[TestClient]:
    app = create_app(Settings(database_url=database_url, cursor_secret="test-secret"))
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client


class Follower:
    """A client that mirrors the archive from the feed, keyed by article id."""

    def __init__(self, api: TestClient, limit: int = 2) -> None:
        self.api, self.limit = api, limit
        self.since = ""
        self.mirror: Mirror = {}
        self.seen: list[tuple[int, bool]] = []  # (id, deleted) in the order applied

    def poll(self) -> int:
        """Apply every change there is now; return how many."""
        applied = 0
        while True:
            answer = self.api.get(CHANGES, params={"since": self.since, "limit": self.limit})
            assert answer.status_code == 200, answer.text
            page = answer.json()
            for item in page["items"]:
                self.seen.append((item["id"], item["deleted"]))
                if item["deleted"]:
                    assert item["article"] is None
                    self.mirror.pop(item["id"], None)
                else:
                    assert item["article"]["id"] == item["id"]
                    assert item["article"]["url"] == item["url"]
                    self.mirror[item["id"]] = item["article"]
            applied += len(page["items"])
            if page["has_more"]:
                assert len(page["items"]) == self.limit
            self.since = page["next"]
            if not page["has_more"]:
                return applied


def archive(api: TestClient) -> Mirror:
    """Every article as the API serves it now (the export: /articles/{id} less paragraphs)."""
    answer = api.get(EXPORT)
    assert answer.status_code == 200
    rows = [json.loads(line) for line in answer.text.splitlines() if line]
    return {row["id"]: row for row in rows}


def by_hand(database_url: str, *statements: str) -> None:
    outside = create_engine(database_url, poolclass=NullPool)
    try:
        with outside.begin() as connection:
            for sql in statements:
                connection.execute(text(sql))
    finally:
        outside.dispose()


def write_five(folder: Path) -> None:
    for n in range(1, 6):
        write_article(
            folder,
            f"{n}.txt",
            url=f"https://news.example/{n}",
            title=f"Статья {n}",
            source="Первый источник" if n % 2 else "Второй источник",
            authors=[f"Автор {n}", "Общий Автор"],
            published=f"2020-01-0{n}T10:00:00+03:00",
        )


def test_replaying_the_feed_reproduces_the_archive(
    api: TestClient, corpus: Path, ingest, database_url: str, engine: Engine
) -> None:  # type: ignore[no-untyped-def]
    write_five(corpus)
    assert ingest(corpus).inserted == 5
    early = Follower(api)
    assert early.poll() == 5
    assert early.mirror == archive(api)
    first_ids = {a["url"]: id_ for id_, a in early.mirror.items()}

    # Updates by the ingest, deletions by the ingest's function and by hand, renames and
    # byline changes by hand, a deleted URL coming back.
    write_article(corpus, "2.txt", url="https://news.example/2", title="Новый заголовок")
    write_article(corpus, "6.txt", url="https://news.example/6", title="Шестая")
    report = ingest(corpus)
    assert (report.inserted, report.updated) == (1, 1)
    # The ingest's own engine: the API's only reads.
    assert len(delete_urls(engine, ["https://news.example/3"]).deleted) == 1
    by_hand(
        database_url,
        "DELETE FROM articles WHERE url = 'https://news.example/4'",
        "UPDATE sources SET name = 'Переименованный' WHERE name = 'Второй источник'",
        "UPDATE authors SET name = 'Другое Имя' WHERE name = 'Автор 1'",
        "DELETE FROM article_authors WHERE position = 1 AND article_id = "
        "(SELECT id FROM articles WHERE url = 'https://news.example/5')",
    )
    write_article(corpus, "7.txt", url="https://news.example/3", title="Третья снова")
    assert ingest(corpus / "7.txt").inserted == 1

    now = archive(api)
    assert {a["url"] for a in now.values()} == {
        f"https://news.example/{n}" for n in (1, 2, 3, 5, 6)
    }
    assert early.poll() > 0
    assert early.mirror == now  # a client that kept following
    late = Follower(api, limit=3)
    late.poll()
    assert late.mirror == now  # a client that starts now
    # Each article once, at its last change; the two deleted ones as tombstones.
    assert len(late.seen) == len({id_ for id_, _ in late.seen}) == 7
    tombstones = {id_ for id_, deleted in late.seen if deleted}
    assert tombstones == {first_ids["https://news.example/3"], first_ids["https://news.example/4"]}


def test_a_delete_by_hand_leaves_a_tombstone(
    api: TestClient, corpus: Path, ingest, database_url: str, backend: str
) -> None:  # type: ignore[no-untyped-def]
    write_five(corpus)
    ingest(corpus)
    follower = Follower(api, limit=100)
    follower.poll()
    gone = next(id_ for id_, a in follower.mirror.items() if a["url"].endswith("/1"))
    by_hand(database_url, "DELETE FROM articles WHERE url = 'https://news.example/1'")
    page = api.get(CHANGES, params={"since": follower.since}).json()
    assert page["items"] == [
        {"id": gone, "url": "https://news.example/1", "deleted": True, "article": None}
    ]
    # Emptying the table by hand (PostgreSQL's TRUNCATE fires no DELETE trigger).
    verb = "TRUNCATE articles CASCADE" if backend == "postgresql" else "DELETE FROM articles"
    by_hand(database_url, verb)
    follower.poll()
    assert follower.mirror == {} == archive(api)


def test_positions(api: TestClient, corpus: Path, ingest, database_url: str) -> None:  # type: ignore[no-untyped-def]
    empty = api.get(CHANGES).json()
    assert empty["items"] == [] and empty["has_more"] is False
    write_five(corpus)
    ingest(corpus)
    page = api.get(CHANGES, params={"limit": 2}).json()
    assert len(page["items"]) == 2 and page["has_more"] is True
    archive_id, seq = page["next"].split(".")
    # A position past the last change (a replica behind): nothing yet, same position.
    ahead = f"{archive_id}.{int(seq) + 1000}"
    assert api.get(CHANGES, params={"since": ahead}).json() == {
        "items": [],
        "next": ahead,
        "has_more": False,
    }
    # Another database's position: start again.
    other = api.get(CHANGES, params={"since": f"{'0' * 16}.{seq}"})
    assert other.status_code == 410
    assert other.headers["content-type"] == "application/problem+json"
    assert other.json()["type"] == "/problems/position-gone"
    for bad in ("abc", "1.2.3", f"{archive_id}.-1", f"{archive_id}.x"):
        answer = api.get(CHANGES, params={"since": bad})
        assert answer.status_code == 400, bad
        assert answer.json()["errors"][0]["name"] == "since"
    # An unchanged feed answers 304 to its ETag; a change moves it.
    first = api.get(CHANGES, params={"since": page["next"]})
    again = api.get(
        CHANGES, params={"since": page["next"]}, headers={"If-None-Match": first.headers["etag"]}
    )
    assert again.status_code == 304
    by_hand(database_url, "UPDATE articles SET title = 'x' WHERE url = 'https://news.example/1'")
    moved = api.get(
        CHANGES, params={"since": page["next"]}, headers={"If-None-Match": first.headers["etag"]}
    )
    assert moved.status_code == 200
    assert moved.json()["items"][-1]["article"]["title"] == "x"


def _writer(url: str) -> Engine:
    return create_engine(url, poolclass=NullPool, connect_args=_connect_args(url))


def _connect_args(url: str) -> dict[str, Any]:
    return {"timeout": 30} if url.startswith("sqlite") else {}


def _begin(connection: Connection, backend: str) -> None:
    if backend == "sqlite":
        connection.exec_driver_sql("BEGIN IMMEDIATE")


def test_a_change_committed_later_never_appears_before_one_handed_out(
    api: TestClient, corpus: Path, ingest, database_url: str, backend: str
) -> None:  # type: ignore[no-untyped-def]
    """Two writers overlap: T1 changes A, T2 starts changing B, T1 changes C and commits,
    a reader reads the feed to its end, and only then does T2 commit. The reader, going
    on from where it stopped, must still get B. If positions followed the order writers
    asked for them (a sequence's nextval) instead of the order they commit, B's would
    sit between A's and C's, behind the reader, and the reader would never see it."""
    write_five(corpus)
    ingest(corpus)
    reader = Follower(api, limit=100)
    reader.poll()
    t1_engine, t2_engine = _writer(database_url), _writer(database_url)
    t2_asking, t2_wrote, t2_may_commit = threading.Event(), threading.Event(), threading.Event()
    failures: list[BaseException] = []

    def t2() -> None:
        try:
            with t2_engine.connect() as connection:
                t2_asking.set()
                _begin(connection, backend)
                connection.execute(
                    text("UPDATE articles SET title = 'B' WHERE url = 'https://news.example/2'")
                )
                t2_wrote.set()
                assert t2_may_commit.wait(30)
                connection.commit()
        except BaseException as exc:  # reported by the main thread
            failures.append(exc)
            t2_wrote.set()

    try:
        with t1_engine.connect() as t1:
            _begin(t1, backend)
            t1.execute(text("UPDATE articles SET title = 'A' WHERE url = 'https://news.example/1'"))
            thread = threading.Thread(target=t2)
            thread.start()
            assert t2_asking.wait(10)
            time.sleep(0.5)  # T2's UPDATE is under way: waiting for T1, or done
            t1.execute(text("UPDATE articles SET title = 'C' WHERE url = 'https://news.example/3'"))
            t1.commit()
        assert t2_wrote.wait(30)
        reader.poll()  # T1 committed, T2 has written but not committed
        t2_may_commit.set()
        thread.join(30)
        assert not failures, failures
        reader.poll()
    finally:
        t2_may_commit.set()
        t1_engine.dispose()
        t2_engine.dispose()
    titles = {a["url"]: a["title"] for a in reader.mirror.values()}
    assert titles["https://news.example/1"] == "A"
    assert titles["https://news.example/3"] == "C"
    assert titles["https://news.example/2"] == "B", (
        "T2's change was skipped: positions broke commit order"
    )
    assert reader.mirror == archive(api)


def test_concurrent_ingests_and_a_follower(
    api: TestClient, tmp_path: Path, database_url: str
) -> None:
    """Three ingests write small batches at once while a client follows the feed; every
    position it is handed is higher than the last, and its copy ends equal to the archive."""
    folders = []
    for writer in range(3):
        folder = tmp_path / f"w{writer}"
        for n in range(24):
            write_article(
                folder,
                f"{n}.txt",
                url=f"https://w{writer}.example/{n}",
                title=f"Писатель {writer}, статья {n}",
                authors=[f"Автор {writer}"],
            )
        folders.append(folder)
    engines = [_writer(database_url) for _ in folders]
    errors: list[BaseException] = []

    def load(engine: Engine, folder: Path) -> None:
        try:
            ingest_paths(engine, [folder], batch_size=3)
        except BaseException as exc:
            errors.append(exc)

    follower = Follower(api, limit=5)
    threads = [
        threading.Thread(target=load, args=pair) for pair in zip(engines, folders, strict=True)
    ]
    for thread in threads:
        thread.start()
    positions = []
    while any(thread.is_alive() for thread in threads):
        follower.poll()
        positions.append(int(follower.since.split(".")[1]) if follower.since else 0)
    for thread in threads:
        thread.join()
    for engine in engines:
        engine.dispose()
    assert not errors, errors
    follower.poll()
    assert positions == sorted(positions)
    assert len(follower.mirror) == 72
    assert follower.mirror == archive(api)


def test_ids_of_removed_articles_are_never_reused(
    api: TestClient, corpus: Path, ingest, engine: Engine
) -> None:  # type: ignore[no-untyped-def]
    write_five(corpus)
    ingest(corpus)
    newest = max(archive(api))
    removed = delete_urls(engine, ["https://news.example/5"])
    assert [url for url, _ in removed.deleted] == ["https://news.example/5"]
    write_article(corpus, "8.txt", url="https://news.example/8")
    assert ingest(corpus / "8.txt").inserted == 1
    assert max(archive(api)) > newest


def test_story_ids_written_in_bulk_reach_the_feed_and_move_the_version(
    api: TestClient, corpus: Path, ingest, engine: Engine, database_url: str
) -> None:  # type: ignore[no-untyped-def]
    # The ingest writes story ids in bulk (SQLite: with the row triggers off, their work
    # done once): a follower still sees each article whose story moved, and caches go stale.
    write_five(corpus)
    ingest(corpus)
    follower = Follower(api, limit=100)
    follower.poll()
    etag = api.get("/api/v1/articles").headers["etag"]
    first, second, third = sorted(follower.mirror)[:3]
    with engine.begin() as connection:
        database = database_for(connection)
        database.begin_writing(connection)
        database.set_story_ids(connection, [(third, first), (second, first)])
    assert follower.poll() == 2
    assert set(follower.seen[-2:]) == {(third, False), (second, False)}
    assert follower.mirror == archive(api)
    assert follower.mirror[second]["story_id"] == follower.mirror[third]["story_id"] == first
    assert api.get("/api/v1/articles").headers["etag"] != etag
    # The triggers are back: a story id set by hand shows too.
    by_hand(database_url, f"UPDATE articles SET story_id = id WHERE id = {second}")
    assert follower.poll() == 1
    assert follower.mirror[second]["story_id"] == second


def test_articles_written_in_bulk_keep_to_the_seven_categories(
    corpus: Path, ingest, engine: Engine
) -> None:  # type: ignore[no-untyped-def]
    # The ingest's bulk insert (SQLite: without the category trigger, checked once per
    # statement instead) refuses a category outside the list, as a row insert does.
    write_five(corpus)
    ingest(corpus)
    articles = Article.__table__
    with engine.connect() as connection:
        first = connection.execute(select(articles).order_by(articles.c.id)).mappings().first()
    assert first is not None
    row = dict(first) | {"story_id": None}
    urls = {}
    for category, refused in (("sports", False), ("gossip", True)):
        urls[category] = f"https://news.example/{category}"
        try:
            with engine.connect() as connection, connection.begin():
                database = database_for(connection)
                database.begin_writing(connection)
                [new_id] = database.new_ids(connection, articles, 1)
                copy = row | {"id": new_id, "url": urls[category], "category": category}
                database.bulk_insert(connection, articles, [copy])
        except Exception as exc:  # PostgreSQL's COPY raises the driver's own error
            assert refused and "ck_articles_category" in str(exc), exc
        else:
            assert not refused
    with engine.connect() as connection:
        stored = connection.execute(
            text("SELECT url, category FROM articles WHERE url IN (:a, :b)"),
            {"a": urls["sports"], "b": urls["gossip"]},
        ).all()
    assert [tuple(r) for r in stored] == [(urls["sports"], "sports")]
