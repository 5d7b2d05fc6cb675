"""The one home of everything that differs between SQLite and PostgreSQL.

Each database is one backend behind the `Database` interface below: app.databases.sqlite
and app.databases.postgres. The rest of the code gets its backend from `database_for(x)`
(a dialect name, a URL, an Engine, Connection or Session) and calls it; nothing outside
this package asks which database it is talking to. What differs: the engine's settings
and statement timeout, how an instant is stored, the search index (entries, writing
them, the hits of a query, the planner's hints for a search), the ingest's bulk writes,
the facets' date buckets, the fast reader of the data version and the probe that tells a
replica's lag (app.replicas routes reads with it).
"""

from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, ClassVar, NamedTuple, Protocol

from sqlalchemy import (
    URL,
    ColumnElement,
    Connection,
    Dialect,
    Engine,
    FromClause,
    Select,
    SQLColumnExpression,
    TableClause,
)
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session
from sqlalchemy.sql import column, table

from app.schemas import Interval
from app.search.analyzer import terms
from app.search.query import SearchQuery

# What one article puts in the search index, made ready for its database by the ingest's
# worker processes (small strings travel between processes far cheaper than term lists).
IndexEntry = tuple[str, ...]


class IndexedArticle(NamedTuple):
    """What write_index() takes: the article, its date (the entry's key is made of both,
    app.search.keys) and its entry."""

    article_id: int
    published_at: datetime
    entry: IndexEntry


SEARCH_PARAM = "search"  # the bound parameter holding a query, as search_param() made it


@dataclass(frozen=True)
class SearchIndex:
    """A database's search index as the listings query it (app.queries.listing).

    Each entry is kept under its article's key (app.search.keys), so the index yields the
    matches in date order and a date range is a key range. Everything here refers to the
    query bound as SEARCH_PARAM.
    """

    table: FromClause
    key: ColumnElement[int]
    article_id: ColumnElement[int]
    matches: ColumnElement[bool]
    score: ColumnElement[float]  # relevance of a matching entry; higher is better
    # Where the score can be computed from a column of the entry outside the statement
    # that finds it (PostgreSQL's ts_rank of the vector; not SQLite's bm25, which reads
    # FTS5's cursor): that column, and the score of it. A relevance window is then ranked
    # after its LIMIT, not every match before the sort that picks the window.
    document: ColumnElement[Any] | None = None
    score_of: Callable[[ColumnElement[Any]], ColumnElement[float]] | None = None


VERSION_QUERY = "SELECT version FROM archive_state WHERE id = 1"

# The byline tables as plain table clauses: the backends read them without importing the
# models (which import this package through app.db).
bylines = table("article_authors", column("article_id"), column("position"), column("author_id"))
authors = table("authors", column("id"), column("name"))


class VersionReader(Protocol):
    """Reads the archive's data version (models.ArchiveState) on the event loop, with no
    threadpool hop. None when it cannot answer: the request then takes the ordinary path,
    which reports a database fault as a 503 problem."""

    async def read(self) -> int | None: ...

    async def close(self) -> None: ...


@dataclass(frozen=True)
class ServerState:
    """Where a server stands in the primary's write-ahead log, as its probe saw it."""

    in_recovery: bool  # a standby (replica), not a primary
    lsn: int  # a primary's current WAL position; a standby's last replayed one (bytes)
    received_lsn: int | None  # a standby's last WAL position received from the primary
    replay_age_s: float | None  # a standby: seconds since the commit it replayed last


class ServerProbe(Protocol):
    """Reads a server's state on the event loop, apart from the engine's pool; raises
    ProbeError when the server does not answer."""

    async def read(self) -> ServerState: ...

    async def close(self) -> None: ...


class ProbeError(Exception):
    pass


class Database(ABC):
    """One database's way of doing what the two do differently."""

    name: ClassVar[str]  # SQLAlchemy's backend name: "sqlite", "postgresql"
    index_table: ClassVar[str]  # the search index's table (managed here, not by the models)
    explain_prefix: ClassVar[str]  # what turns a SELECT into its query plan
    estimates_rows: ClassVar[bool]  # whether estimate_rows() answers

    # The engine and the connection.

    @abstractmethod
    def make_engine(
        self,
        url: URL,
        *,
        pool_size: int,
        statement_timeout_ms: int,
        read_only: bool = False,
        cache_bytes: int = 0,
    ) -> Engine:
        """An engine with this database's settings; statement_timeout_ms > 0 cancels any
        statement that runs longer. read_only (the API's engines): each transaction is one
        read-only snapshot, so every query of a request sees the same data. cache_bytes > 0:
        the pages each connection keeps in this process, where the database keeps them
        there (SQLite; a server caches pages on its side)."""

    @abstractmethod
    def stored_instant(self, value: datetime) -> datetime:
        """What a UTC instant (aware) is handed to the driver as (app.db.UTCDateTime)."""

    @abstractmethod
    def is_statement_timeout(self, error: BaseException) -> bool:
        """Was this error (SQLAlchemy's, or the driver's) a statement cancelled by the
        statement timeout of make_engine()?"""

    @abstractmethod
    def version_reader(self, url: URL) -> VersionReader:
        """A light reader of the data version, apart from the engine's pool."""

    @abstractmethod
    def opens_elsewhere(self, url: URL) -> bool:
        """Can another process open this database by its URL and see what is committed
        (not an in-memory SQLite database)?"""

    @abstractmethod
    def server_probe(self, url: URL) -> ServerProbe:
        """A probe of the server's replication state (raises ValueError where this database
        has no replicas)."""

    # The search index.

    def index_entry(self, title: str, body: str) -> IndexEntry:
        """An article's index entry, from its title and body (pure: runs in workers)."""
        return self.index_entry_of(terms(title), terms(body))

    @abstractmethod
    def index_entry_of(self, title_terms: list[str], body_terms: list[str]) -> IndexEntry:
        """An article's index entry from the analyzer's terms of its title and body
        (app.search.analyzer.terms), for a caller that has them already (the ingest
        also describes the article with them)."""

    @abstractmethod
    def write_index(
        self,
        connection: Connection,
        *,
        new: Sequence[IndexedArticle] = (),
        changed: Sequence[IndexedArticle] = (),
    ) -> None:
        """Write index entries: `new` articles have none yet (bulk-inserted), `changed`
        ones may have one (replaced). Every writer of the index comes here."""

    @abstractmethod
    def search_index(self) -> SearchIndex:
        """The index, for listings that walk its matches in key (date) order."""

    @abstractmethod
    def search_param(self, query: SearchQuery) -> str:
        """The query as this database's index takes it (bound as SEARCH_PARAM)."""

    @abstractmethod
    def key_of(
        self, article_id: ColumnElement[int], published_at: ColumnElement[datetime]
    ) -> ColumnElement[int]:
        """An article's search key in SQL, as app.search.keys.search_key() makes it."""

    @abstractmethod
    def probe(
        self, article_id: ColumnElement[int], published_at: ColumnElement[datetime]
    ) -> ColumnElement[bool]:
        """Does this article match the query? For listings driven by other filters, which
        look an article up in the index rather than walking it."""

    @abstractmethod
    def probed_score(
        self, article_id: ColumnElement[int], published_at: ColumnElement[datetime]
    ) -> ColumnElement[float]:
        """This article's relevance to the query, NULL if it does not match (as probe())."""

    @abstractmethod
    def byline(self, article_id: ColumnElement[int]) -> ColumnElement[str]:
        """The article's byline as JSON text, read with its row: a list of [position,
        author id, name] in any order (the caller sorts by position), or NULL."""

    @abstractmethod
    def estimate_rows(
        self, connection: Connection, statement: Select[Any], params: dict[str, Any]
    ) -> int | None:
        """How many rows the database itself expects the statement to find, without
        running it; None if it keeps no statistics that would make that worth having."""

    @abstractmethod
    def plan_search(self, connection: Connection) -> None:
        """Planner hints for the rest of this transaction, before a search's queries."""

    @abstractmethod
    def plan_key_walk(
        self, connection: Connection, matches: int, walked: Callable[[], int]
    ) -> bool:
        """Planner hints for the rest of this transaction, before a statement that reads
        the newest of a search's `matches` in key order, where walking the index in that
        order would read about walked() entries to find them (a count: call it only if
        it matters). True if the database will read every match and then sort them
        (rather than walk the index and stop after a page)."""

    # Facets.

    @abstractmethod
    def date_bucket(
        self, instant: SQLColumnExpression[Any], interval: Interval
    ) -> ColumnElement[Any]:
        """The start of the UTC day/week (Monday)/month/year holding instant: a datetime,
        or its ISO text."""

    # The ingest's writes.

    @abstractmethod
    def begin_writing(self, connection: Connection) -> None:
        """Start a transaction that writes, before anything it reads: from here until commit
        no other writer takes the ids that new_ids() hands out."""

    @abstractmethod
    def new_ids(self, connection: Connection, table: TableClause, count: int) -> list[int]:
        """Ids for count new rows of table, so a batch goes in with no RETURNING."""

    @abstractmethod
    def insert_ignore(
        self, connection: Connection, table: TableClause, rows: list[dict[str, Any]]
    ) -> None:
        """INSERT … ON CONFLICT DO NOTHING: concurrent ingests may race to add a name."""

    @abstractmethod
    def bulk_insert(
        self, connection: Connection, table: TableClause, rows: list[dict[str, Any]]
    ) -> None:
        """Insert rows that are known to be new, the fastest way this database has."""

    @abstractmethod
    def set_story_ids(
        self, connection: Connection, values: Sequence[tuple[int, int | None]]
    ) -> None:
        """Set the story_id of many articles, given as (article id, story id), in as few
        statements as this database allows, moving the data version and the changes feed
        as the triggers do for any other write."""

    @abstractmethod
    def refresh_statistics(self, connection: Connection, tables: Sequence[str] = ()) -> None:
        """Let the query planner see the data just loaded (in these tables, or all)."""


DatabaseLike = str | URL | Dialect | Engine | Connection | Session


def database_for(x: DatabaseLike) -> Database:
    """The backend of a dialect name ("sqlite"), a URL (text or parsed), a Dialect, or what
    an Engine, Connection or Session is bound to."""
    # Dialect first: UTCDateTime asks with one for every instant it binds.
    if isinstance(x, Dialect):
        name = x.name
    elif isinstance(x, URL):
        name = x.get_backend_name()
    elif isinstance(x, str):
        name = make_url(x).get_backend_name() if "://" in x else x
    else:
        bind = x.get_bind() if isinstance(x, Session) else x
        name = bind.dialect.name
    try:
        return DATABASES[name]
    except KeyError:
        raise ValueError(f"unsupported database {name!r}: use SQLite or PostgreSQL") from None


# The backends implement the interface above, so they come after it.
from app.databases.postgres import PostgreSQL  # noqa: E402
from app.databases.sqlite import SQLite  # noqa: E402

DATABASES: dict[str, Database] = {db.name: db for db in (SQLite(), PostgreSQL())}
