"""ORM tables. The schema itself is made only by the Alembic migrations in migrations/.

Indexes and the queries they serve (checked with EXPLAIN QUERY PLAN on SQLite and
EXPLAIN on PostgreSQL; see docs/indexes.md):

* ``ix_articles_published_at_id`` (published_at, id): the unfiltered listing in either
  order and date ranges; keyset pagination seeks into it instead of counting offsets.
* ``ix_articles_source_id_published_at_id``: one or a few sources, newest first.
* ``ix_articles_language_published_at_id``: the language filter, newest first.
* ``article_authors`` carries a copy of the article's published_at so that
  ``ix_article_authors_author_id_published_at`` answers "this author's newest articles"
  from the index alone, without sorting all of a prolific author's articles.
* ``ix_articles_category_published_at_id``: the category filter, newest first.
* ``ix_articles_story_id_published_at_id``: a story's articles newest first (/stories/{id},
  ``/articles?story_id=``, and the ingest's recount of a story's aggregates).
* ``ix_stories_importance_id`` and ``ix_stories_last_published_at_id``: the two orders of
  /stories, walked in index order; ``ix_stories_category_importance_id`` for one category.
* ``name_key`` columns hold ``casefold()``-ed names: SQLite's lower() and LIKE only fold
  ASCII, so Cyrillic case-insensitive matching and prefix search use these indexed keys.
"""

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    ColumnElement,
    Double,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.db import Base, UTCDateTime
from app.stories.topics import CATEGORIES


def name_key(name: str) -> str:
    """The form of a name that lookups compare: spaces collapsed, case folded."""
    return " ".join(name.split()).casefold()


def source_named(names: list[str]) -> ColumnElement[bool]:
    """Sources whose name or domain is one of names, any case (a leading www. ignored)."""
    keys = [name_key(name) for name in names]
    return Source.name_key.in_(keys) | Source.domain.in_([k.removeprefix("www.") for k in keys])


class ArchiveState(Base):
    """One row: a version that triggers bump on every change to any table an endpoint
    reads (sources, authors, articles, bylines, the search index), in the transaction of
    the change, whoever makes it (migrations 0003 and 0005).

    Any answer derived from those tables (a response, a listing's total) can be cached
    under the version it was computed at, and is stale as soon as the version moves. A new
    table that an endpoint reads needs the same triggers; tests/test_data_version.py fails
    until it has them.
    """

    __tablename__ = "archive_state"
    __table_args__ = (CheckConstraint("id = 1", name="single_row"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    version: Mapped[int] = mapped_column(BigInteger)
    # The changes feed (migration 0008): the last position handed to a change, moved only
    # by the triggers that record changes, under this row's lock; and a random name of
    # this archive, so that a position from another database is refused, not misread.
    change_seq: Mapped[int] = mapped_column(BigInteger, server_default="0")
    archive_id: Mapped[str] = mapped_column(String(32), server_default="")


class ArticleCount(Base):
    """How many articles each UTC day and month holds, by source and language.

    Kept by triggers on articles in the same transaction as any change (migration 0006),
    so a listing's total over whole days and months is a sum of a few of these rows
    instead of a pass over every matching article (app.queries.totals). source_id 0 sums
    every source.
    """

    __tablename__ = "article_counts"

    # The key's order serves the sums: one span and source, a range of periods.
    span: Mapped[str] = mapped_column(String(5), primary_key=True)  # "day" or "month"
    source_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    period: Mapped[str] = mapped_column(String(10), primary_key=True)  # 2019-11-06, 2019-11
    language: Mapped[str] = mapped_column(String(8), primary_key=True)
    articles: Mapped[int] = mapped_column(Integer)


class ArticleChange(Base):
    """The last change of each article there ever was, for the changes feed.

    Triggers on articles, bylines, sources and authors (migration 0008) keep it in the
    transaction of every change, whoever makes it: an article's row moves to a new `seq`
    each time anything served about it changes, and stays as a tombstone (`deleted`, with
    its URL) when the article goes. Positions come from archive_state.change_seq, taken
    under that row's lock, which every writer holds from its first write until it commits:
    so positions are handed out in commit order, and a reader that has seen a position has
    seen every change before it (app.queries.changes).
    """

    __tablename__ = "article_changes"

    article_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    seq: Mapped[int] = mapped_column(BigInteger, unique=True)
    url: Mapped[str] = mapped_column(String(2048))
    deleted: Mapped[bool] = mapped_column(Boolean)


class ArticleFile(Base):
    """The file each article was last loaded from (absolute path), so that
    `ingest.py --prune FOLDER` can remove the articles whose files are gone. Only the
    ingest reads it; no answer of the API depends on it."""

    __tablename__ = "article_files"

    article_id: Mapped[int] = mapped_column(
        ForeignKey("articles.id", ondelete="CASCADE"), primary_key=True, autoincrement=False
    )
    path: Mapped[str] = mapped_column(Text, index=True)


class ApiKey(Base):
    """An API key (scripts/keys.py): only the SHA-256 of the key is kept, and its first
    characters (`prefix`) to name it in listings. Keys are 190 random bits, so a fast hash
    is as safe as a slow one and lets a request's key be found by an index lookup."""

    __tablename__ = "api_keys"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    prefix: Mapped[str] = mapped_column(String(16))
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    rate_limit: Mapped[str | None] = mapped_column(String(32))  # None: RATE_LIMIT
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class Source(Base):
    __tablename__ = "sources"
    __table_args__ = (UniqueConstraint("name", "domain", name="uq_sources_name_domain"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(500))
    name_key: Mapped[str] = mapped_column(String(500), index=True)
    domain: Mapped[str] = mapped_column(String(255), index=True)


class Author(Base):
    __tablename__ = "authors"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(500), unique=True)
    name_key: Mapped[str] = mapped_column(String(500), index=True)


class Article(Base):
    __tablename__ = "articles"
    __table_args__ = (
        Index("ix_articles_published_at_id", "published_at", "id"),
        Index("ix_articles_source_id_published_at_id", "source_id", "published_at", "id"),
        Index("ix_articles_language_published_at_id", "language", "published_at", "id"),
        Index("ix_articles_category_published_at_id", "category", "published_at", "id"),
        Index("ix_articles_story_id_published_at_id", "story_id", "published_at", "id"),
        # On SQLite the migration enforces the same with triggers (0009).
        CheckConstraint(
            "category IN ({})".format(", ".join(f"'{c}'" for c in CATEGORIES)), name="category"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    url: Mapped[str] = mapped_column(String(2048), unique=True)
    title: Mapped[str] = mapped_column(Text)
    published_at: Mapped[datetime] = mapped_column(UTCDateTime())
    # The publisher's own UTC offset, so the API can show the time as they stated it.
    published_offset_minutes: Mapped[int] = mapped_column(Integer)
    source_id: Mapped[int] = mapped_column(ForeignKey("sources.id", ondelete="RESTRICT"))
    language: Mapped[str] = mapped_column(String(8))
    word_count: Mapped[int] = mapped_column(Integer)
    excerpt: Mapped[str] = mapped_column(Text)
    # Paragraphs joined by a blank line; a paragraph never contains a newline.
    body: Mapped[str] = mapped_column(Text)
    photo_credit: Mapped[str | None] = mapped_column(Text)
    # Hash of the parsed article: a re-ingest leaves an unchanged article untouched.
    content_hash: Mapped[str] = mapped_column(String(64))
    ingested_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    # One of app.stories.topics.CATEGORIES, decided at ingest.
    category: Mapped[str] = mapped_column(String(16), server_default="other")
    # The story (stories.id) it reports; None only until the ingest assigns one.
    story_id: Mapped[int | None] = mapped_column(Integer)

    source: Mapped[Source] = relationship(lazy="raise")
    bylines: Mapped[list["ArticleAuthor"]] = relationship(
        order_by="ArticleAuthor.position", lazy="raise", cascade="all, delete-orphan"
    )


class ArticleAuthor(Base):
    __tablename__ = "article_authors"
    __table_args__ = (
        Index(
            "ix_article_authors_author_id_published_at",
            "author_id",
            "published_at",
            "article_id",
        ),
    )

    article_id: Mapped[int] = mapped_column(
        ForeignKey("articles.id", ondelete="CASCADE"), primary_key=True
    )
    position: Mapped[int] = mapped_column(Integer, primary_key=True)
    author_id: Mapped[int] = mapped_column(ForeignKey("authors.id", ondelete="RESTRICT"))
    published_at: Mapped[datetime] = mapped_column(UTCDateTime())

    author: Mapped[Author] = relationship(lazy="raise")


class ArticleSignature(Base):
    """What app.stories.topics.describe() made of an article besides its category: the
    signature that stories and similar articles compare (opaque text). Kept apart from
    articles, whose rows every listing reads."""

    __tablename__ = "article_signatures"

    article_id: Mapped[int] = mapped_column(
        ForeignKey("articles.id", ondelete="CASCADE"), primary_key=True, autoincrement=False
    )
    signature: Mapped[str] = mapped_column(Text)


class Story(Base):
    """Articles that report the same event (app.stories.grouping), with aggregates the
    ingest keeps exact (app.ingest.stories): its id is the id of the article that started
    it; `article_id` is its representative (the first report), whose title it shows."""

    __tablename__ = "stories"
    __table_args__ = (
        Index("ix_stories_importance_id", "importance", "id"),
        Index("ix_stories_last_published_at_id", "last_published_at", "id"),
        Index("ix_stories_category_importance_id", "category", "importance", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    article_id: Mapped[int] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(Text)
    category: Mapped[str] = mapped_column(String(16))
    language: Mapped[str] = mapped_column(String(8))
    article_count: Mapped[int] = mapped_column(Integer)
    source_count: Mapped[int] = mapped_column(Integer)
    first_published_at: Mapped[datetime] = mapped_column(UTCDateTime())
    last_published_at: Mapped[datetime] = mapped_column(UTCDateTime())
    # sort=importance: see app.ingest.stories.importance().
    importance: Mapped[float] = mapped_column(Double)
