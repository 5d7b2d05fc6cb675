"""A change to any table the API reads moves the data version, whoever makes it.

Cached answers and ETags are keyed on archive_state.version (app/cache/), and
triggers made by the migrations (0003, 0005) bump it in the transaction of each change.
These tests change rows with raw SQL on a connection of their own, as an operator or a
migration would, and show that no cached answer outlives the change; and they check that
every table, today's and any added later, has its triggers.
"""

import asyncio
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from alembic import command
from fastapi.testclient import TestClient
from sqlalchemy import Connection, Engine, create_engine, inspect, make_url, text
from sqlalchemy.pool import NullPool

from app import models  # noqa: F401  (registers the tables on Base.metadata)
from app.config import Settings
from app.databases import database_for
from app.db import Base, make_engine
from app.ingest.loader import ingest_paths
from app.main import create_app
from app.migrate import alembic_config, current_revision, head_revision, upgrade_to_head
from tests.factories import write_article
from tests.servers import uvicorn_server

ARTICLES = "/api/v1/articles"
SOURCES = "/api/v1/sources"
AUTHORS = "/api/v1/authors"
SEARCH = "/api/v1/articles?q=ледоход"
CHANGES_FEED = "/api/v1/changes?limit=1000"
STORIES = "/api/v1/stories"
SIMILAR = "/api/v1/articles/{first}/similar"  # {first}: the id of FIRST
URLS = (ARTICLES, SOURCES, AUTHORS, SEARCH, CHANGES_FEED, STORIES, SIMILAR)

FIRST = "https://first.ru/1"  # by Анна Первая in Первый источник, the only ледоход
FIRST_ID = f"(SELECT id FROM articles WHERE url = '{FIRST}')"

# The search index lives outside the models (migration 0002). On SQLite it is the FTS5
# virtual table articles_fts, which cannot have triggers: its documents' shadow table
# carries them (migration 0005 says why that is sound).
SEARCH_INDEX = "search index"
SEARCH_TRIGGER_TABLE = {"sqlite": "articles_fts_docsize", "postgresql": "article_search"}
SEARCH_TABLE = {"sqlite": "articles_fts", "postgresql": "article_search"}
# Tables of the migrated database that need no version triggers of their own, and why.
UNVERSIONED = {
    "alembic_version": "the schema's revision, not data",
    "archive_state": "the version itself",
    "articles_fts": "an FTS5 virtual table: articles_fts_docsize carries its triggers",
    "articles_fts_entries": "the index entries' text, which FTS5 reads only to take an entry "
    "out; every change to the index writes articles_fts_docsize",
    "articles_fts_data": "FTS5 token segments, written with articles_fts_docsize",
    "articles_fts_idx": "FTS5 segment directory, written with articles_fts_docsize",
    "articles_fts_config": "FTS5 settings",
    "article_files": "which file each article came from: only the ingest's --prune reads it",
    "api_keys": "API keys: they authenticate requests, no answer is made from them",
}
# Every table of the models holds data that some endpoint reads, except those above.
READ_TABLES = sorted(set(Base.metadata.tables) - set(UNVERSIONED))
EVENTS = {
    "sqlite": {"INSERT", "UPDATE", "DELETE"},
    "postgresql": {"INSERT", "UPDATE", "DELETE", "TRUNCATE"},
}
HOW_TO_ADD = (
    "Give it version triggers in a new migration, as "
    "migrations/versions/0005_version_every_table.py does: on SQLite `CREATE TRIGGER "
    "<table>_<event>_version AFTER <event> ON <table> BEGIN UPDATE archive_state SET "
    "version = version + 1; END` for INSERT, UPDATE and DELETE; on PostgreSQL `CREATE "
    "TRIGGER <table>_version AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON <table> FOR "
    "EACH STATEMENT EXECUTE FUNCTION bump_archive_version()`. If no endpoint reads it, "
    "list it in UNVERSIONED in tests/test_data_version.py with the reason."
)

Answers = dict[str, Any]  # URL -> JSON body


def items(answers: Answers, url: str) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = answers[url]["items"]
    return found


def first_article(answers: Answers) -> dict[str, Any]:
    return next(item for item in items(answers, ARTICLES) if item["url"] == FIRST)


def count_of(answers: Answers, author: str) -> int:
    return next(a["article_count"] for a in items(answers, AUTHORS) if a["name"] == author)


@dataclass(frozen=True)
class Change:
    """A real change to one table, made by hand, and how the answers show it."""

    sql: dict[str, str]  # by backend
    shows: Callable[[Answers], bool]


def on_both(sql: str) -> dict[str, str]:
    return {"sqlite": sql, "postgresql": sql}


CHANGES = {
    "sources": Change(
        on_both("UPDATE sources SET name = 'X' WHERE name = 'Первый источник'"),
        lambda a: (
            "X" in [s["name"] for s in items(a, SOURCES)]
            and [i["source"]["name"] for i in items(a, ARTICLES) if "first.ru" in i["url"]]
            == ["X", "X"]
        ),
    ),
    "authors": Change(
        on_both("UPDATE authors SET name = 'Y' WHERE name = 'Анна Первая'"),
        lambda a: (
            "Y" in [s["name"] for s in items(a, AUTHORS)]
            and [x["name"] for x in first_article(a)["authors"]] == ["Y"]
        ),
    ),
    "articles": Change(
        on_both(f"UPDATE articles SET title = 'Z' WHERE url = '{FIRST}'"),
        lambda a: first_article(a)["title"] == "Z",
    ),
    "article_authors": Change(
        on_both(
            "UPDATE article_authors SET author_id = "
            f"(SELECT id FROM authors WHERE name = 'Борис Второй') WHERE article_id = {FIRST_ID}"
        ),
        lambda a: (
            [x["name"] for x in first_article(a)["authors"]] == ["Борис Второй"]
            and count_of(a, "Борис Второй") == 2
        ),
    ),
    "article_counts": Change(
        # A count corrected by hand: the unfiltered listing's total is summed from these.
        on_both(
            "UPDATE article_counts SET articles = articles + 5 "
            "WHERE span = 'month' AND source_id = 0"
        ),
        lambda a: a[ARTICLES]["total"] > len(items(a, ARTICLES)),
    ),
    "article_changes": Change(
        # A feed entry removed by hand: the feed no longer lists that article.
        on_both(f"DELETE FROM article_changes WHERE article_id = {FIRST_ID}"),
        lambda a: FIRST not in [i["url"] for i in items(a, CHANGES_FEED)],
    ),
    "stories": Change(
        on_both("UPDATE stories SET title = 'S'"),
        lambda a: {s["title"] for s in items(a, STORIES)} == {"S"},
    ),
    "article_signatures": Change(
        # The three articles share their bodies' words: emptied, FIRST shares nothing.
        on_both(f"UPDATE article_signatures SET signature = '' WHERE article_id = {FIRST_ID}"),
        lambda a: all(i["similarity"] == 0 for i in items(a, SIMILAR)),
    ),
    SEARCH_INDEX: Change(
        {
            "sqlite": (
                # The entry goes; an UPDATE of its text by hand would leave the text that
                # FTS5 reads to take entries out behind (migration 0012 says how to edit).
                f"DELETE FROM articles_fts WHERE rowid & 268435455 = {FIRST_ID}"  # the key's id
            ),
            "postgresql": (
                f"UPDATE article_search SET vector = ''::tsvector WHERE article_id = {FIRST_ID}"
            ),
        },
        lambda a: a[SEARCH]["total"] == 0 and items(a, SEARCH) == [],
    ),
}


def write_archive(folder: Path) -> None:
    write_article(
        folder,
        "1.txt",
        url=FIRST,
        title="Ледоход на Иртыше",
        source="Первый источник",
        authors=["Анна Первая"],
        published="2020-01-01T10:00:00+03:00",
    )
    write_article(
        folder,
        "2.txt",
        url="https://second.ru/2",
        title="Выборы мэра",
        source="Второй источник",
        authors=["Борис Второй"],
        published="2020-01-02T10:00:00+03:00",
    )
    write_article(
        folder,
        "3.txt",
        url="https://first.ru/3",
        title="Погода на выходные",
        source="Первый источник",
        authors=["Анна Первая"],
        published="2020-01-03T10:00:00+03:00",
    )


@pytest.fixture
def api(database_url: str, corpus: Path, ingest) -> Iterator[TestClient]:  # type: ignore[no-untyped-def]
    write_archive(corpus)
    assert ingest(corpus).inserted == 3
    app = create_app(Settings(database_url=database_url, cursor_secret="test-secret"))
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client


def version(connection: Connection) -> int:
    return int(connection.execute(text("SELECT version FROM archive_state")).scalar_one())


def by_hand(database_url: str, sql: str) -> None:
    """Run sql as an operator would: its own connection, no app code, one transaction.
    The version has moved inside that transaction already, and stays moved once it
    commits."""
    outside = create_engine(database_url, poolclass=NullPool)
    try:
        with outside.begin() as connection:
            before = version(connection)
            connection.execute(text(sql))
            moved = version(connection)
            assert moved > before, f"{sql!r} did not move the data version"
        with outside.connect() as connection:
            assert version(connection) == moved
    finally:
        outside.dispose()


def cache_answers(api: TestClient) -> dict[str, httpx.Response]:
    """Each URL answered, then answered again from the cache under the same version."""
    cached = {}
    first_id = next(i["id"] for i in api.get(ARTICLES).json()["items"] if i["url"] == FIRST)
    for url in URLS:
        first = api.get(url.format(first=first_id))
        assert first.status_code == 200, (url, first.text)
        again = api.get(url.format(first=first_id))
        assert (again.content, again.headers["etag"]) == (first.content, first.headers["etag"])
        cached[url] = first
    return cached


def assert_every_answer_is_new(
    api: TestClient, cached: dict[str, httpx.Response]
) -> dict[str, Any]:
    """The next request for each cached URL is computed afresh: a new ETag, and no 304 for
    the old one. Returns the new answers."""
    answers = {}
    for url, old in cached.items():
        new = api.get(str(old.request.url), headers={"If-None-Match": old.headers["etag"]})
        assert new.status_code == 200, (url, new.status_code)
        assert new.headers["etag"] != old.headers["etag"], url
        answers[url] = new.json()
    return answers


@pytest.mark.parametrize("table", [*READ_TABLES, SEARCH_INDEX])
def test_a_change_by_hand_to_any_read_table_shows_at_once(
    table: str, backend: str, database_url: str, api: TestClient
) -> None:
    change = CHANGES.get(table)
    assert change is not None, (
        f"The API reads table {table}, but this test has no change for it: add a real "
        "change of one of its rows to CHANGES in tests/test_data_version.py."
    )
    cached = cache_answers(api)
    assert not change.shows({url: response.json() for url, response in cached.items()})
    by_hand(database_url, change.sql[backend])
    assert change.shows(assert_every_answer_is_new(api, cached))


@pytest.mark.parametrize("table", ["article_authors", SEARCH_INDEX])
def test_emptying_a_table_by_hand_shows_at_once(
    table: str, backend: str, database_url: str, api: TestClient
) -> None:
    """PostgreSQL's TRUNCATE fires only TRUNCATE triggers, not DELETE ones. SQLite's DELETE
    with no WHERE (its truncate) drops the rows without visiting them unless the table has
    triggers: the version must move all the same."""
    name = SEARCH_TABLE[backend] if table == SEARCH_INDEX else table
    verb = "TRUNCATE" if backend == "postgresql" else "DELETE FROM"
    cached = cache_answers(api)
    by_hand(database_url, f"{verb} {name}")
    answers = assert_every_answer_is_new(api, cached)
    if table == SEARCH_INDEX:
        assert answers[SEARCH]["total"] == 0
    else:
        assert all(item["authors"] == [] for item in items(answers, ARTICLES))


def test_a_running_server_shows_a_source_renamed_by_hand(
    backend: str, database_url: str, corpus: Path, ingest
) -> None:  # type: ignore[no-untyped-def]
    """uvicorn answers cache hits before routing (app.cache.responses)."""
    write_archive(corpus)
    ingest(corpus)
    with uvicorn_server(database_url) as base, httpx.Client(base_url=base) as client:
        before = {url: client.get(url) for url in (SOURCES, ARTICLES)}
        for url, first in before.items():
            again = client.get(url, headers={"If-None-Match": first.headers["etag"]})
            assert again.status_code == 304, url  # the cached answer is current
        by_hand(database_url, CHANGES["sources"].sql[backend])
        after = {url: client.get(url) for url in (SOURCES, ARTICLES)}
    for url in before:
        assert after[url].headers["etag"] != before[url].headers["etag"], url
    assert "X" in [s["name"] for s in after[SOURCES].json()["items"]]
    assert "X" not in [s["name"] for s in before[SOURCES].json()["items"]]
    renamed = [
        i["source"]["name"] for i in after[ARTICLES].json()["items"] if "first.ru" in i["url"]
    ]
    assert renamed == ["X", "X"]


def test_concurrent_version_reads_share_one_read_and_never_go_stale(
    database_url: str, engine: Engine
) -> None:
    """Cache hits read the version on the event loop (app.databases' version readers):
    many at once all get the current version, and a change committed before they ask is
    seen by every one of them."""
    reader = database_for(database_url).version_reader(make_url(database_url))

    async def read_many() -> list[int | None]:
        return list(await asyncio.gather(*(reader.read() for _ in range(50))))

    async def run() -> tuple[list[int | None], list[int | None]]:
        try:
            first = await read_many()
            by_hand(database_url, "UPDATE archive_state SET version = version + 1")
            return first, await read_many()
        finally:
            await reader.close()

    first, second = asyncio.run(run())
    assert first[0] is not None and set(first) == {first[0]}
    assert set(second) == {first[0] + 1}


def version_triggers(connection: Connection) -> dict[str, set[str]]:
    """Table -> the events on which its triggers bump archive_state.version (AFTER the
    change, for every row or statement, with no WHEN or column list narrowing them)."""
    covered: dict[str, set[str]] = {}
    if connection.dialect.name == "sqlite":
        pattern = re.compile(
            r"CREATE TRIGGER \w+ AFTER (INSERT|UPDATE|DELETE) ON (\w+) "
            r"BEGIN UPDATE archive_state SET version = version \+ 1; END",
            re.IGNORECASE,
        )
        for (sql,) in connection.execute(
            text("SELECT sql FROM sqlite_master WHERE type = 'trigger'")
        ):
            if match := pattern.fullmatch(" ".join(sql.split())):
                covered.setdefault(match[2], set()).add(match[1].upper())
        return covered
    bits = {"INSERT": 4, "DELETE": 8, "UPDATE": 16, "TRUNCATE": 32}
    rows = connection.execute(
        text(
            "SELECT c.relname, t.tgtype FROM pg_trigger t"
            " JOIN pg_class c ON c.oid = t.tgrelid"
            " JOIN pg_namespace n ON n.oid = c.relnamespace AND n.nspname = current_schema()"
            " JOIN pg_proc p ON p.oid = t.tgfoid"
            " WHERE NOT t.tgisinternal AND t.tgenabled IN ('O', 'A')"
            " AND t.tgqual IS NULL AND t.tgattr::text = ''"
            " AND t.tgtype & (2 | 64) = 0"  # neither BEFORE nor INSTEAD OF
            " AND p.prosrc LIKE '%UPDATE archive_state SET version = version + 1;%'"
        )
    )
    for table, tgtype in rows:
        events = {event for event, bit in bits.items() if tgtype & bit}
        covered.setdefault(table, set()).update(events)
    return covered


def missing_triggers(engine: Engine, tables: list[str]) -> dict[str, set[str]]:
    with engine.connect() as connection:
        covered = version_triggers(connection)
    needed = EVENTS[engine.dialect.name]
    return {t: needed - covered.get(t, set()) for t in tables if needed - covered.get(t, set())}


def test_every_read_table_has_version_triggers(engine: Engine) -> None:
    tables = [*READ_TABLES, SEARCH_TRIGGER_TABLE[engine.dialect.name]]
    missing = missing_triggers(engine, tables)
    assert not missing, (
        f"These tables do not move the data version on {missing}, so cached answers and "
        f"ETags would outlive a change to them. {HOW_TO_ADD}"
    )


def test_every_table_of_the_database_is_versioned_or_says_why_not(engine: Engine) -> None:
    """A table made by a migration and not by the models (as the search index is) is
    caught too."""
    unversioned = [t for t in inspect(engine).get_table_names() if t not in UNVERSIONED]
    missing = missing_triggers(engine, unversioned)
    assert not missing, f"Tables without version triggers: {missing}. {HOW_TO_ADD}"


def test_downgrade_to_0004_and_back_up(backend: str, make_database, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    engine = make_engine(make_database(backend))
    upgrade_to_head(engine)
    write_archive(tmp_path)
    ingest_paths(engine, [tmp_path])
    config = alembic_config()
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, "0004")
    assert current_revision(engine) == "0004"
    # 0003's triggers are back as they were, and sources and authors have none again.
    # (Tables of later migrations are gone at 0004.)
    present = set(inspect(engine).get_table_names())
    at_0004 = [t for t in READ_TABLES if t in present]
    missing = missing_triggers(engine, [*at_0004, SEARCH_TRIGGER_TABLE[backend]])
    assert missing == {
        "sources": EVENTS[backend],
        "authors": EVENTS[backend],
        SEARCH_TRIGGER_TABLE[backend]: EVENTS[backend],
        **(
            {"articles": {"TRUNCATE"}, "article_authors": {"TRUNCATE"}}
            if backend == "postgresql"
            else {}
        ),
    }
    url = engine.url.render_as_string(hide_password=False)
    with engine.connect() as connection:
        at_0004 = version(connection)
    outside = create_engine(url, poolclass=NullPool)
    with outside.begin() as connection:  # the bug 0005 fixes
        connection.execute(text(CHANGES["sources"].sql[backend]))
    outside.dispose()
    with engine.connect() as connection:
        assert version(connection) == at_0004

    upgrade_to_head(engine)
    assert current_revision(engine) == head_revision()
    assert missing_triggers(engine, [*READ_TABLES, SEARCH_TRIGGER_TABLE[backend]]) == {}
    by_hand(url, "UPDATE sources SET name = 'W' WHERE name = 'X'")
    engine.dispose()
