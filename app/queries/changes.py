"""The changes feed: every article's last change after a position, in commit order.

article_changes (app.models.ArticleChange) holds one row per article there ever was, moved
to a new position by triggers at each change, whoever makes it (migration 0008). Positions
are handed out under archive_state's row lock, which every writer holds from its first
write until it commits, so they rise in commit order: a reader that has seen a position
has seen every change committed before it, and whatever commits later gets a higher one.

A position, as clients see it, is `<archive_id>.<seq>`: archive_id names this database's
history, so a position kept from a database that was since rebuilt is refused rather than
read as a place in another history.
"""

import re
from dataclasses import dataclass

from sqlalchemy import Connection, select
from sqlalchemy.orm import Session

from app.databases import database_for
from app.models import ArchiveState, Article, ArticleChange, Source
from app.queries.articles import article_record
from app.queries.listing import page_columns
from app.schemas import ArticleRecord, Change

POSITION = re.compile(r"([0-9a-f]{1,32})\.([0-9]{1,18})")


@dataclass(frozen=True)
class Position:
    archive_id: str
    seq: int

    def __str__(self) -> str:
        return f"{self.archive_id}.{self.seq}"


def parse_position(text: str) -> Position | None:
    """The position a `since` names, or None when it is not one."""
    match = POSITION.fullmatch(text)
    return Position(match[1], int(match[2])) if match else None


@dataclass(frozen=True)
class ChangeSlice:
    items: list[Change]
    last: Position  # where the next request starts: the last item's, or the one asked from
    has_more: bool


@dataclass(frozen=True)
class Head:
    """The archive's name and the last position handed out."""

    archive_id: str
    seq: int


def archive_id(connection: Connection) -> str:
    """This database's name for its history (migration 0008)."""
    return str(connection.scalar(select(ArchiveState.archive_id)) or "")


def head(session: Session) -> Head:
    row = session.execute(select(ArchiveState.archive_id, ArchiveState.change_seq)).one()
    return Head(row.archive_id, row.change_seq)


def changes_after(session: Session, archive_id: str, seq: int, limit: int) -> ChangeSlice:
    """Up to limit changes after position seq, each with the article as it is now.

    One statement reads the positions, the articles and their bylines, so what it returns
    is one snapshot of the archive.
    """
    record = page_columns("record", database_for(session).name)
    stmt = (
        select(
            ArticleChange.seq,
            ArticleChange.article_id,
            ArticleChange.url.label("change_url"),
            ArticleChange.deleted,
            *record.selected_columns,
        )
        .select_from(ArticleChange)
        .outerjoin(Article, Article.id == ArticleChange.article_id)
        .outerjoin(Source, Source.id == Article.source_id)
        .where(ArticleChange.seq > seq)
        .order_by(ArticleChange.seq)
        .limit(limit + 1)
    )
    rows = session.connection().execute(stmt).all()
    has_more = len(rows) > limit
    rows = rows[:limit]
    items = []
    for row in rows:
        if not row.deleted and row.id is not None:
            article = article_record(row, ArticleRecord)
            items.append(Change(row.article_id, row.url, deleted=False, article=article))
        else:
            items.append(Change(row.article_id, row.change_url, deleted=True, article=None))
    last = rows[-1].seq if rows else seq
    return ChangeSlice(items, Position(archive_id, last), has_more)
