"""The search index keyed by (published_at, id): matches come out in date order.

Each index entry moves from the article id to the key of app.search.keys: seconds since
1900-01-01 UTC (clamped to 35 bits) shifted left 28 bits, or-ed with the article id. A
search by date then reads the index in key order and stops after a page, a date range is a
key range inside the index, and the matches of a range are counted without leaving it.

* published_at is kept to the second from now on (app.ingest.parser); instants already
  stored with a fraction of a second are cut to the second, in articles and bylines.
* SQLite: the FTS5 rowid becomes the key. The trigger dropping a deleted article's entry
  (0002's) finds it by key, and a new trigger moves the entry when an article's
  published_at changes, whoever changes it.
* PostgreSQL: article_search gains sort_key (the key), a GIN index on (vector, sort_key)
  (btree_gin, a trusted contrib extension) so that a date range narrows the matches
  inside the index, and a btree on sort_key to walk the newest entries first. A trigger
  keeps sort_key following published_at.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID_BITS = 28
MAX_SECONDS = (1 << 35) - 1
EPOCH_OFFSET = 2_208_988_800  # 1900-01-01 to 1970-01-01 in seconds


def _sqlite_key(row: str) -> str:
    seconds = f"CAST(strftime('%s', substr({row}.published_at, 1, 19)) AS INTEGER)"
    return f"((max(0, min({MAX_SECONDS}, {seconds} + {EPOCH_OFFSET})) << {ID_BITS}) | {row}.id)"


def _postgres_key(row: str) -> str:
    seconds = f"floor(extract(epoch FROM {row}.published_at))::bigint"
    return (
        f"((greatest(0, least({MAX_SECONDS}, {seconds} + {EPOCH_OFFSET})) << {ID_BITS}) | {row}.id)"
    )


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for table in ("articles", "article_authors"):
            op.execute(
                f"UPDATE {table} SET published_at = substr(published_at, 1, 19) || '.000000' "
                "WHERE substr(published_at, 20) <> '.000000'"
            )
        op.execute(
            "UPDATE articles_fts SET rowid = "
            f"(SELECT {_sqlite_key('a')} FROM articles a WHERE a.id = articles_fts.rowid)"
        )
        op.execute("DROP TRIGGER articles_fts_delete")
        op.execute(
            "CREATE TRIGGER articles_fts_delete AFTER DELETE ON articles BEGIN "
            f"DELETE FROM articles_fts WHERE rowid = {_sqlite_key('old')}; END"
        )
        op.execute(
            "CREATE TRIGGER articles_fts_move AFTER UPDATE OF published_at, id ON articles "
            f"WHEN {_sqlite_key('old')} <> {_sqlite_key('new')} BEGIN "
            f"UPDATE articles_fts SET rowid = {_sqlite_key('new')} "
            f"WHERE rowid = {_sqlite_key('old')}; END"
        )
        return
    for table in ("articles", "article_authors"):
        op.execute(
            f"UPDATE {table} SET published_at = date_trunc('second', published_at) "
            "WHERE published_at <> date_trunc('second', published_at)"
        )
    op.execute("CREATE EXTENSION IF NOT EXISTS btree_gin")
    op.execute("ALTER TABLE article_search ADD COLUMN sort_key BIGINT")
    op.execute(
        f"UPDATE article_search s SET sort_key = {_postgres_key('a')} "
        "FROM articles a WHERE a.id = s.article_id"
    )
    op.execute("ALTER TABLE article_search ALTER COLUMN sort_key SET NOT NULL")
    op.execute("DROP INDEX ix_article_search_vector")
    op.execute(
        "CREATE INDEX ix_article_search_vector_sort_key ON article_search "
        "USING gin (vector, sort_key)"
    )
    op.execute("CREATE INDEX ix_article_search_sort_key ON article_search (sort_key)")
    op.execute(
        "CREATE FUNCTION move_search_key() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
        f"UPDATE article_search SET sort_key = {_postgres_key('NEW')} "
        "WHERE article_id = NEW.id; RETURN NULL; END $$"
    )
    op.execute(
        "CREATE TRIGGER articles_search_key AFTER UPDATE OF published_at ON articles "
        "FOR EACH ROW WHEN (OLD.published_at IS DISTINCT FROM NEW.published_at) "
        "EXECUTE FUNCTION move_search_key()"
    )


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute("DROP TRIGGER articles_fts_move")
        op.execute("DROP TRIGGER articles_fts_delete")
        op.execute(
            "CREATE TRIGGER articles_fts_delete AFTER DELETE ON articles BEGIN "
            "DELETE FROM articles_fts WHERE rowid = old.id; END"
        )
        op.execute(f"UPDATE articles_fts SET rowid = rowid & {(1 << ID_BITS) - 1}")
        return
    op.execute("DROP TRIGGER articles_search_key ON articles")
    op.execute("DROP FUNCTION move_search_key()")
    op.execute("DROP INDEX ix_article_search_sort_key")
    op.execute("DROP INDEX ix_article_search_vector_sort_key")
    op.execute("CREATE INDEX ix_article_search_vector ON article_search USING gin (vector)")
    op.execute("ALTER TABLE article_search DROP COLUMN sort_key")
