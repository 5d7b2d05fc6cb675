"""Full-text search index: FTS5 on SQLite, a tsvector table with GIN on PostgreSQL.

These objects live outside the ORM models (app.databases writes and reads them), so
autogenerate is told to ignore them (app.migrate.include_name). Existing articles are
indexed here, with the same analyzer the ingest uses.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26
"""

from collections.abc import Sequence

from alembic import op
from sqlalchemy import text

from app.databases import database_for

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BATCH = 500


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "sqlite":
        op.execute(
            "CREATE VIRTUAL TABLE articles_fts USING fts5("
            "title, body, tokenize = 'unicode61 remove_diacritics 0')"
        )
        op.execute(
            "CREATE TRIGGER articles_fts_delete AFTER DELETE ON articles BEGIN "
            "DELETE FROM articles_fts WHERE rowid = old.id; END"
        )
    else:
        op.execute(
            "CREATE TABLE article_search ("
            " article_id INTEGER NOT NULL,"
            " vector TSVECTOR NOT NULL,"
            " CONSTRAINT pk_article_search PRIMARY KEY (article_id),"
            " CONSTRAINT fk_article_search_article_id_articles FOREIGN KEY (article_id)"
            "  REFERENCES articles (id) ON DELETE CASCADE)"
        )
        op.execute("CREATE INDEX ix_article_search_vector ON article_search USING gin (vector)")
    last = 0
    while True:
        rows = bind.execute(
            text("SELECT id, title, body FROM articles WHERE id > :last ORDER BY id LIMIT :n"),
            {"last": last, "n": BATCH},
        ).all()
        if not rows:
            break
        # The entries as this revision's index holds them (migration 0007 re-keys them).
        database = database_for(bind)
        entries = [(r.id, database.index_entry(r.title, r.body)) for r in rows]
        if bind.dialect.name == "sqlite":
            bind.execute(
                text("INSERT INTO articles_fts (rowid, title, body) VALUES (:id, :title, :body)"),
                [{"id": id_, "title": entry[0], "body": entry[1]} for id_, entry in entries],
            )
        else:
            bind.execute(
                text(
                    "INSERT INTO article_search (article_id, vector) "
                    "VALUES (:id, CAST(:vector AS tsvector))"
                ),
                [{"id": id_, "vector": entry[0]} for id_, entry in entries],
            )
        last = rows[-1].id


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute("DROP TRIGGER IF EXISTS articles_fts_delete")
        op.execute("DROP TABLE IF EXISTS articles_fts")
    else:
        op.execute("DROP TABLE IF EXISTS article_search")
