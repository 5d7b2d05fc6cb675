"""PostgreSQL's article_counts trigger counts an UPDATE by its net change only.

0006 counted an UPDATE of articles as every old row taken away and every new row added
back, so a statement that changes no counted value (published_at, source_id, language)
still rewrote the count rows of every day and month it touched, and moved the data
version. The story assignment writes every new article's story_id that way (issue 12):
for the 15k corpus, a third of that write's time (0.6 of 1.8 s). Now the old rows count
-1 and the new rows +1 in one sum per count row, and only the rows whose sum is not 0
are written. Deletes, inserts and truncates count as before.

SQLite needs nothing: its row trigger fires only on UPDATE OF the counted columns (a
statement trigger with transition tables cannot name columns on PostgreSQL).

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-01
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UPSERT = (
    "ON CONFLICT (span, source_id, period, language) "
    "DO UPDATE SET articles = article_counts.articles + excluded.articles"
)


def _counts(rows: str, having: str) -> str:
    """Count rows (published_at, source_id, language, d) into article_counts: each row
    adds d to its day and month, for its source and for source 0."""
    utc = "r.published_at AT TIME ZONE 'UTC'"
    return (
        "INSERT INTO article_counts (span, period, source_id, language, articles) "
        f"SELECT p.span, p.period, s.id, r.language, sum(r.d) FROM ({rows}) AS r "
        f"CROSS JOIN LATERAL (VALUES ('day', to_char({utc}, 'YYYY-MM-DD')), "
        f"('month', to_char({utc}, 'YYYY-MM'))) AS p(span, period) "
        "CROSS JOIN LATERAL (VALUES (r.source_id), (0)) AS s(id) "
        f"GROUP BY 1, 2, 3, 4 {having} ORDER BY 1, 2, 3, 4 " + UPSERT + ";"
    )


def _rows(table: str, d: int) -> str:
    return f"SELECT published_at, source_id, language, {d} AS d FROM {table}"


# Row locks in key order (ORDER BY) after archive_state's, as 0006: writers queue there.
NET = (
    "CREATE OR REPLACE FUNCTION count_articles() RETURNS trigger LANGUAGE plpgsql AS $$ "
    "BEGIN PERFORM 1 FROM archive_state WHERE id = 1 FOR UPDATE; "
    "IF TG_OP = 'UPDATE' THEN "
    + _counts(f"{_rows('old_rows', -1)} UNION ALL {_rows('new_rows', 1)}", "HAVING sum(r.d) <> 0")
    + " ELSIF TG_OP = 'DELETE' THEN "
    + _counts(_rows("old_rows", -1), "")
    + " ELSE "
    + _counts(_rows("new_rows", 1), "")
    + " END IF; RETURN NULL; END $$"
)

# 0006's, for the downgrade: every old row -1, then every new row +1, all written.
EVERY_ROW = (
    "CREATE OR REPLACE FUNCTION count_articles() RETURNS trigger LANGUAGE plpgsql AS $$ "
    "BEGIN PERFORM 1 FROM archive_state WHERE id = 1 FOR UPDATE; "
    "IF TG_OP IN ('UPDATE', 'DELETE') THEN "
    + _counts(_rows("old_rows", -1), "")
    + " END IF; IF TG_OP IN ('UPDATE', 'INSERT') THEN "
    + _counts(_rows("new_rows", 1), "")
    + " END IF; RETURN NULL; END $$"
)


def upgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        op.execute(NET)


def downgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        op.execute(EVERY_ROW)
