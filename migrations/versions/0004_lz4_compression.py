"""PostgreSQL: compress article bodies and search vectors with lz4 instead of pglz.

Both columns are TOASTed (a body or a vector is a few KB), and pglz compression is most
of the server's work when an ingest writes them: lz4 compresses several times faster for
a few per cent more disk (docs/benchmarks.md). Rows written earlier keep their pglz data
until rewritten; both read back the same. A server built without lz4 keeps pglz.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-26
"""

from collections.abc import Sequence

from alembic import op
from sqlalchemy import text

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

COLUMNS = (("articles", "body"), ("article_search", "vector"))


def _has_lz4() -> bool:
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return False
    choices = bind.execute(
        text("SELECT enumvals FROM pg_settings WHERE name = 'default_toast_compression'")
    ).scalar()
    return bool(choices) and "lz4" in choices


def upgrade() -> None:
    if _has_lz4():
        for table, column in COLUMNS:
            op.execute(f"ALTER TABLE {table} ALTER COLUMN {column} SET COMPRESSION lz4")


def downgrade() -> None:
    if _has_lz4():
        for table, column in COLUMNS:
            op.execute(f"ALTER TABLE {table} ALTER COLUMN {column} SET COMPRESSION default")
