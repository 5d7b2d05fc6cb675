"""article_counts: how many articles each UTC day and month holds, by source and language.

Triggers on articles keep it in the same transaction as any change, whoever makes it, so
a listing's total is a sum of a few rows plus an exact count over at most two partial
days (app.queries.totals), not a pass over every matching article.

Each article counts in four rows: its day and its month, each for its source and for
source 0 (every source). SQLite has row triggers; PostgreSQL counts a whole statement at
once from its transition tables, after taking the archive_state row's lock so that
concurrent writers queue there instead of deadlocking on count rows.

Like every table an endpoint reads, article_counts moves the data version when it
changes (the triggers of migration 0005, for a correction made by hand).

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-30
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UPSERT = (
    "ON CONFLICT (span, source_id, period, language) "
    "DO UPDATE SET articles = article_counts.articles + excluded.articles"
)


def _sqlite_rows(row: str, sign: str) -> str:
    day, month = f"substr({row}.published_at, 1, 10)", f"substr({row}.published_at, 1, 7)"
    return (
        "INSERT INTO article_counts (span, period, source_id, language, articles) VALUES "
        f"('day', {day}, {row}.source_id, {row}.language, {sign}1), "
        f"('day', {day}, 0, {row}.language, {sign}1), "
        f"('month', {month}, {row}.source_id, {row}.language, {sign}1), "
        f"('month', {month}, 0, {row}.language, {sign}1) " + UPSERT + ";"
    )


def _postgres_rows(rows: str, sign: str) -> str:
    utc = "published_at AT TIME ZONE 'UTC'"
    return (
        "INSERT INTO article_counts (span, period, source_id, language, articles) "
        f"SELECT p.span, p.period, s.id, r.language, {sign}count(*) FROM {rows} r "
        f"CROSS JOIN LATERAL (VALUES ('day', to_char(r.{utc}, 'YYYY-MM-DD')), "
        f"('month', to_char(r.{utc}, 'YYYY-MM'))) AS p(span, period) "
        "CROSS JOIN LATERAL (VALUES (r.source_id), (0)) AS s(id) "
        "GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4 " + UPSERT + ";"
    )


BUMP = "UPDATE archive_state SET version = version + 1"


def upgrade() -> None:
    op.create_table(
        "article_counts",
        sa.Column("span", sa.String(length=5), nullable=False),
        sa.Column("period", sa.String(length=10), nullable=False),
        sa.Column("source_id", sa.Integer(), nullable=False),
        sa.Column("language", sa.String(length=8), nullable=False),
        sa.Column("articles", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint(
            "span", "source_id", "period", "language", name=op.f("pk_article_counts")
        ),
    )
    if op.get_bind().dialect.name == "sqlite":
        op.execute(
            "CREATE TRIGGER articles_counts_insert AFTER INSERT ON articles "
            f"BEGIN {_sqlite_rows('new', '')} END"
        )
        op.execute(
            "CREATE TRIGGER articles_counts_delete AFTER DELETE ON articles "
            f"BEGIN {_sqlite_rows('old', '-')} END"
        )
        op.execute(
            "CREATE TRIGGER articles_counts_update "
            "AFTER UPDATE OF published_at, source_id, language ON articles "
            f"BEGIN {_sqlite_rows('old', '-')} {_sqlite_rows('new', '')} END"
        )
        op.execute(_sqlite_backfill())
        for event in ("INSERT", "UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER article_counts_{event.lower()}_version "
                f"AFTER {event} ON article_counts BEGIN {BUMP}; END"
            )
    else:
        op.execute(
            "CREATE FUNCTION count_articles() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
            "PERFORM 1 FROM archive_state WHERE id = 1 FOR UPDATE; "
            f"IF TG_OP IN ('UPDATE', 'DELETE') THEN {_postgres_rows('old_rows', '-')} END IF; "
            f"IF TG_OP IN ('UPDATE', 'INSERT') THEN {_postgres_rows('new_rows', '')} END IF; "
            "RETURN NULL; END $$"
        )
        op.execute(
            "CREATE FUNCTION clear_article_counts() RETURNS trigger LANGUAGE plpgsql AS $$ "
            "BEGIN DELETE FROM article_counts; RETURN NULL; END $$"
        )
        for event, tables in (
            ("INSERT", "NEW TABLE AS new_rows"),
            ("UPDATE", "OLD TABLE AS old_rows NEW TABLE AS new_rows"),
            ("DELETE", "OLD TABLE AS old_rows"),
        ):
            op.execute(
                f"CREATE TRIGGER articles_counts_{event.lower()} AFTER {event} ON articles "
                f"REFERENCING {tables} FOR EACH STATEMENT EXECUTE FUNCTION count_articles()"
            )
        op.execute(
            "CREATE TRIGGER articles_counts_truncate AFTER TRUNCATE ON articles "
            "FOR EACH STATEMENT EXECUTE FUNCTION clear_article_counts()"
        )
        op.execute(_postgres_rows("articles", ""))  # the articles already there
        op.execute(
            "CREATE TRIGGER article_counts_version "
            "AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON article_counts "
            "FOR EACH STATEMENT EXECUTE FUNCTION bump_archive_version()"
        )


def _sqlite_backfill() -> str:
    """The articles already there, counted as the triggers would have."""
    day, month = "substr(published_at, 1, 10)", "substr(published_at, 1, 7)"
    parts = [
        f"SELECT 'day', {day}, source_id, language, count(*) FROM articles GROUP BY 2, 3, 4",
        f"SELECT 'day', {day}, 0, language, count(*) FROM articles GROUP BY 2, 4",
        f"SELECT 'month', {month}, source_id, language, count(*) FROM articles GROUP BY 2, 3, 4",
        f"SELECT 'month', {month}, 0, language, count(*) FROM articles GROUP BY 2, 4",
    ]
    return (
        "INSERT INTO article_counts (span, period, source_id, language, articles) "
        + " UNION ALL ".join(parts)
    )


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for event in ("insert", "delete", "update"):
            op.execute(f"DROP TRIGGER IF EXISTS articles_counts_{event}")
            op.execute(f"DROP TRIGGER IF EXISTS article_counts_{event}_version")
    else:
        for event in ("insert", "update", "delete", "truncate"):
            op.execute(f"DROP TRIGGER IF EXISTS articles_counts_{event} ON articles")
        op.execute("DROP FUNCTION IF EXISTS count_articles()")
        op.execute("DROP FUNCTION IF EXISTS clear_article_counts()")
    op.drop_table("article_counts")
