"""archive_state: a data version that every change to articles or bylines bumps.

Triggers do the bumping, so whatever writes (the ingest, a manual DELETE) invalidates
what was cached under the old version. PostgreSQL bumps once per statement, SQLite (which
has only row triggers) once per row.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-26
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLES = ("articles", "article_authors")
EVENTS = ("INSERT", "UPDATE", "DELETE")


def upgrade() -> None:
    state = op.create_table(
        "archive_state",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.CheckConstraint("id = 1", name=op.f("ck_archive_state_single_row")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_archive_state")),
    )
    op.bulk_insert(state, [{"id": 1, "version": 1}])
    bump = "UPDATE archive_state SET version = version + 1"
    if op.get_bind().dialect.name == "sqlite":
        for table in TABLES:
            for event in EVENTS:
                op.execute(
                    f"CREATE TRIGGER {table}_{event.lower()}_version AFTER {event} ON {table} "
                    f"BEGIN {bump}; END"
                )
    else:
        op.execute(
            "CREATE FUNCTION bump_archive_version() RETURNS trigger LANGUAGE plpgsql AS "
            f"$$ BEGIN {bump}; RETURN NULL; END $$"
        )
        for table in TABLES:
            op.execute(
                f"CREATE TRIGGER {table}_version AFTER INSERT OR UPDATE OR DELETE ON {table} "
                "FOR EACH STATEMENT EXECUTE FUNCTION bump_archive_version()"
            )


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for table in TABLES:
            for event in EVENTS:
                op.execute(f"DROP TRIGGER IF EXISTS {table}_{event.lower()}_version")
    else:
        for table in TABLES:
            op.execute(f"DROP TRIGGER IF EXISTS {table}_version ON {table}")
        op.execute("DROP FUNCTION IF EXISTS bump_archive_version()")
    op.drop_table("archive_state")
