"""Every table that an endpoint reads moves the data version (archive_state.version).

0003 bumped it only on changes to articles and bylines, so renaming a source or an author
with SQL (or a migration doing it) left cached answers and ETags stale with no error.
Now sources, authors, articles, article_authors and the search index all bump it in the
transaction of the change, whoever makes it:

* PostgreSQL: one statement-level trigger per table, AFTER INSERT OR UPDATE OR DELETE OR
  TRUNCATE (0003's did not cover TRUNCATE; they are replaced by these). The search index
  is the ordinary table article_search.
* SQLite (row triggers only): AFTER INSERT, UPDATE and DELETE on each table, one bump per
  row; 0003's triggers on articles and article_authors stay as they are.

The SQLite search index is the FTS5 virtual table articles_fts, and SQLite refuses
triggers on virtual tables. FTS5 keeps each document in its shadow table
articles_fts_content (rowid = article id), writing it through ordinary statements on the
same connection, so triggers there fire for every INSERT, UPDATE and DELETE on
articles_fts, and for a raw write to the shadow table itself. Checked on SQLite 3.40:
inserts (one row or executemany), updates, INSERT OR REPLACE and deletes all fire them;
'optimize', 'merge' and 'rebuild' rewrite only the token segments (articles_fts_data,
articles_fts_idx) and fire none, which is right, since they change no answer. With
SQLITE_DBCONFIG_DEFENSIVE on, the triggers can still be created and fire, and only raw
writes to the shadow tables are refused. Triggers on the other shadow tables would add
nothing (docsize moves with content; data and idx are rewritten by merges that change no
answer). A later switch to a contentless or external-content FTS5 table would have no
articles_fts_content: tests/test_data_version.py then fails until its triggers are
moved to whatever holds the documents.

Adding a table that an endpoint reads: give it the same triggers in its migration (copy
the DDL below; migrations are frozen history, so none imports it).

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-27
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BUMP = "UPDATE archive_state SET version = version + 1"
SQLITE_EVENTS = ("INSERT", "UPDATE", "DELETE")
# 0003 made the triggers of these two.
VERSIONED_BY_0003 = ("articles", "article_authors")
PG_TABLES = ("sources", "authors", "articles", "article_authors", "article_search")
SQLITE_NEW_TABLES = ("sources", "authors", "articles_fts_content")


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for table in SQLITE_NEW_TABLES:
            for event in SQLITE_EVENTS:
                op.execute(
                    f"CREATE TRIGGER {table}_{event.lower()}_version AFTER {event} ON {table} "
                    f"BEGIN {BUMP}; END"
                )
        return
    # The same function 0003 made, restated so that this revision stands on its own.
    op.execute(
        "CREATE OR REPLACE FUNCTION bump_archive_version() RETURNS trigger LANGUAGE plpgsql "
        f"AS $$ BEGIN {BUMP}; RETURN NULL; END $$"
    )
    for table in VERSIONED_BY_0003:
        op.execute(f"DROP TRIGGER IF EXISTS {table}_version ON {table}")
    for table in PG_TABLES:
        op.execute(
            f"CREATE TRIGGER {table}_version "
            f"AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON {table} "
            "FOR EACH STATEMENT EXECUTE FUNCTION bump_archive_version()"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for table in SQLITE_NEW_TABLES:
            for event in SQLITE_EVENTS:
                op.execute(f"DROP TRIGGER IF EXISTS {table}_{event.lower()}_version")
        return
    for table in PG_TABLES:
        op.execute(f"DROP TRIGGER IF EXISTS {table}_version ON {table}")
    # Back to 0003's triggers; its function stays (0003's downgrade drops it).
    for table in VERSIONED_BY_0003:
        op.execute(
            f"CREATE TRIGGER {table}_version AFTER INSERT OR UPDATE OR DELETE ON {table} "
            "FOR EACH STATEMENT EXECUTE FUNCTION bump_archive_version()"
        )
