"""The ingest's side of stories: assigning each pending article a story, and keeping the
stories table exact.

An article is pending while its story_id is NULL: inserted by a batch, changed in
content, or older than migration 0009. After the batches, assign_pending() reads the
articles around every pending one (within grouping.WINDOW, before or after) in
(published_at, id) order, a page at a time, and lets app.stories.grouping decide (for
the ingest, in a child process with its own connection, while this one writes); the
story ids are written in bulk statements, the stories that pending articles start are
counted as the decisions come and written once complete, and the stored stories they
join are recounted from their articles, all in one transaction, so a crash leaves the
articles pending and the next run assigns them. Removals and changed articles call
refresh_stories() in their own transactions for the stories they leave.

A story's aggregates (app.models.Story): its representative is its first report (the
earliest article, then the lowest id), whose title it shows; its category and language
are the most common among its articles (ties: the earlier category of CATEGORIES, the
lower language code); importance() is what sort=importance orders by.
"""

import math
import multiprocessing
import threading
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from itertools import groupby
from typing import Any, cast

from sqlalchemy import URL, Connection, Engine, Table, bindparam, delete, select, tuple_, update
from sqlalchemy.orm import Session

from app.databases import database_for
from app.models import ArchiveState, Article, ArticleSignature, Story
from app.search.analyzer import terms
from app.stories import grouping
from app.stories.topics import CATEGORIES, describe

PAGE = 2000  # articles read at a time from the stream
WRITE = 500  # story ids written per statement
_ARTICLES = cast(Table, Article.__table__)
_STORIES = cast(Table, Story.__table__)
_SIGNATURES = cast(Table, ArticleSignature.__table__)
# What a story's aggregates (_aggregate) read of each of its articles.
_MEMBER = (
    Article.id,
    Article.published_at,
    Article.source_id,
    Article.category,
    Article.language,
    Article.title,
)
# What a story's aggregates need of a pending article, bar its title: published_at,
# source_id, category, language.
_Facts = tuple[datetime, int, str, str]
# A decision: (article id, story id), and the article's facts, which the stream has read
# (so that the stories it starts or joins are counted without reading it again).
Decision = tuple[int, int, _Facts]
SOURCE_WEIGHT = 2.0  # each doubling of a story's sources counts as this many days
ARTICLE_WEIGHT = 1.0  # each doubling of its articles counts as this many days


def importance(article_count: int, source_count: int, last_published_at: datetime) -> float:
    """sort=importance: 2·log2(sources) + log2(articles) + the day of its last article
    (days since 1970, with fractions). A story twice as widely reported (sources) counts
    as much as one two days newer; twice as many articles as one a day newer. The score
    does not depend on when it is asked, so it is stored and indexed."""
    days = last_published_at.timestamp() / 86400
    score = SOURCE_WEIGHT * math.log2(source_count) + ARTICLE_WEIGHT * math.log2(article_count)
    return round(score + days, 6)


@dataclass
class StoryReport:
    described: int = 0  # articles given a category and signature here (older than 0009)
    assigned: int = 0  # articles given a story
    stories: int = 0  # stories whose aggregates were recomputed


def _chunks(items: Sequence[Any], size: int) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def refresh_stories(connection: Connection, story_ids: Iterable[int | None]) -> int:
    """Recompute the aggregates of these stories from their articles; a story left with
    none is deleted. Returns how many stories were looked at."""
    ids = sorted({i for i in story_ids if i is not None})
    for chunk in _chunks(ids, WRITE):
        rows = connection.execute(
            select(Article.story_id, *_MEMBER)
            .where(Article.story_id.in_(chunk))
            .order_by(Article.story_id, Article.published_at, Article.id)
        ).all()
        stories = [_aggregate(story_id, list(members)) for story_id, members in _by_story(rows)]
        _write_stories(connection, chunk, stories)
    return len(ids)


def _write_stories(
    connection: Connection, ids: Sequence[int], stories: list[dict[str, Any]]
) -> None:
    """Replace the rows of these stories by these (fewer, for stories left empty)."""
    connection.execute(delete(Story).where(Story.id.in_(ids)))
    database_for(connection).bulk_insert(connection, _STORIES, stories)


def _by_story(rows: Sequence[Any]) -> Iterator[tuple[int, Iterator[Any]]]:
    return groupby(rows, key=lambda row: int(row.story_id))


def _aggregate(story_id: int, members: list[Any], title: str | None = None) -> dict[str, Any]:
    """The stories row of these articles (in story order); title: the first one's, if
    the members do not carry titles."""
    first, last = members[0], members[-1]
    if len(members) == 1:  # most stories: nothing to count
        category, language, sources = first.category, first.language, 1
    else:
        categories = Counter(m.category for m in members)
        languages = Counter(m.language for m in members)
        category = min(categories, key=lambda c: (-categories[c], _rank(c)))
        language = min(languages, key=lambda code: (-languages[code], code))
        sources = len({m.source_id for m in members})
    return {
        "id": story_id,
        "article_id": first.id,
        "title": first.title if title is None else title,
        "category": category,
        "language": language,
        "article_count": len(members),
        "source_count": sources,
        "first_published_at": first.published_at,
        "last_published_at": last.published_at,
        "importance": importance(len(members), sources, last.published_at),
    }


def _rank(category: str) -> int:
    return CATEGORIES.index(category) if category in CATEGORIES else len(CATEGORIES)


def stories_of(connection: Connection, article_ids: Sequence[int]) -> dict[int, int]:
    """article id → story id, for those of these articles that have a story."""
    found: dict[int, int] = {}
    for chunk in _chunks(article_ids, WRITE):
        rows = connection.execute(
            select(Article.id, Article.story_id).where(
                Article.id.in_(chunk), Article.story_id.is_not(None)
            )
        )
        found.update({id_: story for id_, story in rows if story is not None})
    return found


def leave_stories(connection: Connection, article_ids: Sequence[int]) -> set[int]:
    """Take these articles out of their stories (story_id NULL: pending again), before
    they are reassigned or deleted; returns the stories they were in, to refresh.

    A story keeps its id while it has articles, but grouping names a new story after the
    article that starts it: so when an article that started a story leaves it and others
    stay, those others move to a story named after the first of them (the lowest id), and
    the leaving article's id is free to name a story again."""
    if not article_ids:
        return set()
    database = database_for(connection)
    old = stories_of(connection, article_ids)
    database.set_story_ids(connection, [(i, None) for i in sorted(old)])
    touched = set(old.values())
    for founder in sorted({i for i, story in old.items() if i == story}):
        heir = connection.scalar(
            select(Article.id).where(Article.story_id == founder).order_by(Article.id).limit(1)
        )
        if heir is None:
            continue
        connection.execute(
            update(Article).where(Article.story_id == founder).values(story_id=heir),
            execution_options={"synchronize_session": False},
        )
        touched.add(heir)
    return touched


def _describe_missing(connection: Connection) -> int:
    """Give a category and signature to each pending article that has no signature (one
    loaded before migration 0009, or every article after restory()), from its stored URL,
    title and body; WRITE articles at a time, so memory holds one page of texts."""
    database = database_for(connection)
    described, after = 0, 0
    while True:
        rows = connection.execute(
            select(Article.id, Article.url, Article.title, Article.body)
            .outerjoin(ArticleSignature, ArticleSignature.article_id == Article.id)
            .where(
                Article.story_id.is_(None),
                ArticleSignature.article_id.is_(None),
                Article.id > after,
            )
            .order_by(Article.id)
            .limit(WRITE)
        ).all()
        if not rows:
            return described
        topics = [(r.id, describe(r.url, terms(r.title), terms(r.body))) for r in rows]
        connection.execute(
            update(_ARTICLES)
            .where(_ARTICLES.c.id == bindparam("row_id"))
            .values(category=bindparam("category")),
            [{"row_id": id_, "category": topic.category} for id_, topic in topics],
        )
        database.bulk_insert(
            connection,
            _SIGNATURES,
            [{"article_id": id_, "signature": topic.signature} for id_, topic in topics],
        )
        described += len(rows)
        after = rows[-1].id


# Instants grouping can add WINDOW to, or take it from, twice over: an article dated in
# year 1 or 9999 is grouped as if a few days later or earlier (its stored date is kept).
_EARLIEST = datetime.min.replace(tzinfo=UTC) + 3 * grouping.WINDOW
_LATEST = datetime.max.replace(tzinfo=UTC) - 3 * grouping.WINDOW


def _clamped(instant: datetime) -> datetime:
    return min(max(instant, _EARLIEST), _LATEST)


def _windows(times: Sequence[datetime]) -> list[tuple[datetime, datetime]]:
    """The union of [t - WINDOW, t + WINDOW] over the sorted times, as disjoint ranges
    (for the extreme dates, see _clamped: the range still holds their articles)."""
    merged: list[tuple[datetime, datetime]] = []
    for t in times:
        low = t - grouping.WINDOW if t >= _EARLIEST else datetime.min.replace(tzinfo=UTC)
        high = t + grouping.WINDOW if t <= _LATEST else datetime.max.replace(tzinfo=UTC)
        if merged and low <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], high))
        else:
            merged.append((low, high))
    return merged


def _stream(
    connection: Connection, low: datetime, high: datetime, facts: dict[int, _Facts]
) -> Iterator[grouping.Member]:
    """Every article published in [low, high], in (published_at, id) order, PAGE at a
    time (keyset: each page one short indexed query); what a story's aggregates need of
    each pending one goes into facts, for its decision to carry."""
    after: tuple[datetime, int] | None = None
    shared: dict[str, str] = {}  # the few categories and languages, one string each
    while True:
        stmt = (
            select(
                Article.id,
                Article.published_at,
                Article.source_id,
                ArticleSignature.signature,
                Article.story_id,
                Story.first_published_at,
                Article.category,
                Article.language,
            )
            .outerjoin(ArticleSignature, ArticleSignature.article_id == Article.id)
            .outerjoin(Story, Story.id == Article.story_id)
            .where(Article.published_at >= low, Article.published_at <= high)
            .order_by(Article.published_at, Article.id)
            .limit(PAGE)
        )
        if after is not None:
            stmt = stmt.where(tuple_(Article.published_at, Article.id) > tuple_(*after))
        rows = connection.execute(stmt).all()
        for row in rows:
            if row.story_id is None:
                facts[row.id] = (
                    row.published_at,
                    row.source_id,
                    shared.setdefault(row.category, row.category),
                    shared.setdefault(row.language, row.language),
                )
            first = row.first_published_at
            yield grouping.Member(
                row.id,
                _clamped(row.published_at),
                row.source_id,
                row.signature or "",
                row.story_id,
                None if first is None else _clamped(first),
            )
        if len(rows) < PAGE:
            return
        after = (rows[-1].published_at, rows[-1].id)


def assign_pending(connection: Connection, *, committed: bool = False) -> StoryReport:
    """Assign a story to every pending article and refresh the stories touched, in the
    caller's transaction (which has begun writing).

    committed: this transaction has changed nothing yet that the stream reads (articles,
    their signatures, stories), so another connection sees the same pending articles
    and grouping can run in a process of its own (_decisions), if this process
    has no other thread (_may_fork)."""
    report = StoryReport()
    database = database_for(connection)
    # Writers queue on archive_state's row (every write takes it, 0008): taken first, it
    # keeps two ingests from assigning the same pending articles side by side; what is
    # read after it is what the one before committed.
    connection.execute(
        update(ArchiveState).where(ArchiveState.id == 1).values(version=ArchiveState.version)
    )
    report.described = _describe_missing(connection)
    times = connection.scalars(
        select(Article.published_at)
        .where(Article.story_id.is_(None))
        .order_by(Article.published_at)
    ).all()
    if not times:
        return report
    touched: set[int] = set()  # stored stories that pending articles joined
    written: list[tuple[int, int | None]] = []
    windows = _windows(times)
    elsewhere = (
        committed
        and report.described == 0
        and database.opens_elsewhere(connection.engine.url)
        and _may_fork()
    )
    with _decisions(connection, windows, elsewhere=elsewhere) as decisions:
        # While the first decisions are made: the planner's statistics of what the
        # batches loaded (without them, PostgreSQL's plans for the writes below cost
        # more: the story ids of the 15k corpus 2.7 s instead of 1.4 – 1.8 s, 7.8 s
        # written 4,000 at a time).
        database.refresh_statistics(connection, ["articles", "article_signatures"])
        founded = _Founded(connection)
        for article_id, story_id, facts in decisions:
            written.append((article_id, story_id))
            if not founded.add(article_id, story_id, facts):
                touched.add(story_id)
            if len(written) >= WRITE:
                database.set_story_ids(connection, written)
                report.assigned += len(written)
                written = []
                founded.write(complete_only=True)
    database.set_story_ids(connection, written)
    report.assigned += len(written)
    if report.assigned != len(times):  # the child saw other pending articles than these
        raise RuntimeError(f"{len(times)} articles to assign a story, {report.assigned} decided")
    founded.write(complete_only=False)
    report.stories = founded.stories + refresh_stories(connection, touched)
    return report


@dataclass(frozen=True, slots=True)
class _Member:
    """What a story's aggregates need of one of its articles, bar the title (which
    _aggregate takes for the first article only)."""

    id: int
    published_at: datetime
    source_id: int
    category: str
    language: str


class _Founded:
    """The stories that pending articles start, counted as the decisions come and
    written as soon as they are complete, while grouping still runs: this saves reading
    every assigned article back to recount its story (refresh_stories).

    A decision (article, story) starts a story when the story is the article's own id,
    and joins one started here when that story is still open; any other story is a
    stored one (ids are never reused, app.databases new_ids, so no stored article has a
    story named after a pending article). Decisions come in stream order, so a story's
    first article is the one it is named after, and once a decision's date is more than
    MAX_SPAN after that article's, no later decision can join the story. A decision
    carries its article's facts; only the titles of the first articles are read, as
    their stories are written. Memory holds the articles of the open stories only."""

    def __init__(self, connection: Connection) -> None:
        self.connection = connection
        self.open: dict[int, list[_Member]] = {}  # story → its articles, oldest story first
        self.latest: datetime | None = None  # the date of the last decision, as grouped
        self.stories = 0

    def add(self, article_id: int, story_id: int, facts: _Facts) -> bool:
        """Count the decision if its story is one started here."""
        if story_id == article_id:
            members: list[_Member] = []
            self.open[story_id] = members
        elif (found := self.open.get(story_id)) is not None:
            members = found
        else:
            return False
        published_at, source_id, category, language = facts
        members.append(_Member(article_id, published_at, source_id, category, language))
        when = _clamped(published_at)
        self.latest = when if self.latest is None else max(self.latest, when)
        return True

    def write(self, *, complete_only: bool) -> None:
        """Write the stories that are complete (or all of them)."""
        done: list[int] = []
        for story_id, members in self.open.items():
            began = _clamped(members[0].published_at)
            if complete_only and (self.latest is None or self.latest - began <= grouping.MAX_SPAN):
                break
            done.append(story_id)
        for chunk in _chunks(done, WRITE):
            stories = []
            ordered = [sorted(self.open.pop(story_id), key=_order) for story_id in chunk]
            titles = self._titles([members[0].id for members in ordered])
            for story_id, members in zip(chunk, ordered, strict=True):
                stories.append(_aggregate(story_id, members, titles.get(members[0].id, "")))
            # No rows of these stories are expected, but one left there would fail the
            # whole assignment: replaced, as refresh_stories does.
            _write_stories(self.connection, chunk, stories)
            self.stories += len(chunk)

    def _titles(self, ids: Sequence[int]) -> dict[int, str]:
        rows = self.connection.execute(select(Article.id, Article.title).where(Article.id.in_(ids)))
        return {id_: title for id_, title in rows}


def _order(member: _Member) -> tuple[datetime, int]:
    return member.published_at, member.id


def _decided(
    connection: Connection, windows: list[tuple[datetime, datetime]]
) -> Iterator[Decision]:
    facts: dict[int, _Facts] = {}  # of the pending articles read and not yet decided
    for low, high in windows:
        for article_id, story_id in grouping.assign(_stream(connection, low, high, facts)):
            yield article_id, story_id, facts.pop(article_id)


def _may_fork() -> bool:
    """Is this the process's only thread? A forked child has only the thread that forked
    it, so a lock any other thread held at that moment (an import's, a driver's) stays
    held in the child for ever: with other threads, grouping stays in this process."""
    return threading.active_count() == 1


@contextmanager
def _decisions(
    connection: Connection, windows: list[tuple[datetime, datetime]], *, elsewhere: bool
) -> Iterator[Iterator[Decision]]:
    """The decisions of grouping on these windows: read through this connection, or
    (elsewhere) made in a child process that reads the committed articles through its
    own connection and starts at once, while this one writes the decisions it has
    already had: grouping (Python) and the database's writes run on two cores instead of
    one after the other. The caller holds the write lock, so what the child reads is what
    this transaction sees."""
    if not elsewhere:
        yield _decided(connection, windows)
        return
    context = multiprocessing.get_context("fork")
    receive, send = context.Pipe(duplex=False)
    child = context.Process(target=_group, args=(connection.engine.url, windows, send), daemon=True)
    child.start()
    send.close()
    try:
        yield _received(receive)
    finally:
        receive.close()
        child.join(timeout=5)
        if child.is_alive():
            child.terminate()


def _received(receive: Any) -> Iterator[Decision]:
    while (message := receive.recv()) is not None:
        if isinstance(message, str):
            raise RuntimeError(f"story grouping failed: {message}")
        yield from message


def _group(url: URL, windows: list[tuple[datetime, datetime]], send: Any) -> None:
    """The child of _decisions(): decisions go back WRITE at a time, then None (or
    what went wrong, as text). The parent's connections, inherited, are never touched."""
    try:
        engine = database_for(url).make_engine(
            url, pool_size=1, statement_timeout_ms=0, read_only=True
        )
        with engine.connect() as connection:
            chunk: list[Decision] = []
            for decision in _decided(connection, windows):
                chunk.append(decision)
                if len(chunk) >= WRITE:
                    send.send(chunk)
                    chunk = []
            send.send(chunk)
        engine.dispose()
        send.send(None)
    except Exception as exc:  # the parent raises it
        send.send(f"{type(exc).__name__}: {exc}")
    finally:
        send.close()


def restory(engine: Engine) -> StoryReport:
    """Describe every article again and assign every story anew, in one transaction: for
    an archive loaded before app.stories changed (`ingest.py --restory`). Story ids may
    change; each article whose category or story does shows in the changes feed."""
    with Session(engine) as session, session.begin():
        connection = session.connection()
        database_for(connection).begin_writing(connection)
        connection.execute(delete(ArticleSignature))
        connection.execute(delete(Story))
        connection.execute(update(Article).values(story_id=None))
        return assign_pending(connection)
