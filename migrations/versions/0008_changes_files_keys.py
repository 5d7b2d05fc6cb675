"""The changes feed (article_changes), the file each article came from (article_files) and
API keys (api_keys).

article_changes holds one row per article there ever was: its last change's position
(`seq`) and URL, and whether it is deleted (a tombstone). Triggers keep it, whoever
writes, in the transaction of the change:

* an article inserted or updated gets a new position; deleted, it becomes a tombstone
  with a new position (PostgreSQL's TRUNCATE too); an id renumbered by hand leaves a
  tombstone for the old id;
* a change to its byline (article_authors) or a rename of its source or of one of its
  authors moves it to a new position too, since what the feed serves of it changed.

Positions come from archive_state.change_seq, bumped in the same statement that hands
them out. That UPDATE takes archive_state's row lock, which every writing transaction
already takes at its first write (the version triggers of 0003/0005) and holds until it
commits: so writers hand out positions one transaction at a time, in the order they
commit, and a reader that has seen position N has seen every change at or below it. (A
PostgreSQL SEQUENCE would not do: nextval() is not transactional, so a transaction that
took 10 and committed after another that took 11 would appear behind a reader that
already read past 11.) SQLite has one writer at a time anyway; the counter keeps
positions rising even if rows of article_changes are deleted by hand. On PostgreSQL a
byline change does not move an article already moved by the same transaction (its row's
xmin is that transaction), which spares the ingest a second write per article; SQLite
cannot tell, and moves it again (harmless: the feed reads the article as it is now).

archive_state.archive_id names this database's history: a feed position from another
database (a rebuilt archive) is refused instead of silently skipping changes.

article_files and api_keys are read by no endpoint (the ingest's --prune and the request
authentication read them), so they do not move the data version.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-30
"""

import secrets
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BUMP = "UPDATE archive_state SET version = version + 1"
UPSERT = (
    "ON CONFLICT (article_id) DO UPDATE SET "
    "seq = excluded.seq, url = excluded.url, deleted = excluded.deleted"
)

# --- SQLite: row triggers ---------------------------------------------------------------

_SQLITE_NEXT = "UPDATE archive_state SET change_seq = change_seq + 1;"
_SQLITE_SEQ = "(SELECT change_seq FROM archive_state)"


def _sqlite_record(row: str, deleted: int) -> str:
    return (
        f"{_SQLITE_NEXT} INSERT INTO article_changes (article_id, seq, url, deleted) "
        f"VALUES ({row}.id, {_SQLITE_SEQ}, {row}.url, {deleted}) {UPSERT};"
    )


def _sqlite_touch(article_id: str) -> str:
    return (
        f"{_SQLITE_NEXT} UPDATE article_changes SET seq = {_SQLITE_SEQ} "
        f"WHERE article_id = {article_id} AND NOT deleted;"
    )


def _sqlite_touch_many(ids: str) -> str:
    """Move every article of the query ids (one column, id) to a new position each."""
    return (
        f"UPDATE article_changes SET seq = {_SQLITE_SEQ} + t.n FROM "
        f"(SELECT id, row_number() OVER (ORDER BY id) AS n FROM ({ids})) AS t "
        "WHERE article_changes.article_id = t.id AND NOT article_changes.deleted; "
        f"UPDATE archive_state SET change_seq = change_seq + (SELECT count(*) FROM ({ids}));"
    )


SQLITE_TRIGGERS = {
    "articles_changes_insert": "AFTER INSERT ON articles BEGIN "
    + _sqlite_record("new", 0)
    + " END",
    "articles_changes_update": "AFTER UPDATE ON articles BEGIN "
    + _sqlite_record("new", 0)
    + " END",
    "articles_changes_renumber": "AFTER UPDATE OF id ON articles WHEN old.id <> new.id BEGIN "
    + _sqlite_record("old", 1)
    + " END",
    "articles_changes_delete": "AFTER DELETE ON articles BEGIN "
    + _sqlite_record("old", 1)
    + " END",
    "article_authors_changes_insert": "AFTER INSERT ON article_authors BEGIN "
    + _sqlite_touch("new.article_id")
    + " END",
    "article_authors_changes_update": "AFTER UPDATE ON article_authors BEGIN "
    + _sqlite_touch("old.article_id")
    + " "
    + _sqlite_touch("new.article_id")
    + " END",
    "article_authors_changes_delete": "AFTER DELETE ON article_authors BEGIN "
    + _sqlite_touch("old.article_id")
    + " END",
    "sources_changes_update": "AFTER UPDATE OF name, domain ON sources BEGIN "
    + _sqlite_touch_many("SELECT id FROM articles WHERE source_id = new.id")
    + " END",
    "authors_changes_update": "AFTER UPDATE OF name ON authors BEGIN "
    + _sqlite_touch_many(
        "SELECT DISTINCT article_id AS id FROM article_authors WHERE author_id = new.id"
    )
    + " END",
}

# --- PostgreSQL: statement triggers over transition tables -------------------------------

_PG_TAKE = (
    "UPDATE archive_state SET change_seq = change_seq + n WHERE id = 1 "
    "RETURNING change_seq INTO top;"
)


def _pg_record(rows: str, where: str, deleted: str) -> str:
    """Give each row of rows (id, url) matching where a new position."""
    return (
        f"SELECT count(*) INTO n FROM {rows} r WHERE {where}; "
        f"IF n > 0 THEN {_PG_TAKE} "
        "INSERT INTO article_changes (article_id, seq, url, deleted) "
        f"SELECT r.id, top - n + row_number() OVER (ORDER BY r.id), r.url, {deleted} "
        f"FROM {rows} r WHERE {where} {UPSERT}; END IF;"
    )


def _pg_function(name: str, body: str) -> str:
    return (
        f"CREATE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$ "
        f"DECLARE n bigint; top bigint; BEGIN {body} RETURN NULL; END $$"
    )


PG_FUNCTIONS = {
    # Articles moved to new positions: ids, in id order, each once.
    "touch_article_changes": (
        "CREATE FUNCTION touch_article_changes(ids integer[]) RETURNS void LANGUAGE plpgsql "
        "AS $$ DECLARE n bigint; top bigint; BEGIN "
        # Rows this transaction wrote already sit above every committed position.
        "ids := ARRAY(SELECT c.article_id FROM article_changes c "
        "JOIN unnest(ids) AS t(id) ON c.article_id = t.id "
        "WHERE NOT c.deleted AND c.xmin <> pg_current_xact_id()::xid ORDER BY 1); "
        "n := cardinality(ids); "
        f"IF n > 0 THEN {_PG_TAKE} "
        "UPDATE article_changes c SET seq = top - n + t.ord "
        "FROM unnest(ids) WITH ORDINALITY AS t(id, ord) WHERE c.article_id = t.id; "
        "END IF; END $$"
    ),
    "record_inserted_articles": _pg_function(
        "record_inserted_articles", _pg_record("new_rows", "true", "false")
    ),
    "record_updated_articles": _pg_function(
        "record_updated_articles",
        _pg_record("new_rows", "true", "false")
        + " "
        + _pg_record("old_rows", "NOT EXISTS (SELECT 1 FROM new_rows k WHERE k.id = r.id)", "true"),
    ),
    "record_deleted_articles": _pg_function(
        "record_deleted_articles", _pg_record("old_rows", "true", "true")
    ),
    "record_truncated_articles": _pg_function(
        "record_truncated_articles",
        "SELECT count(*) INTO n FROM article_changes WHERE NOT deleted; "
        f"IF n > 0 THEN {_PG_TAKE} "
        "UPDATE article_changes c SET deleted = true, seq = top - n + t.ord FROM "
        "(SELECT article_id, row_number() OVER (ORDER BY article_id) AS ord "
        "FROM article_changes WHERE NOT deleted) AS t WHERE c.article_id = t.article_id; "
        "END IF;",
    ),
    "touch_bylines_new": _pg_function(
        "touch_bylines_new",
        "PERFORM touch_article_changes(ARRAY(SELECT DISTINCT article_id FROM new_rows));",
    ),
    "touch_bylines_old": _pg_function(
        "touch_bylines_old",
        "PERFORM touch_article_changes(ARRAY(SELECT DISTINCT article_id FROM old_rows));",
    ),
    "touch_bylines_changed": _pg_function(
        "touch_bylines_changed",
        "PERFORM touch_article_changes(ARRAY(SELECT article_id FROM new_rows "
        "UNION SELECT article_id FROM old_rows));",
    ),
    "touch_all_articles": _pg_function(
        "touch_all_articles",
        "PERFORM touch_article_changes(ARRAY(SELECT id FROM articles));",
    ),
    "touch_renamed_sources": _pg_function(
        "touch_renamed_sources",
        "PERFORM touch_article_changes(ARRAY(SELECT a.id FROM articles a "
        "JOIN new_rows s ON a.source_id = s.id JOIN old_rows o ON o.id = s.id "
        "WHERE (s.name, s.domain) IS DISTINCT FROM (o.name, o.domain)));",
    ),
    "touch_renamed_authors": _pg_function(
        "touch_renamed_authors",
        "PERFORM touch_article_changes(ARRAY(SELECT DISTINCT b.article_id "
        "FROM article_authors b JOIN new_rows s ON b.author_id = s.id "
        "JOIN old_rows o ON o.id = s.id WHERE s.name IS DISTINCT FROM o.name));",
    ),
}

_NEW, _OLD = "NEW TABLE AS new_rows", "OLD TABLE AS old_rows"
# trigger: (event, table, transition tables or None for a TRUNCATE, function)
PG_TRIGGERS = {
    "articles_changes_insert": ("INSERT", "articles", _NEW, "record_inserted_articles"),
    "articles_changes_update": ("UPDATE", "articles", f"{_OLD} {_NEW}", "record_updated_articles"),
    "articles_changes_delete": ("DELETE", "articles", _OLD, "record_deleted_articles"),
    "articles_changes_truncate": ("TRUNCATE", "articles", None, "record_truncated_articles"),
    "article_authors_changes_insert": ("INSERT", "article_authors", _NEW, "touch_bylines_new"),
    "article_authors_changes_update": (
        "UPDATE",
        "article_authors",
        f"{_OLD} {_NEW}",
        "touch_bylines_changed",
    ),
    "article_authors_changes_delete": ("DELETE", "article_authors", _OLD, "touch_bylines_old"),
    "article_authors_changes_truncate": (
        "TRUNCATE",
        "article_authors",
        None,
        "touch_all_articles",
    ),
    "sources_changes_update": ("UPDATE", "sources", f"{_OLD} {_NEW}", "touch_renamed_sources"),
    "authors_changes_update": ("UPDATE", "authors", f"{_OLD} {_NEW}", "touch_renamed_authors"),
}


def upgrade() -> None:
    sqlite = op.get_bind().dialect.name == "sqlite"
    with op.batch_alter_table("archive_state") as batch_op:
        batch_op.add_column(
            sa.Column("change_seq", sa.BigInteger(), server_default="0", nullable=False)
        )
        batch_op.add_column(
            sa.Column("archive_id", sa.String(length=32), server_default="", nullable=False)
        )
    op.execute(
        sa.text("UPDATE archive_state SET archive_id = :id").bindparams(id=secrets.token_hex(8))
    )
    op.create_table(
        "article_changes",
        sa.Column("article_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("url", sa.String(length=2048), nullable=False),
        sa.Column("deleted", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("article_id", name=op.f("pk_article_changes")),
        sa.UniqueConstraint("seq", name=op.f("uq_article_changes_seq")),
    )
    # The articles already there, in id order.
    op.execute(
        "INSERT INTO article_changes (article_id, seq, url, deleted) "
        "SELECT id, row_number() OVER (ORDER BY id), url, "
        f"{'0' if sqlite else 'false'} FROM articles"
    )
    op.execute("UPDATE archive_state SET change_seq = (SELECT count(*) FROM articles)")
    if sqlite:
        for name, body in SQLITE_TRIGGERS.items():
            op.execute(f"CREATE TRIGGER {name} {body}")
        for event in ("INSERT", "UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER article_changes_{event.lower()}_version "
                f"AFTER {event} ON article_changes BEGIN {BUMP}; END"
            )
    else:
        for sql in PG_FUNCTIONS.values():
            op.execute(sql)
        for name, (event, table, transitions, function) in PG_TRIGGERS.items():
            referencing = f"REFERENCING {transitions} " if transitions else ""
            op.execute(
                f"CREATE TRIGGER {name} AFTER {event} ON {table} {referencing}"
                f"FOR EACH STATEMENT EXECUTE FUNCTION {function}()"
            )
        op.execute(
            "CREATE TRIGGER article_changes_version "
            "AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON article_changes "
            "FOR EACH STATEMENT EXECUTE FUNCTION bump_archive_version()"
        )

    op.create_table(
        "article_files",
        sa.Column("article_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("path", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["article_id"],
            ["articles.id"],
            name=op.f("fk_article_files_article_id_articles"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("article_id", name=op.f("pk_article_files")),
    )
    op.create_index(op.f("ix_article_files_path"), "article_files", ["path"], unique=False)

    op.create_table(
        "api_keys",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("prefix", sa.String(length=16), nullable=False),
        sa.Column("key_hash", sa.String(length=64), nullable=False),
        sa.Column("rate_limit", sa.String(length=32), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_keys")),
        sa.UniqueConstraint("key_hash", name=op.f("uq_api_keys_key_hash")),
    )


def downgrade() -> None:
    op.drop_table("api_keys")
    op.drop_index(op.f("ix_article_files_path"), table_name="article_files")
    op.drop_table("article_files")
    if op.get_bind().dialect.name == "sqlite":
        for name in SQLITE_TRIGGERS:
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
        for event in ("insert", "update", "delete"):
            op.execute(f"DROP TRIGGER IF EXISTS article_changes_{event}_version")
    else:
        for name, (_, table, _, _) in PG_TRIGGERS.items():
            op.execute(f"DROP TRIGGER IF EXISTS {name} ON {table}")
        op.execute("DROP TRIGGER IF EXISTS article_changes_version ON article_changes")
        for name in PG_FUNCTIONS:
            args = "integer[]" if name == "touch_article_changes" else ""
            op.execute(f"DROP FUNCTION IF EXISTS {name}({args})")
    op.drop_table("article_changes")
    # In place (SQLite 3.35+): a batch rebuild of archive_state would trip over the
    # triggers that name it.
    op.execute("ALTER TABLE archive_state DROP COLUMN archive_id")
    op.execute("ALTER TABLE archive_state DROP COLUMN change_seq")
