"""Ingest into each backend: bad files rejected with reasons, re-runs idempotent."""

import json
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select
from sqlalchemy.engine import make_url

from app.databases.sqlite import WRITER_CHECKPOINT_PAGES
from app.db import make_engine
from app.ingest.loader import ingest_paths
from app.models import Article, ArticleAuthor, Author, Source
from tests.factories import article_text, write_article

ROOT = Path(__file__).resolve().parent.parent


def counts(engine: Engine) -> dict[str, int]:
    with engine.connect() as conn:
        return {
            model.__tablename__: conn.scalar(select(func.count()).select_from(model)) or 0
            for model in (Article, ArticleAuthor, Author, Source)
        }


def write_bad_files(folder: Path) -> dict[str, str]:
    """Each kind of bad input, by file name, with a word its rejection must name."""
    (folder / "empty.txt").write_bytes(b"")
    (folder / "binary.txt").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00IHDR\x00")
    (folder / "cp1251.txt").write_bytes(article_text(title="Новости").encode("cp1251"))
    (folder / "no_title.txt").write_text(article_text().replace("# ", "", 1))
    (folder / "no_date.txt").write_text(article_text(published=None))
    (folder / "bad_date.txt").write_text(article_text(published="31.02.2019 25:61"))
    (folder / "no_source.txt").write_text(article_text(source=None))
    return {
        "empty.txt": "empty",
        "binary.txt": "binary",
        "cp1251.txt": "UTF-8",
        "no_title.txt": "title",
        "no_date.txt": "Published at",
        "bad_date.txt": "date",
        "no_source.txt": "Original",
    }


def test_bad_files_are_rejected_and_good_files_still_load(engine, corpus, ingest) -> None:  # type: ignore[no-untyped-def]
    expected = write_bad_files(corpus)
    write_article(corpus, "good1.txt", url="https://a.ru/1")
    write_article(corpus, "sub/good2.txt", url="https://a.ru/2")
    (corpus / "notes.md").write_text("not an article, not a .txt")

    report = ingest(corpus)

    assert report.read == 9
    assert report.inserted == 2
    rejected = {Path(path).name: reason for path, reason in report.rejected}
    assert set(rejected) == set(expected)
    for name, word in expected.items():
        assert word.lower() in rejected[name].lower(), (name, rejected[name])
    assert counts(engine)["articles"] == 2


def test_worker_processes_load_the_same(engine, corpus, ingest, client) -> None:  # type: ignore[no-untyped-def]
    expected = write_bad_files(corpus)
    for i in range(40):
        write_article(corpus, f"ok/{i:03}.txt", url=f"https://a.ru/{i % 35}", title=f"t{i}")
    report = ingest(corpus, workers=2, batch_size=7)
    assert report.read == 40 + len(expected)
    assert sorted(Path(p).name for p, _ in report.rejected) == sorted(expected)
    assert (report.inserted, report.updated, report.unchanged) == (35, 5, 0)
    titles = {
        i["url"]: i["title"] for i in client.get("/api/v1/articles?limit=100").json()["items"]
    }
    assert titles["https://a.ru/0"] == "t35"  # the later file wins, as in file order
    assert len(titles) == 35


def test_second_run_loads_nothing_twice(engine, corpus, ingest) -> None:  # type: ignore[no-untyped-def]
    for i in range(5):
        write_article(corpus, f"{i}.txt", url=f"https://a.ru/{i}", authors=["А Б", "В Г"])
    first = ingest(corpus)
    before = counts(engine)
    with engine.connect() as conn:
        stamps = dict(conn.execute(select(Article.url, Article.updated_at)).all())

    second = ingest(corpus)

    assert (first.inserted, first.updated, first.unchanged) == (5, 0, 0)
    assert (second.inserted, second.updated, second.unchanged) == (0, 0, 5)
    assert (
        counts(engine)
        == before
        == {
            "articles": 5,
            "article_authors": 10,
            "authors": 2,
            "sources": 1,
        }
    )
    with engine.connect() as conn:
        assert dict(conn.execute(select(Article.url, Article.updated_at)).all()) == stamps


def test_changed_file_updates_its_article_by_url(client: TestClient, corpus, ingest) -> None:  # type: ignore[no-untyped-def]
    path = write_article(corpus, "a.txt", url="https://a.ru/1", title="Старый заголовок")
    ingest(corpus)
    (article,) = client.get("/api/v1/articles").json()["items"]

    path.write_text(
        article_text(url="https://a.ru/1", title="Новый заголовок", authors=["Другой Автор"])
    )
    report = ingest(corpus)

    assert (report.inserted, report.updated, report.unchanged) == (0, 1, 0)
    listing = client.get("/api/v1/articles").json()
    assert listing["total"] == 1
    (updated,) = listing["items"]
    assert updated["id"] == article["id"]
    assert updated["title"] == "Новый заголовок"
    assert [a["name"] for a in updated["authors"]] == ["Другой Автор"]
    full = client.get(f"/api/v1/articles/{article['id']}").json()
    assert full["updated_at"] > full["ingested_at"]


def test_same_url_twice_in_one_run_keeps_the_last(engine, corpus, ingest, client) -> None:  # type: ignore[no-untyped-def]
    write_article(corpus, "1.txt", url="https://a.ru/1", title="Первая версия")
    write_article(corpus, "2.txt", url="https://a.ru/1", title="Вторая версия")
    report = ingest(corpus)
    assert (report.inserted, report.updated) == (1, 1)
    assert [a["title"] for a in client.get("/api/v1/articles").json()["items"]] == ["Вторая версия"]


def test_batches_commit_independently(engine, corpus, ingest) -> None:  # type: ignore[no-untyped-def]
    for i in range(7):
        write_article(corpus, f"{i:02}.txt", url=f"https://a.ru/{i}")
    report = ingest(corpus, batch_size=3)
    assert report.inserted == 7
    assert counts(engine)["articles"] == 7


def test_two_ingests_at_once_load_every_article(engine, corpus, client) -> None:  # type: ignore[no-untyped-def]
    """Two writers in small batches, side by side: each article gets its own id, its
    byline and its index entry; names both add go in once."""
    per_run = 300
    folders = [corpus / "one", corpus / "two"]
    for n, folder in enumerate(folders):
        for i in range(per_run):
            authors = ["Общий Автор", f"Автор {n}-{i % 7}"]
            write_article(folder, f"{i:03}.txt", url=f"https://a.ru/{n}/{i}", authors=authors)

    with ThreadPoolExecutor(2) as pool:
        runs = [pool.submit(ingest_paths, engine, [folder], batch_size=10) for folder in folders]
        reports = [run.result(timeout=300) for run in runs]

    assert [r.inserted for r in reports] == [per_run, per_run]
    assert counts(engine) == {
        "articles": 2 * per_run,
        "article_authors": 4 * per_run,
        "authors": 1 + 2 * 7,
        "sources": 1,
    }
    found = client.get("/api/v1/articles", params={"q": "подробностями", "limit": 1}).json()
    assert found["total"] == 2 * per_run
    listed = client.get("/api/v1/articles", params={"author": "Общий Автор"}).json()
    assert listed["total"] == 2 * per_run


def _run_cli(
    database_url: str, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, **(env or {}), "DATABASE_URL": database_url}
    return subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "ingest.py"), *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=120,
        check=False,
    )


def test_cli_reports_rejects_and_exits_non_zero(database_url: str, corpus: Path) -> None:
    write_article(corpus, "good.txt", url="https://a.ru/1")
    (corpus / "bad.txt").write_text(article_text(published="когда-то"))

    result = _run_cli(database_url, str(corpus))

    assert result.returncode == 1
    assert f"{corpus / 'bad.txt'}: unparseable date" in result.stderr
    assert "files read: 2, inserted: 1, updated: 0, unchanged: 0, rejected: 1" in result.stdout
    again = _run_cli(database_url, str(corpus / "good.txt"))
    assert again.returncode == 0
    assert "inserted: 0, updated: 0, unchanged: 1, rejected: 0" in again.stdout


def test_cli_migrates_a_new_database(backend: str, make_database, corpus: Path) -> None:  # type: ignore[no-untyped-def]
    url = make_database(backend)
    if backend == "postgresql":
        # The plain spelling people paste works too.
        url = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    write_article(corpus, "a.txt", url="https://a.ru/1")

    result = _run_cli(url, "--quiet", str(corpus))

    assert result.returncode == 0, result.stderr
    assert "inserted: 1" in result.stdout


def test_cli_json_summary_for_scripts(database_url: str, corpus: Path) -> None:
    write_article(corpus, "good.txt", url="https://a.ru/1")
    (corpus / "bad.txt").write_text("")

    result = _run_cli(database_url, "--json", str(corpus))

    assert result.returncode == 1
    summary = json.loads(result.stdout)  # nothing else on stdout
    assert summary["files_read"] == 2
    assert summary["inserted"] == 1
    assert summary["rejected"] == 1
    assert summary["rejects"] == [{"file": str(corpus / "bad.txt"), "reason": "empty file"}]
    assert summary["seconds"] > 0


def test_cli_shows_a_summary_table_and_on_a_terminal_a_progress_bar(
    database_url: str, corpus: Path
) -> None:
    for i in range(210):
        write_article(corpus, f"{i:03}.txt", url=f"https://a.ru/{i}")
    (corpus / "zz-bad.txt").write_text("")
    env_terminal = {"FORCE_COLOR": "1", "COLUMNS": "160"}

    result = _run_cli(database_url, str(corpus), env=env_terminal)

    assert result.returncode == 1
    assert "files/s" in result.stderr and "ETA" in result.stderr  # the bar: rate, ETA
    assert "211/211" in result.stderr
    assert f"{corpus / 'zz-bad.txt'}" in result.stderr and "empty file" in result.stderr
    for heading in ("inserted", "updated", "unchanged", "rejected"):
        assert heading in result.stdout
    assert "\x1b[" in result.stdout  # in colour
    assert "files read: 211, inserted: 210, updated: 0, unchanged: 0, rejected: 1" in (
        result.stdout
    )


def test_a_sqlite_writer_checkpoints_its_wal_less_often_than_a_reader(tmp_path: Path) -> None:
    """The ingest's engine (a writer) lets the WAL grow to WRITER_CHECKPOINT_PAGES before
    copying it into the database; the API's read-only engines keep SQLite's default."""
    url = f"sqlite:///{tmp_path / 'wal.db'}"
    for read_only, expected in ((False, WRITER_CHECKPOINT_PAGES), (True, 1000)):
        engine = make_engine(url, read_only=read_only)
        with engine.connect() as connection:
            pages = connection.exec_driver_sql("PRAGMA wal_autocheckpoint").scalar()
        engine.dispose()
        assert pages == expected
