"""SQLite: the engine's pragmas and statement timeout, the FTS5 search index, the ingest's
writes and the plain-sqlite3 reader of the data version.

The search index is an FTS5 table ``articles_fts(title, body)`` whose rowid is the
article's key (app.search.keys: published_at and id), indexing the analysed terms
(app.search.analyzer) separated by spaces; FTS5's own tokenizer then only splits on those
spaces. The terms themselves are kept in ``articles_fts_entries`` (external content,
migration 0012), appended in article order rather than at each key's place. FTS5 walks a
term's matches in rowid order, so a search by date reads a page of matches, and a rowid
range is a date range. Ranked with bm25, the title weighing TITLE_WEIGHT times the body.
Triggers (migrations 0002, 0007) drop an article's entry when it is deleted and move it
when its date changes (0012: its text too). Instants are stored as naive UTC text in one
fixed format, so text order is instant order.

The ingest's bulk writes (bulk_insert, set_story_ids) take off the row triggers that keep
the data version, the changes feed and the article counts, and do their work once per
statement (_INSTEAD): SQLite has no statement-level triggers, and a row trigger that
writes archive_state costs more than the row it watches.
"""

import json
import sqlite3
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from datetime import datetime
from functools import partial
from operator import itemgetter
from pathlib import Path
from typing import Any

from sqlalchemy import (
    URL,
    ColumnElement,
    Connection,
    Double,
    Engine,
    Integer,
    Select,
    SQLColumnExpression,
    String,
    TableClause,
    bindparam,
    cast,
    column,
    create_engine,
    event,
    func,
    insert,
    literal,
    literal_column,
    select,
    table,
    text,
)
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.sql.expression import ColumnClause, TextClause
from sqlalchemy.sql.expression import table as table_clause

from app.databases import (
    SEARCH_PARAM,
    VERSION_QUERY,
    Database,
    IndexedArticle,
    IndexEntry,
    SearchIndex,
    ServerProbe,
    VersionReader,
    authors,
    bylines,
)
from app.schemas import Interval
from app.search import keys
from app.search.query import Phrase, SearchQuery
from app.stories.topics import CATEGORIES

FTS_TABLE = "articles_fts"
TITLE_WEIGHT = 5.0
POOL_SIZE = 40  # anyio's default threadpool size: FastAPI runs sync routes there
# SQLite calls the progress handler every this many virtual machine steps (~1 ms of work):
# often enough to stop within milliseconds of the deadline, rarely enough to cost nothing.
PROGRESS_STEPS = 10_000

fts_table = table(FTS_TABLE, column("rowid", Integer), column("title"), column("body"))
# The text of each index entry (migration 0012): FTS5's external content, in article order.
_ENTRIES = table(
    "articles_fts_entries",
    column("article_id", Integer),
    column("key", Integer),
    column("title"),
    column("body"),
)
# Only an entry the index holds (one may have been deleted from articles_fts by hand):
# FTS5 fails on taking out one it does not (migration 0012).
_UNINDEX = text(
    "DELETE FROM articles_fts WHERE rowid = :key "
    "AND EXISTS (SELECT 1 FROM articles_fts_docsize WHERE id = :key)"
)
# An upsert: the text is there unless someone deleted it by hand.
_REPLACE_ENTRY = text(
    "INSERT INTO articles_fts_entries (article_id, key, title, body) "
    "VALUES (:article_id, :key, :title, :body) ON CONFLICT (article_id) DO UPDATE SET "
    "key = excluded.key, title = excluded.title, body = excluded.body"
)
_FTS: ColumnClause[Any] = literal_column(FTS_TABLE)  # the table as MATCH's left side
_MATCHES = _FTS.op("MATCH")(bindparam(SEARCH_PARAM, type_=String()))
_SCORE = -func.bm25(_FTS, TITLE_WEIGHT, 1.0, type_=Double)
_SEARCH_INDEX = SearchIndex(
    table=fts_table,
    key=fts_table.c.rowid,
    article_id=fts_table.c.rowid.op("&", return_type=Integer)(keys.MAX_ID),
    matches=_MATCHES,
    score=_SCORE,
)


def _key_of(article_id: ColumnElement[int], published_at: ColumnElement[Any]) -> Any:
    """An article's search key in SQL, as app.search.keys.search_key() makes it."""
    seconds = cast(func.strftime("%s", func.substr(published_at, 1, 19)), Integer)
    clamped = func.max(0, func.min(keys.MAX_SECONDS, seconds + keys.EPOCH_OFFSET))
    return clamped.op("<<", return_type=Integer)(keys.ID_BITS).op("|", return_type=Integer)(
        article_id
    )


# Pages a writer's WAL may hold before its commit copies them into the database (SQLite's
# default is 1,000): a checkpoint writes each page the batches since the last one touched
# (the indexes take each batch's articles at random places) and syncs the file: at every
# 1,000 pages a 100k-file ingest took 2-6% longer than at every 10,000 (docs/benchmarks.md,
# "Ingest"). The WAL file grows to ~40 MB.
WRITER_CHECKPOINT_PAGES = 10_000


def _pragmas(
    dbapi_connection: Any, _record: Any, cache_kib: int = 0, checkpoint_pages: int = 0
) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    # WAL lets the API read while an ingest writes.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    if cache_kib > 0:
        cursor.execute(f"PRAGMA cache_size = -{int(cache_kib)}")  # negative: KiB, not pages
    if checkpoint_pages > 0:
        cursor.execute(f"PRAGMA wal_autocheckpoint = {int(checkpoint_pages)}")
    cursor.close()


@contextmanager
def _shadow_triggers_off(connection: Connection) -> Iterator[None]:
    """The ingest's index writes, without the data-version triggers on FTS5's docsize table
    (migration 0005), put back in the same transaction.

    Those triggers catch writes to the index made outside the app. Each one that fires
    inside FTS5 opens a statement savepoint, and FTS5 answers a savepoint by writing its
    pending terms out as a segment: a batch became one segment per document, which
    automerge then folded together again and again (most of a 100k ingest's time). The
    ingest's own transaction moves the version anyway (its articles' triggers).
    """
    with _triggers_off(connection, f"{FTS_TABLE}_docsize"):
        yield


@contextmanager
def _triggers_off(
    connection: Connection, table: str, names: Sequence[str] | None = None
) -> Iterator[list[str]]:
    """Without these triggers of the table (or all of them), put back in the same
    transaction: no other connection sees the schema without them, as SQLite's DDL is
    part of the transaction, which holds the write lock (begin_writing). Yields the names
    of those it found."""
    triggers = [
        (name, sql)
        for name, sql in connection.execute(
            text("SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name = :t"),
            {"t": table},
        )
        if names is None or name in names
    ]
    for name, _ in triggers:
        connection.exec_driver_sql(f'DROP TRIGGER "{name}"')
    try:
        yield [name for name, _ in triggers]
    finally:  # a failed write may be caught and the transaction still committed
        for _, sql in triggers:
            connection.exec_driver_sql(sql)


# Row triggers that cost more than the rows they watch when an ingest writes thousands of
# rows in one transaction (each runs as a statement of its own, with a savepoint, as its
# UPDATE of the NOT NULL archive_state could fail). bulk_insert and set_story_ids write
# with them off and do their work once, for all the rows: by trigger, what to run instead,
# given :ids, the JSON list of the rows' article ids (each once, in the order written),
# and :n, their number. Every table's {table}_insert_version trigger (migration 0005) is
# replaced by one move of the data version.
_COUNT_ARTICLES = text(
    "INSERT INTO article_counts (span, period, source_id, language, articles) "
    "SELECT v.span, substr(a.published_at, 1, v.width), "
    "CASE WHEN v.own THEN a.source_id ELSE 0 END, a.language, count(*) "
    "FROM json_each(:ids) AS j JOIN articles AS a ON a.id = j.value CROSS JOIN ("
    "SELECT 'day' AS span, 10 AS width, 1 AS own UNION ALL SELECT 'day', 10, 0 "
    "UNION ALL SELECT 'month', 7, 1 UNION ALL SELECT 'month', 7, 0) AS v "
    "WHERE true GROUP BY 1, 2, 3, 4 "
    "ON CONFLICT (span, source_id, period, language) "
    "DO UPDATE SET articles = article_counts.articles + excluded.articles"
)
# The articles take the next positions of the changes feed, in the order given.
_RECORD_CHANGES = text(
    "INSERT INTO article_changes (article_id, seq, url, deleted) "
    "SELECT a.id, (SELECT change_seq FROM archive_state) + CAST(j.key AS INTEGER) + 1, "
    "a.url, 0 FROM json_each(:ids) AS j JOIN articles AS a ON a.id = j.value WHERE true "
    "ON CONFLICT (article_id) DO UPDATE SET "
    "seq = excluded.seq, url = excluded.url, deleted = excluded.deleted"
)
_TOUCH_CHANGES = text(
    "UPDATE article_changes SET seq = (SELECT change_seq FROM archive_state) + t.n "
    "FROM (SELECT CAST(value AS INTEGER) AS id, CAST(key AS INTEGER) + 1 AS n "
    "FROM json_each(:ids)) AS t "
    "WHERE article_changes.article_id = t.id AND NOT article_changes.deleted"
)
_MOVE_CHANGE_SEQ = text("UPDATE archive_state SET change_seq = change_seq + :n")
# SQLite's stand-in for a CHECK on articles.category (migration 0009) is a BEFORE INSERT
# trigger, and a trigger that may RAISE(ABORT) costs a statement journal per row (half
# the time of the articles' insert). Instead (_check_categories): an article inserted with
# a category out of the list is updated to itself, which fires the BEFORE UPDATE trigger's
# same refusal; looked for first, as an UPDATE of articles compiles all its triggers.
_CATEGORIES = json.dumps(CATEGORIES)
_FIND_BAD_CATEGORY = text(
    "SELECT 1 FROM articles WHERE id IN (SELECT value FROM json_each(:ids)) "
    "AND category NOT IN (SELECT value FROM json_each(:categories)) LIMIT 1"
)
_REFUSE_BAD_CATEGORY = text(
    "UPDATE articles SET category = category WHERE id IN (SELECT value FROM json_each(:ids)) "
    "AND category NOT IN (SELECT value FROM json_each(:categories))"
)


def _check_categories(connection: Connection, params: dict[str, Any]) -> None:
    params = params | {"categories": _CATEGORIES}
    if connection.execute(_FIND_BAD_CATEGORY, params).first() is not None:
        connection.execute(_REFUSE_BAD_CATEGORY, params)


_MOVE_VERSION = text("UPDATE archive_state SET version = version + 1")
_Step = TextClause | Callable[[Connection, dict[str, Any]], None]
_INSTEAD: dict[str, tuple[_Step, ...]] = {
    "articles_counts_insert": (_COUNT_ARTICLES,),
    "articles_changes_insert": (_RECORD_CHANGES, _MOVE_CHANGE_SEQ),
    "articles_changes_update": (_RECORD_CHANGES, _MOVE_CHANGE_SEQ),
    "articles_update_version": (_MOVE_VERSION,),
    "article_authors_changes_insert": (_TOUCH_CHANGES, _MOVE_CHANGE_SEQ),
    "articles_category_insert": (_check_categories,),
}
# The row triggers of inserts that bulk_insert takes off (beside the version's), and the
# column of the rows that names their article.
_ON_INSERT = {
    "articles": ("articles_counts_insert", "articles_changes_insert", "articles_category_insert"),
    "article_authors": ("article_authors_changes_insert",),
}
_ARTICLE_OF = {"articles": "id", "article_authors": "article_id"}
_ARTICLE_UPDATE_TRIGGERS = ("articles_update_version", "articles_changes_update")
_SET_STORY_ID = text("UPDATE articles SET story_id = :value WHERE id = :row_id")


def _inserting(
    connection: Connection, table: str, rows: list[dict[str, Any]]
) -> AbstractContextManager[None]:
    """_in_bulk for an insert of these rows: the table's version trigger off, and the
    row triggers of _ON_INSERT when the rows name their articles."""
    triggers = [f"{table}_insert_version"]
    article_ids: list[int] = []
    if (key := _ARTICLE_OF.get(table)) is not None and all(key in r for r in rows):
        triggers += _ON_INSERT[table]
        article_ids = [row[key] for row in rows]
    return _in_bulk(connection, table, triggers, article_ids)


@contextmanager
def _in_bulk(
    connection: Connection, table: str, triggers: Sequence[str], article_ids: Sequence[int]
) -> Iterator[None]:
    """Write to the table with these row triggers off, then do their work once
    (_INSTEAD; a trigger without an entry there only moved the version)."""
    with _triggers_off(connection, table, triggers) as dropped:
        yield
        ids = list(dict.fromkeys(article_ids))
        params = {"ids": json.dumps(ids), "n": len(ids)}
        for name in dropped:
            for step in _INSTEAD.get(name, (_MOVE_VERSION,)):
                if isinstance(step, TextClause):
                    connection.execute(step, params)
                else:
                    step(connection, params)


def _statement_timeout(engine: Engine, timeout_ms: int) -> None:
    """Interrupt any statement that runs past timeout_ms, as PostgreSQL's statement_timeout.

    SQLite has no such setting; its progress handler, called as a statement runs (rows
    fetched later included), aborts it with "interrupted" once it returns non-zero. The
    deadline lives in the pooled connection's info and is re-armed before each statement.
    """
    seconds = timeout_ms / 1000

    @event.listens_for(engine, "connect")
    def _install(dbapi_connection: Any, record: Any) -> None:
        state: dict[str, Any] = record.info
        state["deadline"] = float("inf")

        def past_deadline() -> int:
            return 1 if time.monotonic() > state["deadline"] else 0

        dbapi_connection.set_progress_handler(past_deadline, PROGRESS_STEPS)

    @event.listens_for(engine, "before_cursor_execute")
    def _arm(conn: Any, cursor: Any, statement: Any, params: Any, context: Any, many: Any) -> None:
        conn.info["deadline"] = time.monotonic() + seconds


def _snapshot_per_transaction(engine: Engine) -> None:
    """Open each transaction with BEGIN, which sqlite3 leaves out before a SELECT: in WAL
    mode its first read then fixes the snapshot that all of the request's queries see."""

    @event.listens_for(engine, "connect")
    def _no_implicit_transactions(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None

    @event.listens_for(engine, "begin")
    def _begin(connection: Connection) -> None:
        connection.exec_driver_sql("BEGIN")


def fts5_match(query: SearchQuery) -> str:
    """The FTS5 MATCH expression; NOT is binary there, so exclusions come last."""

    def phrase(p: Phrase) -> str:
        return '"' + " ".join(p.terms) + '"'

    positive = [c for c in query.clauses if not c.negated]
    text = " AND ".join("(" + " OR ".join(map(phrase, c.alternatives)) + ")" for c in positive)
    for clause in query.clauses:
        if clause.negated:
            text = f"({text}) NOT ({' OR '.join(map(phrase, clause.alternatives))})"
    return text


class NoVersion:
    """For databases the fast path cannot reach (SQLite in memory): always the slow path."""

    async def read(self) -> int | None:
        return None

    async def close(self) -> None:
        return None


class SqliteVersion:
    """A plain sqlite3 connection: a one-row read in WAL mode never waits on a writer."""

    def __init__(self, path: str) -> None:
        self._path = path
        self._connection: sqlite3.Connection | None = None

    async def read(self) -> int | None:
        try:
            if self._connection is None:
                # timeout=0: never block the event loop on a lock; fall back instead.
                self._connection = sqlite3.connect(
                    self._path, timeout=0, isolation_level=None, check_same_thread=False
                )
            row = self._connection.execute(VERSION_QUERY).fetchone()
        except sqlite3.Error:
            await self.close()
            return None
        return int(row[0]) if row else None

    async def close(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None


class SQLite(Database):
    name = "sqlite"
    index_table = FTS_TABLE
    explain_prefix = "EXPLAIN QUERY PLAN "
    estimates_rows = False

    def make_engine(
        self,
        url: URL,
        *,
        pool_size: int,
        statement_timeout_ms: int,
        read_only: bool = False,
        cache_bytes: int = 0,
    ) -> Engine:
        if url.database and url.database != ":memory:":
            Path(url.database).parent.mkdir(parents=True, exist_ok=True)
        # No pre-ping: a SQLite file does not go away between requests like a server can.
        # The pool holds a connection for every thread that may serve a request at once:
        # beyond pool_size each request would open (and set up) a connection of its own.
        engine = create_engine(
            url,
            connect_args={"check_same_thread": False, "timeout": 30},
            pool_size=POOL_SIZE,
            max_overflow=POOL_SIZE,
        )
        # SQLite's default is 2 MB of pages per connection, in this process: with a
        # connection per thread, the one memory of a worker nobody counted.
        cache_kib = max(1, cache_bytes // 1024) if cache_bytes > 0 else 0
        checkpoint_pages = 0 if read_only else WRITER_CHECKPOINT_PAGES
        pragmas = partial(_pragmas, cache_kib=cache_kib, checkpoint_pages=checkpoint_pages)
        event.listen(engine, "connect", pragmas)
        if statement_timeout_ms:
            _statement_timeout(engine, statement_timeout_ms)
        if read_only:
            _snapshot_per_transaction(engine)
        return engine

    def stored_instant(self, value: datetime) -> datetime:
        # No time zone type: naive UTC, so that "+03:00" input is never compared as text
        # against "+00:00".
        return value.replace(tzinfo=None)

    def is_statement_timeout(self, error: BaseException) -> bool:
        orig = getattr(error, "orig", error)
        return isinstance(orig, sqlite3.OperationalError) and str(orig) == "interrupted"

    def server_probe(self, url: URL) -> ServerProbe:
        raise ValueError("SQLite has no read replicas: DATABASE_READ_URLS needs PostgreSQL")

    def opens_elsewhere(self, url: URL) -> bool:
        # A plain file path (a file: URI may name a database in memory).
        path = url.database
        return bool(path) and path != ":memory:" and not str(path).startswith("file:")

    def version_reader(self, url: URL) -> VersionReader:
        if self.opens_elsewhere(url) and url.database:
            return SqliteVersion(url.database)
        return NoVersion()

    def index_entry_of(self, title_terms: list[str], body_terms: list[str]) -> IndexEntry:
        return " ".join(title_terms), " ".join(body_terms)

    def write_index(
        self,
        connection: Connection,
        *,
        new: Sequence[IndexedArticle] = (),
        changed: Sequence[IndexedArticle] = (),
    ) -> None:
        # FTS5 has no upsert: a changed article's entry goes (FTS5 reads the text it
        # indexed from articles_fts_entries, so that text is replaced after), then comes
        # back with the new. (A changed date already moved it to its new key: the
        # articles_fts_move trigger.)
        entries = [
            {
                "article_id": a.article_id,
                "key": keys.search_key(a.published_at, a.article_id),
                "title": a.entry[0],
                "body": a.entry[1],
            }
            for a in (*new, *changed)
        ]
        with _shadow_triggers_off(connection):
            if changed:
                replaced = entries[len(new) :]
                connection.execute(_UNINDEX, replaced)
                connection.execute(_REPLACE_ENTRY, replaced)
            if new:  # in article order: appended to the table's end
                connection.execute(insert(_ENTRIES), entries[: len(new)])
            # In key order: FTS5 writes its pending terms out as a segment whenever a rowid
            # is lower than the one before.
            rows = [{"rowid": e["key"], "title": e["title"], "body": e["body"]} for e in entries]
            rows.sort(key=itemgetter("rowid"))
            self.bulk_insert(connection, fts_table, rows)

    def search_index(self) -> SearchIndex:
        return _SEARCH_INDEX

    def search_param(self, query: SearchQuery) -> str:
        return fts5_match(query)

    def key_of(
        self, article_id: ColumnElement[int], published_at: ColumnElement[datetime]
    ) -> ColumnElement[int]:
        key: ColumnElement[int] = _key_of(article_id, published_at)
        return key

    def probe(
        self, article_id: ColumnElement[int], published_at: ColumnElement[datetime]
    ) -> ColumnElement[bool]:
        # FTS5 answers "MATCH and rowid = ?" by seeking in each term's matches.
        return (
            select(literal(1))
            .select_from(fts_table)
            .where(_MATCHES, fts_table.c.rowid == _key_of(article_id, published_at))
            .exists()
        )

    def probed_score(
        self, article_id: ColumnElement[int], published_at: ColumnElement[datetime]
    ) -> ColumnElement[float]:
        return (
            select(_SCORE)
            .select_from(fts_table)
            .where(_MATCHES, fts_table.c.rowid == _key_of(article_id, published_at))
            .scalar_subquery()
        )

    def byline(self, article_id: ColumnElement[int]) -> ColumnElement[str]:
        column: ColumnElement[str] = (
            select(
                func.json_group_array(
                    func.json_array(bylines.c.position, authors.c.id, authors.c.name)
                )
            )
            .join(authors, authors.c.id == bylines.c.author_id)
            .where(bylines.c.article_id == article_id)
            .scalar_subquery()
        )
        return column

    def estimate_rows(
        self, connection: Connection, statement: Select[Any], params: dict[str, Any]
    ) -> int | None:
        return None  # FTS5 keeps no term statistics the planner could share

    def plan_search(self, connection: Connection) -> None:
        return None

    def plan_key_walk(
        self, connection: Connection, matches: int, walked: Callable[[], int]
    ) -> bool:
        # FTS5 walks a term's matches themselves in rowid (key) order: nothing else to read.
        return False

    def date_bucket(
        self, instant: SQLColumnExpression[Any], interval: Interval
    ) -> ColumnElement[Any]:
        # Instants are naive UTC text 'YYYY-MM-DD HH:MM:SS…'.
        if interval == "day":
            return func.substr(instant, 1, 10)
        if interval == "week":
            return func.date(instant, "weekday 0", "-6 days")
        if interval == "month":
            return func.substr(instant, 1, 7) + literal("-01")
        return func.substr(instant, 1, 4) + literal("-01-01")

    def begin_writing(self, connection: Connection) -> None:
        # SQLite has one writer at a time. BEGIN IMMEDIATE takes that lock now (waiting up
        # to the connection's timeout), so what the transaction reads (the URLs already
        # there, max(id)) stays true until it commits. A transaction the driver already
        # began holds the lock: only a write begins one.
        if not connection.connection.driver_connection.in_transaction:  # type: ignore[union-attr]
            connection.exec_driver_sql("BEGIN IMMEDIATE")

    def new_ids(self, connection: Connection, table: TableClause, count: int) -> list[int]:
        top: int = connection.execute(select(func.coalesce(func.max(table.c.id), 0))).scalar_one()
        if table.name == "articles":
            # Never an id a removed article had: the changes feed (and any client's copy)
            # knows it as that article's, and its tombstone keeps it.
            gone = table_clause("article_changes", column("article_id", Integer))
            top = max(top, connection.scalar(select(func.max(gone.c.article_id))) or 0)
        return list(range(top + 1, top + 1 + count))

    def insert_ignore(
        self, connection: Connection, table: TableClause, rows: list[dict[str, Any]]
    ) -> None:
        if rows:
            with _inserting(connection, table.name, rows):
                connection.execute(sqlite_insert(table).on_conflict_do_nothing(), rows)

    def bulk_insert(
        self, connection: Connection, table: TableClause, rows: list[dict[str, Any]]
    ) -> None:
        if rows:
            with _inserting(connection, table.name, rows):
                connection.execute(insert(table), rows)

    def set_story_ids(
        self, connection: Connection, values: Sequence[tuple[int, int | None]]
    ) -> None:
        if not values:
            return
        ids = [id_ for id_, _ in values]
        with _in_bulk(connection, "articles", _ARTICLE_UPDATE_TRIGGERS, ids):
            connection.execute(
                _SET_STORY_ID, [{"row_id": id_, "value": value} for id_, value in values]
            )

    def refresh_statistics(self, connection: Connection, tables: Sequence[str] = ()) -> None:
        for name in tables or ("",):
            connection.exec_driver_sql(f"ANALYZE {name}")  # names from the code
        connection.exec_driver_sql("PRAGMA optimize")
