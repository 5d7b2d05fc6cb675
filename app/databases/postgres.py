"""PostgreSQL: the engine's connect arguments, the tsvector search index, the ingest's
writes (COPY, ids from the sequence), the psycopg async reader of the data version and the
probe of a server's replication state.

Every connection works behind PgBouncer in transaction pooling mode, where consecutive
transactions of one client may run on different server connections and the server sees
no startup options: nothing is set for the session. The statement timeout is a
`SET LOCAL` in each transaction, and psycopg never prepares statements (a prepared
statement lives on one server connection only). docs/scaling.md has what each costs.

The search index is ``article_search(article_id, sort_key, vector tsvector)``: sort_key is
the article's key (app.search.keys: published_at and id). A GIN index on the vector finds
a query's matches, which the planner intersects with a date range from the btree on
sort_key where the range is narrow; the same btree lets it walk the newest entries first
(migrations 0002, 0007, 0011; plan_key_walk chooses between the two). The vector is built
here from the same terms as SQLite's (title
weighted A, body B) and cast from its text form, so no text search configuration
re-analyses it: Russian lemmas and English stems come from the one analyzer
(app.search.analyzer), and both databases find the same articles for the same query.
Ranked with ts_rank (A = 1.0, B = 0.4).
"""

import asyncio
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

import psycopg
import psycopg.errors
from sqlalchemy import (
    URL,
    BigInteger,
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
    literal,
    select,
    table,
    text,
)
from sqlalchemy.dialects.postgresql import TSVECTOR
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.types import UserDefinedType

from app.databases import (
    SEARCH_PARAM,
    VERSION_QUERY,
    Database,
    IndexedArticle,
    IndexEntry,
    ProbeError,
    SearchIndex,
    ServerProbe,
    ServerState,
    VersionReader,
    authors,
    bylines,
)
from app.schemas import Interval
from app.search import keys
from app.search.query import Phrase, SearchQuery

PG_TABLE = "article_search"
# Title and body positions are kept apart so a phrase never spans the two (as in FTS5,
# where they are separate columns).
BODY_POSITION_GAP = 10
PG_MAX_POSITION = 16383
PG_MAX_POSITIONS_PER_TERM = 256
# PostgreSQL refuses a tsvector over 1 MiB, which would fail the ingest's whole batch; a
# body of ~150k distinct words gets there. Terms past this budget (estimated as PostgreSQL
# counts: a 4-byte entry, the lexeme padded to 2 bytes, a 2-byte count, 2 per position)
# are left out, so the article is found by its first ~100k distinct words.
PG_TSVECTOR_BUDGET = 1_000_000
RETRY_AFTER_SECONDS = 1.0  # after a failed connect, requests skip the version reader this long
CONNECT_TIMEOUT_S = 3  # unless the URL says otherwise: a server that does not answer is down
# psycopg prepares a statement after it ran this many times on a connection; None: never,
# which PgBouncer's transaction pooling needs (docs/scaling.md: what it costs).
PREPARE_THRESHOLD = None
# A standby's replay position and how far its WAL receiver got; a primary's current one.
_PROBE = """
SELECT pg_is_in_recovery(),
       (CASE WHEN pg_is_in_recovery() THEN pg_last_wal_replay_lsn()
             ELSE pg_current_wal_lsn() END - '0/0'::pg_lsn)::bigint,
       (pg_last_wal_receive_lsn() - '0/0'::pg_lsn)::bigint,
       extract(epoch FROM clock_timestamp() - pg_last_xact_replay_timestamp())::float8
"""

article_search = table(
    PG_TABLE,
    column("article_id", Integer),
    column("sort_key", BigInteger),
    column("vector", TSVECTOR),
)
_UPSERT_ENTRIES = text(
    "INSERT INTO article_search (article_id, sort_key, vector) "
    "VALUES (:article_id, :sort_key, CAST(:vector AS tsvector)) "
    "ON CONFLICT (article_id) DO UPDATE "
    "SET sort_key = EXCLUDED.sort_key, vector = EXCLUDED.vector"
)
_NEXT_IDS = text(
    "SELECT nextval(pg_get_serial_sequence(:table, 'id')) FROM generate_series(1, :count)"
)


class _TsQuery(UserDefinedType[str]):
    cache_ok = True

    def get_col_spec(self, **kw: Any) -> str:
        return "tsquery"


def tsvector_text(title_terms: list[str], body_terms: list[str]) -> str:
    positions: dict[str, list[str]] = defaultdict(list)
    for i, term in enumerate(title_terms, start=1):
        positions[term].append(f"{min(i, PG_MAX_POSITION)}A")
    offset = len(title_terms) + BODY_POSITION_GAP
    for i, term in enumerate(body_terms, start=offset):
        positions[term].append(f"{min(i, PG_MAX_POSITION)}B")
    lexemes: list[str] = []
    size = 8
    for term, places in positions.items():
        kept = places[:PG_MAX_POSITIONS_PER_TERM]
        encoded = len(term.encode())
        size += 4 + encoded + encoded % 2 + 2 + 2 * len(kept)
        if size > PG_TSVECTOR_BUDGET:
            break
        lexemes.append(f"'{term}':{','.join(kept)}")
    return " ".join(lexemes)


def tsquery_text(query: SearchQuery) -> str:
    """The tsquery text (cast with ::tsquery, no parsing by a configuration)."""

    def phrase(p: Phrase) -> str:
        text = " <-> ".join(f"'{t}'" for t in p.terms)
        return f"({text})" if len(p.terms) > 1 else text

    parts = []
    for clause in query.clauses:
        group = " | ".join(phrase(p) for p in clause.alternatives)
        parts.append(f"!({group})" if clause.negated else f"({group})")
    return " & ".join(parts)


_TSQUERY = cast(bindparam(SEARCH_PARAM, type_=String()), _TsQuery())
_MATCHES = article_search.c.vector.op("@@")(_TSQUERY)
# An index entry walked in key order costs about this many matches read through GIN (its
# vector is read from TOAST either way; the walk also steps over entries that do not
# match). Measured at 100k articles: ~16 µs an entry walked, ~4 µs a match from GIN.
WALKED_ENTRY_COST = 4


# ts_rank is float4; as float8 its value survives the trip through a cursor.
def _rank(vector: ColumnElement[Any]) -> ColumnElement[float]:
    return cast(func.ts_rank(vector, _TSQUERY), Double)


_SCORE = _rank(article_search.c.vector)
_SEARCH_INDEX = SearchIndex(
    table=article_search,
    key=article_search.c.sort_key,
    article_id=article_search.c.article_id,
    matches=_MATCHES,
    score=_SCORE,
    # Ranked in the projection, ts_rank reads every match's vector from TOAST before the
    # sort (at 100k articles, a window of 1,000 of 15,000 matches: 430 ms; after: 48 ms).
    document=article_search.c.vector,
    score_of=_rank,
)


async def _light_connection(conninfo: str) -> "psycopg.AsyncConnection[Any]":
    """A connection of its own for a light read on the event loop: no pool, autocommit."""
    return await psycopg.AsyncConnection.connect(
        conninfo, autocommit=True, connect_timeout=2, prepare_threshold=PREPARE_THRESHOLD
    )


class PostgresVersion:
    """One psycopg async connection, one query at a time, shared by concurrent requests.

    Requests that arrive while a read is under way wait for the next read, which starts
    after all of them arrived, and share its answer: a version is never older than the
    request asking for it, and 16 concurrent cache hits cost two round trips, not 16 in a
    queue.
    """

    def __init__(self, conninfo: str) -> None:
        self._conninfo = conninfo
        self._connection: psycopg.AsyncConnection[tuple[int]] | None = None
        self._lock = asyncio.Lock()
        self._down_until = 0.0
        self._next: asyncio.Future[int | None] | None = None  # the read not yet started
        self._reads: set[asyncio.Task[None]] = set()  # held so they are not collected

    async def read(self) -> int | None:
        if time.monotonic() < self._down_until:
            return None
        if self._next is None:
            self._next = asyncio.get_running_loop().create_future()
            task = asyncio.create_task(self._read(self._next))
            self._reads.add(task)
            task.add_done_callback(self._reads.discard)
        # shield: one client going away must not cancel the read the others wait for
        return await asyncio.shield(self._next)

    async def _read(self, answer: "asyncio.Future[int | None]") -> None:
        async with self._lock:
            self._next = None  # whoever arrives from now on needs a read that starts later
            try:
                answer.set_result(await self._query())
            except asyncio.CancelledError:  # shutting down: the waiters stop too, never hang
                answer.cancel()
                raise
            except Exception as exc:  # anything _query did not expect reaches the waiters
                answer.set_exception(exc)

    async def _query(self) -> int | None:
        try:
            if self._connection is None or self._connection.closed:
                self._connection = await _light_connection(self._conninfo)
            cursor = await self._connection.execute(VERSION_QUERY)
            row = await cursor.fetchone()
        except psycopg.Error:
            self._down_until = time.monotonic() + RETRY_AFTER_SECONDS
            await self._discard()
            return None
        return int(row[0]) if row else None

    async def _discard(self) -> None:
        if self._connection is not None:
            await self._connection.close()
            self._connection = None

    async def close(self) -> None:
        async with self._lock:
            await self._discard()


class PostgresProbe:
    """One psycopg async connection that reads the server's replication state."""

    def __init__(self, conninfo: str) -> None:
        self._conninfo = conninfo
        self._connection: psycopg.AsyncConnection[Any] | None = None

    async def read(self) -> ServerState:
        try:
            if self._connection is None or self._connection.closed:
                self._connection = await _light_connection(self._conninfo)
            cursor = await self._connection.execute(_PROBE)
            row = await cursor.fetchone()
        except psycopg.Error as exc:
            await self.close()
            raise ProbeError(str(exc).strip() or exc.__class__.__name__) from exc
        if row is None or row[1] is None:
            raise ProbeError("the server reported no WAL position")
        return ServerState(bool(row[0]), int(row[1]), row[2], row[3])

    async def close(self) -> None:
        if self._connection is not None:
            await self._connection.close()
            self._connection = None


def _conninfo(url: URL) -> str:
    """psycopg's own conninfo for a SQLAlchemy URL."""
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


class PostgreSQL(Database):
    name = "postgresql"
    index_table = PG_TABLE
    explain_prefix = "EXPLAIN "
    estimates_rows = True

    def make_engine(
        self,
        url: URL,
        *,
        pool_size: int,
        statement_timeout_ms: int,
        read_only: bool = False,
        cache_bytes: int = 0,
    ) -> Engine:
        connect_args: dict[str, Any] = {"prepare_threshold": PREPARE_THRESHOLD}
        if "connect_timeout" not in url.query:
            connect_args["connect_timeout"] = CONNECT_TIMEOUT_S
        if read_only:
            # Each transaction is one read-only snapshot, which a replica serves too, and its
            # statement timeout goes in the same message as its BEGIN: the timeout costs no
            # round trip. psycopg would send its own BEGIN first, so the driver is left in
            # autocommit and the app begins (the pattern SQLAlchemy documents for sqlite3);
            # psycopg's commit and rollback follow the server's transaction status.
            begin = "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY"
            if statement_timeout_ms:
                begin += f"; SET LOCAL statement_timeout = {int(statement_timeout_ms)}"
        else:
            begin = f"SET LOCAL statement_timeout = {int(statement_timeout_ms)}"
        # Pre-ping: a connection the server (or the network) dropped is replaced before use,
        # so the API recovers on its own once the database is back.
        engine = create_engine(
            url,
            pool_size=pool_size,
            max_overflow=pool_size,
            pool_pre_ping=True,
            connect_args=connect_args,
            **({"isolation_level": "AUTOCOMMIT"} if read_only else {}),
        )
        if read_only or statement_timeout_ms:

            @event.listens_for(engine, "begin")
            def _begin(connection: Connection) -> None:
                connection.exec_driver_sql(begin)

        return engine

    def stored_instant(self, value: datetime) -> datetime:
        return value  # timestamptz

    def is_statement_timeout(self, error: BaseException) -> bool:
        return isinstance(getattr(error, "orig", error), psycopg.errors.QueryCanceled)

    def version_reader(self, url: URL) -> VersionReader:
        return PostgresVersion(_conninfo(url))

    def opens_elsewhere(self, url: URL) -> bool:
        return True

    def server_probe(self, url: URL) -> ServerProbe:
        return PostgresProbe(_conninfo(url))

    def index_entry_of(self, title_terms: list[str], body_terms: list[str]) -> IndexEntry:
        return (tsvector_text(title_terms, body_terms),)

    def write_index(
        self,
        connection: Connection,
        *,
        new: Sequence[IndexedArticle] = (),
        changed: Sequence[IndexedArticle] = (),
    ) -> None:
        def row(article: IndexedArticle) -> dict[str, Any]:
            key = keys.search_key(article.published_at, article.article_id)
            return {"article_id": article.article_id, "sort_key": key, "vector": article.entry[0]}

        self.bulk_insert(connection, article_search, [row(a) for a in new])
        if changed:
            connection.execute(_UPSERT_ENTRIES, [row(a) for a in changed])

    def search_index(self) -> SearchIndex:
        return _SEARCH_INDEX

    def search_param(self, query: SearchQuery) -> str:
        return tsquery_text(query)

    def key_of(
        self, article_id: ColumnElement[int], published_at: ColumnElement[datetime]
    ) -> ColumnElement[int]:
        seconds = cast(func.floor(func.extract("epoch", published_at)), BigInteger)
        clamped = func.greatest(0, func.least(keys.MAX_SECONDS, seconds + keys.EPOCH_OFFSET))
        key: ColumnElement[int] = clamped.op("<<", return_type=BigInteger)(keys.ID_BITS).op(
            "|", return_type=BigInteger
        )(article_id)
        return key

    def probe(
        self, article_id: ColumnElement[int], published_at: ColumnElement[datetime]
    ) -> ColumnElement[bool]:
        return (
            select(literal(1))
            .select_from(article_search)
            .where(_MATCHES, article_search.c.article_id == article_id)
            .exists()
        )

    def probed_score(
        self, article_id: ColumnElement[int], published_at: ColumnElement[datetime]
    ) -> ColumnElement[float]:
        return (
            select(_SCORE)
            .where(_MATCHES, article_search.c.article_id == article_id)
            .scalar_subquery()
        )

    def byline(self, article_id: ColumnElement[int]) -> ColumnElement[str]:
        column: ColumnElement[str] = (
            select(
                cast(
                    func.json_agg(
                        func.json_build_array(bylines.c.position, authors.c.id, authors.c.name)
                    ),
                    String,
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
        # For a search, from the tsvector statistics ANALYZE keeps: each common lexeme's
        # frequency. The values are rendered as literals (escaped by SQLAlchemy).
        bound = statement.params({k: v for k, v in params.items() if v is not None})
        sql = bound.compile(connection, compile_kwargs={"literal_binds": True})
        plan = connection.exec_driver_sql(f"EXPLAIN (FORMAT JSON) {sql}").scalar_one()
        return int(plan[0]["Plan"]["Plan Rows"])

    def plan_search(self, connection: Connection) -> None:
        # The tsvectors live out of line (TOAST), which the planner's costs miss: it reads
        # every vector in a sequential scan (1.4 s at 100k articles) where the GIN index
        # answers in milliseconds. Only this transaction is affected.
        connection.exec_driver_sql("SET LOCAL enable_seqscan = off")

    def plan_key_walk(
        self, connection: Connection, matches: int, walked: Callable[[], int]
    ) -> bool:
        # The btree on sort_key yields entries in key order, matching or not, and each
        # costs its vector read from TOAST to test it; GIN yields the matches alone, to
        # be sorted by key. The planner counts neither the TOAST reads nor how far the
        # walk goes (at 100k articles, the newest 1,000 of 3,800 matches for relevance:
        # 448 ms walking, 61 ms from GIN), so the cheaper of the two is chosen here.
        if WALKED_ENTRY_COST * walked() <= matches:
            return False
        connection.exec_driver_sql("SET LOCAL enable_indexscan = off")
        return True

    def date_bucket(
        self, instant: SQLColumnExpression[Any], interval: Interval
    ) -> ColumnElement[Any]:
        return func.date_trunc(interval, func.timezone("UTC", instant))

    def begin_writing(self, connection: Connection) -> None:
        # Writers run side by side: ids come from the sequence, and names go in with
        # insert_ignore.
        return None

    def new_ids(self, connection: Connection, table: TableClause, count: int) -> list[int]:
        return list(connection.scalars(_NEXT_IDS, {"table": table.name, "count": count}))

    def insert_ignore(
        self, connection: Connection, table: TableClause, rows: list[dict[str, Any]]
    ) -> None:
        if rows:
            connection.execute(pg_insert(table).on_conflict_do_nothing(), rows)

    def bulk_insert(
        self, connection: Connection, table: TableClause, rows: list[dict[str, Any]]
    ) -> None:
        """COPY: several times faster than an executemany of INSERTs."""
        if not rows:
            return
        columns = list(rows[0])
        cursor = connection.connection.driver_connection.cursor()  # type: ignore[union-attr]
        statement = f"COPY {table.name} ({', '.join(columns)}) FROM STDIN"
        with cursor, cursor.copy(statement) as copy:
            for row in rows:
                copy.write_row([row[c] for c in columns])

    def set_story_ids(
        self, connection: Connection, values: Sequence[tuple[int, int | None]]
    ) -> None:
        # One statement: the statement-level triggers (data version, changes feed) fire once.
        if values:
            connection.execute(
                text(
                    "UPDATE articles AS t SET story_id = v.value "
                    "FROM unnest(CAST(:ids AS integer[]), CAST(:values AS integer[])) "
                    "AS v(id, value) WHERE t.id = v.id"
                ),
                {"ids": [id_ for id_, _ in values], "values": [v for _, v in values]},
            )

    def refresh_statistics(self, connection: Connection, tables: Sequence[str] = ()) -> None:
        # A freshly filled table has no statistics until autovacuum gets to it, and the
        # planner then picks scans that cost seconds.
        connection.exec_driver_sql(f"ANALYZE {', '.join(tables)}")  # names from the code
