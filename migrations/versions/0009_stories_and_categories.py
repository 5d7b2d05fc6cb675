"""Categories and stories (issue 12): articles.category and articles.story_id, each
article's signature (article_signatures) and the stories themselves (stories).

* articles.category: one of app.stories.topics.CATEGORIES, NOT NULL, 'other' by default
  (a CHECK keeps it to the seven; on SQLite two triggers do), with an index (category,
  published_at, id) for the `category=` filter newest first.
* articles.story_id: the story the article belongs to; NULL only while an ingest has not
  assigned it yet (the next ingest assigns every such article: a crash leaves them
  pending, not lost). Index (story_id, published_at, id): a story's articles newest first,
  and `/articles?story_id=`.
* article_signatures: the signature app.stories.topics.describe() made of the article
  (opaque text that grouping compares), one row per article, kept apart so that the
  articles' rows, which every listing reads, stay lean. Goes with its article (CASCADE).
* stories: one row per story with its aggregates (a representative article and its title,
  the most common category and language, counts, first and last dates, and the
  `importance` that `sort=importance` walks in index order), kept exact by the ingest and
  the removals (app.ingest.stories). A story's id is the id of the article that started
  it (app.stories.grouping); no foreign key, as that article may go while the story stays.

The existing articles: the columns are added in place (ALTER TABLE … ADD COLUMN on both
databases, so SQLite keeps the triggers that a table rebuild would drop), every article
gets category 'other' and no story and no signature. Analysing every stored text in SQL
is not possible, and in a migration too slow, so the next `scripts/ingest.py` run does it
instead: it computes the category and signature of each article that has none (from its
stored URL, title and body, with the same analyzer), then assigns their stories. Until
that run the API shows them with category 'other' and story_id null.

Changes feed (0008): its triggers fire on any UPDATE of articles, so an article whose
category or story changes is reported as updated, with no new trigger. The new tables are
read by endpoints (/stories, /articles/{id}/similar) and get the data-version triggers of
0005.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Frozen copy of app.stories.topics.CATEGORIES as of this revision.
CATEGORIES = ("society", "economy", "technology", "sports", "entertainment", "science", "other")
BUMP = "UPDATE archive_state SET version = version + 1"
NEW_TABLES = ("stories", "article_signatures")


def upgrade() -> None:
    sqlite = op.get_bind().dialect.name == "sqlite"
    allowed = ", ".join(f"'{c}'" for c in CATEGORIES)
    # In place, no table rebuild. SQLite could not drop a column with a CHECK again (the
    # downgrade), so there the check is a pair of triggers that refuse the same values.
    column = "ALTER TABLE articles ADD COLUMN category VARCHAR(16) DEFAULT 'other' NOT NULL"
    if sqlite:
        op.execute(column)
        for event, name in (("INSERT", "insert"), ("UPDATE OF category", "update")):
            op.execute(
                f"CREATE TRIGGER articles_category_{name} BEFORE {event} ON articles "
                f"WHEN new.category NOT IN ({allowed}) BEGIN "
                "SELECT RAISE(ABORT, 'CHECK constraint failed: ck_articles_category'); END"
            )
    else:
        op.execute(f"{column} CONSTRAINT ck_articles_category CHECK (category IN ({allowed}))")
    op.execute("ALTER TABLE articles ADD COLUMN story_id INTEGER")
    op.create_index(
        "ix_articles_category_published_at_id", "articles", ["category", "published_at", "id"]
    )
    op.create_index(
        "ix_articles_story_id_published_at_id", "articles", ["story_id", "published_at", "id"]
    )
    op.create_table(
        "article_signatures",
        sa.Column("article_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("signature", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["article_id"],
            ["articles.id"],
            name=op.f("fk_article_signatures_article_id_articles"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("article_id", name=op.f("pk_article_signatures")),
    )
    op.create_table(
        "stories",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("article_id", sa.Integer(), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("category", sa.String(length=16), nullable=False),
        sa.Column("language", sa.String(length=8), nullable=False),
        sa.Column("article_count", sa.Integer(), nullable=False),
        sa.Column("source_count", sa.Integer(), nullable=False),
        sa.Column("first_published_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_published_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("importance", sa.Double(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_stories")),
    )
    op.create_index("ix_stories_importance_id", "stories", ["importance", "id"])
    op.create_index("ix_stories_last_published_at_id", "stories", ["last_published_at", "id"])
    op.create_index(
        "ix_stories_category_importance_id", "stories", ["category", "importance", "id"]
    )
    if sqlite:
        for table in NEW_TABLES:
            for event in ("INSERT", "UPDATE", "DELETE"):
                op.execute(
                    f"CREATE TRIGGER {table}_{event.lower()}_version AFTER {event} ON {table} "
                    f"BEGIN {BUMP}; END"
                )
    else:
        for table in NEW_TABLES:
            op.execute(
                f"CREATE TRIGGER {table}_version "
                f"AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON {table} "
                "FOR EACH STATEMENT EXECUTE FUNCTION bump_archive_version()"
            )


def downgrade() -> None:
    sqlite = op.get_bind().dialect.name == "sqlite"
    for table in NEW_TABLES:
        if sqlite:
            for event in ("insert", "update", "delete"):
                op.execute(f"DROP TRIGGER IF EXISTS {table}_{event}_version")
        else:
            op.execute(f"DROP TRIGGER IF EXISTS {table}_version ON {table}")
    op.drop_table("stories")
    op.drop_table("article_signatures")
    op.drop_index("ix_articles_story_id_published_at_id", table_name="articles")
    op.drop_index("ix_articles_category_published_at_id", table_name="articles")
    if sqlite:
        op.execute("DROP TRIGGER IF EXISTS articles_category_insert")
        op.execute("DROP TRIGGER IF EXISTS articles_category_update")
    # In place (SQLite 3.35+), as 0008's downgrade: a rebuild would drop the triggers.
    op.execute("ALTER TABLE articles DROP COLUMN story_id")
    op.execute("ALTER TABLE articles DROP COLUMN category")
