"""The search index on each backend: what the ingest writes and the listing matches.

SQLite: an FTS5 table ``articles_fts(title, body)`` whose rowid is the article id, holding
the analysed terms (app.search.analyzer) separated by spaces; FTS5's own tokenizer then
only splits on those spaces. Ranked with bm25, the title weighing TITLE_WEIGHT times the
body. A trigger drops an article's row when the article is deleted.

PostgreSQL: ``article_search(article_id, vector tsvector)`` with a GIN index. The vector
is built here from the same terms (title weighted A, body B) and cast from its text form,
so no text search configuration re-analyses it: Russian lemmas and English stems come
from the one analyzer, and both backends find the same articles for the same query.
Ranked with ts_rank (A = 1.0, B = 0.4).
"""

from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from sqlalchemy import (
    Connection,
    Double,
    Integer,
    Select,
    String,
    bindparam,
    cast,
    column,
    func,
    insert,
    literal_column,
    select,
    table,
    text,
)
from sqlalchemy.dialects.postgresql import TSVECTOR
from sqlalchemy.orm import Session
from sqlalchemy.sql.expression import ColumnClause, TableClause
from sqlalchemy.types import UserDefinedType

from app.search.analyzer import terms
from app.search.query import SearchQuery

FTS_TABLE = "articles_fts"
PG_TABLE = "article_search"
TITLE_WEIGHT = 5.0
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

article_search = table(PG_TABLE, column("article_id", Integer), column("vector", TSVECTOR))
fts_table = table(FTS_TABLE, column("rowid", Integer), column("title"), column("body"))


class _TsQuery(UserDefinedType[str]):
    cache_ok = True

    def get_col_spec(self, **kw: Any) -> str:
        return "tsquery"


# What one article puts in the index, made ready for its backend by the ingest's workers
# (small strings travel between processes far cheaper than lists of terms):
# SQLite (title terms, body terms), each space-separated; PostgreSQL (tsvector text,).
IndexEntry = tuple[str, ...]


def index_entry(dialect: str, title: str, body: str) -> IndexEntry:
    title_terms, body_terms = terms(title), terms(body)
    if dialect == "postgresql":
        return (tsvector_text(title_terms, body_terms),)
    return " ".join(title_terms), " ".join(body_terms)


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


def index_table(dialect: str) -> TableClause:
    """The table that index_rows() go into, for bulk inserts of new articles' entries."""
    return article_search if dialect == "postgresql" else fts_table


def index_rows(dialect: str, entries: Sequence[tuple[int, IndexEntry]]) -> list[dict[str, Any]]:
    if dialect == "postgresql":
        return [{"article_id": id_, "vector": entry[0]} for id_, entry in entries]
    return [{"rowid": id_, "title": entry[0], "body": entry[1]} for id_, entry in entries]


def write_entries(
    connection: Session | Connection, entries: Sequence[tuple[int, IndexEntry]]
) -> None:
    """Add or replace the index entries of these articles: (article id, entry)."""
    if not entries:
        return
    bind = connection.get_bind() if isinstance(connection, Session) else connection
    dialect = bind.dialect.name
    if dialect == "postgresql":
        connection.execute(
            text(
                "INSERT INTO article_search (article_id, vector) "
                "VALUES (:article_id, CAST(:vector AS tsvector)) "
                "ON CONFLICT (article_id) DO UPDATE SET vector = EXCLUDED.vector"
            ),
            index_rows(dialect, entries),
        )
        return
    connection.execute(
        text("DELETE FROM articles_fts WHERE rowid = :id"), [{"id": id_} for id_, _ in entries]
    )
    connection.execute(insert(fts_table), index_rows(dialect, entries))


def hits(dialect: str, query: SearchQuery, *, ranked: bool) -> Select[*tuple[Any, ...]]:
    """SELECT id of the matching articles, and with ranked their score (higher is better).

    Ranking costs a score for every match, so only relevance order asks for it.
    """
    if dialect == "postgresql":
        tsquery = cast(bindparam("tsquery", query.to_tsquery(), type_=String), _TsQuery())
        columns: list[Any] = [article_search.c.article_id.label("id")]
        if ranked:
            # ts_rank is float4; as float8 its value survives the trip through a cursor.
            rank = cast(func.ts_rank(article_search.c.vector, tsquery), Double)
            columns.append(rank.label("score"))
        return select(*columns).where(article_search.c.vector.op("@@")(tsquery))
    fts: ColumnClause[Any] = literal_column(FTS_TABLE)
    columns = [literal_column("rowid", Integer).label("id")]
    if ranked:
        columns.append((-func.bm25(fts, TITLE_WEIGHT, 1.0, type_=Double)).label("score"))
    return (
        select(*columns)
        .select_from(table(FTS_TABLE))
        .where(fts.op("MATCH")(bindparam("fts_match", query.to_fts5())))
    )
