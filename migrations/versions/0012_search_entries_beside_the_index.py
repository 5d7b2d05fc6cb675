"""SQLite's search index keeps its entries' text in a table of its own, in article order.

FTS5 stored each entry's text (the analysed terms of title and body) in its own content
table, keyed by the FTS rowid, which 0007 made the article's date key: an ingest of
files in no date order inserted every batch's texts at random places of that table, the
largest one of the index (70% of its size). 29,770 entries written in batches of 300 in
random date order took 8.2 s that way against 5.0 s appended in arrival order
(docs/benchmarks-stories.md, seventh session).

Now the text lives in articles_fts_entries(article_id, key, title, body), appended in
article-id order, and articles_fts is an external-content FTS5 table over it
(content_rowid = key): the same index, the same rowids, ranks and matches. FTS5 reads an
entry's text there only to remove it from the index, so the triggers (0002, 0007) remove
or move the index entry first, while the text is still the indexed one, then the text.
The docsize triggers of 0005 come back with the rebuilt table.

The text must stay what the index holds: the index is changed by hand by deleting an
entry (DELETE FROM articles_fts WHERE rowid = …), which FTS5 supports; an UPDATE of
articles_fts's columns by hand would leave articles_fts_entries behind, so the text is
edited in articles_fts_entries and the index rebuilt
(INSERT INTO articles_fts (articles_fts) VALUES ('rebuild')).

Upgrading rebuilds the index from the texts (a few seconds per 100,000 articles).
PostgreSQL needs nothing: its vectors are their own column (article_search).

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-02
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID_BITS = 28
MAX_ID = (1 << ID_BITS) - 1
MAX_SECONDS = (1 << 35) - 1
EPOCH_OFFSET = 2_208_988_800  # 1900-01-01 to 1970-01-01 in seconds
TOKENIZE = "tokenize = 'unicode61 remove_diacritics 0'"
BUMP = "UPDATE archive_state SET version = version + 1"
EVENTS = ("INSERT", "UPDATE", "DELETE")


def _key(row: str) -> str:
    """app.search.keys in SQL (as 0007 wrote it)."""
    seconds = f"CAST(strftime('%s', substr({row}.published_at, 1, 19)) AS INTEGER)"
    return f"((max(0, min({MAX_SECONDS}, {seconds} + {EPOCH_OFFSET})) << {ID_BITS}) | {row}.id)"


def _indexed(key: str) -> str:
    """Is this key in the index? With external content, FTS5 finds a rowid through the
    content table, and taking out an entry the index does not hold (one deleted from
    articles_fts by hand) is an error: it looks for the entry's sizes and finds none."""
    return f"EXISTS (SELECT 1 FROM articles_fts_docsize WHERE id = {key})"


def _docsize_triggers() -> None:
    for event in EVENTS:
        op.execute(
            f"CREATE TRIGGER articles_fts_docsize_{event.lower()}_version AFTER {event} "
            f"ON articles_fts_docsize BEGIN {BUMP}; END"
        )


def _drop_article_triggers() -> None:
    op.execute("DROP TRIGGER articles_fts_delete")
    op.execute("DROP TRIGGER articles_fts_move")


def upgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    op.execute(
        "CREATE TABLE articles_fts_entries (article_id INTEGER PRIMARY KEY, "
        "key INTEGER NOT NULL UNIQUE, title TEXT NOT NULL, body TEXT NOT NULL)"
    )
    op.execute(
        "INSERT INTO articles_fts_entries (article_id, key, title, body) "
        f"SELECT id & {MAX_ID}, id, c0, c1 FROM articles_fts_content ORDER BY id & {MAX_ID}"
    )
    _drop_article_triggers()
    op.execute("DROP TABLE articles_fts")  # with its shadow tables and their triggers
    op.execute(
        "CREATE VIRTUAL TABLE articles_fts USING fts5(title, body, "
        f"content = 'articles_fts_entries', content_rowid = 'key', {TOKENIZE})"
    )
    op.execute("INSERT INTO articles_fts (articles_fts) VALUES ('rebuild')")
    _docsize_triggers()
    old, new = _key("old"), _key("new")
    op.execute(
        "CREATE TRIGGER articles_fts_delete AFTER DELETE ON articles BEGIN "
        f"DELETE FROM articles_fts WHERE rowid = {old} AND {_indexed(old)}; "
        "DELETE FROM articles_fts_entries WHERE article_id = old.id; END"
    )
    op.execute(
        "CREATE TRIGGER articles_fts_move AFTER UPDATE OF published_at, id ON articles "
        f"WHEN {old} <> {new} BEGIN "
        f"UPDATE articles_fts SET rowid = {new} WHERE rowid = {old} AND {_indexed(old)}; "
        f"UPDATE articles_fts_entries SET key = {new}, article_id = new.id "
        "WHERE article_id = old.id; END"
    )
    op.execute(BUMP)


def downgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    _drop_article_triggers()
    op.execute("ALTER TABLE articles_fts_entries RENAME TO articles_fts_old_entries")
    op.execute("DROP TABLE articles_fts")
    op.execute(f"CREATE VIRTUAL TABLE articles_fts USING fts5(title, body, {TOKENIZE})")
    op.execute(
        "INSERT INTO articles_fts (rowid, title, body) "
        "SELECT key, title, body FROM articles_fts_old_entries ORDER BY key"
    )
    op.execute("DROP TABLE articles_fts_old_entries")
    _docsize_triggers()
    old, new = _key("old"), _key("new")
    # 0007's triggers.
    op.execute(
        "CREATE TRIGGER articles_fts_delete AFTER DELETE ON articles BEGIN "
        f"DELETE FROM articles_fts WHERE rowid = {old}; END"
    )
    op.execute(
        "CREATE TRIGGER articles_fts_move AFTER UPDATE OF published_at, id ON articles "
        f"WHEN {old} <> {new} BEGIN "
        f"UPDATE articles_fts SET rowid = {new} WHERE rowid = {old}; END"
    )
    op.execute(BUMP)
