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
triggers on virtual tables. FTS5 keeps the index in shadow tables that it writes with
ordinary statements on the same connection, and triggers on a shadow table fire for those
writes. Ours go on articles_fts_docsize: FTS5 writes one row there for every document it
adds (REPLACE INTO) and removes (DELETE), an UPDATE being both, and bm25 ranking reads it.
(articles_fts_content also has a row per document but no query reads it; the token
tables, _data and _idx, are rewritten by merges that change no answer.) Checked on SQLite
3.40, and kept checked by tests/test_data_version.py: INSERT (one row or executemany),
UPDATE, INSERT OR REPLACE, DELETE and DELETE with no WHERE through articles_fts all bump;
'optimize' and 'merge' bump nothing; 'rebuild' bumps (harmless). With
SQLITE_DBCONFIG_DEFENSIVE on, the triggers are still created and still fire (only direct
writes to shadow tables are refused; such writes bypass FTS5 and corrupt the index, so
they are out of scope here).

The cost, on SQLite only: archive_state.version is NOT NULL, so the trigger's UPDATE
could abort, so each docsize write inside FTS5 opens a statement savepoint, and FTS5
answers a savepoint by flushing its pending terms (its xSavepoint). Each new document then
becomes a segment of its own, which automerge folds together: writing 19,914 index entries
in one transaction took 2.0 s of CPU instead of 0.5 s, and a one-process ingest of 20,000
generated articles 10.6 s of CPU instead of 9.4 s, about +13% (measured for this revision
on a busy 2-core machine, where wall times were too noisy to compare; searches afterwards
were as fast). Any trigger on a shadow table that FTS5 writes per document costs the
same. Rejected: no INSERT trigger (inserts would be free, but an entry added by hand would
leave cached searches stale), and dropping NOT NULL from the version (a weaker schema, and
a rebuild of archive_state on SQLite). A switch to columnsize=0 (no docsize table) or another index
layout must move these triggers; tests/test_data_version.py fails until they are.

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
SQLITE_NEW_TABLES = ("sources", "authors", "articles_fts_docsize")


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
