"""How a listing selects its articles: filters, the plan, and its statements.

Names are resolved to ids first, so the main query compares ids: with one source the
(source_id, published_at, id) index yields rows already in order; with exactly one author
the listing is driven from article_authors, whose (author_id, published_at, article_id)
index does the same for a prolific author.

A search (q) is joined one of two ways, whichever reads fewer rows for a page:

* `index`: walk the search index's matches in key order (app.search.keys: date order),
  join each to its article and keep those that pass the other filters. A date range is a
  key range, so a common word finds a page of matches in a few rows. (PostgreSQL's key
  index yields every entry, matching or not: where that walk would read many entries for
  few matches, it reads the matches from GIN and sorts them: Listing.plan_walk.)
* `filters`: walk the articles the other filters select, in date order, and look each up
  in the index (a selective source or author with a common word).

The cost of each comes from counts the plan reads anyway: the matches in the date range
(counted inside the index), the articles the other filters hold (the count table) and all
articles of the range. What the SQL looks like depends only on the plan's Shape; the
statements are built once per shape (app.queries.statements) and run with parameters.
"""

import math
from collections.abc import Hashable
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache
from typing import Any, Literal

from sqlalchemy import (
    ColumnElement,
    Connection,
    Double,
    Select,
    and_,
    bindparam,
    case,
    func,
    or_,
    select,
    tuple_,
)
from sqlalchemy.orm import Session

from app.cache.counts import CountCache
from app.databases import SEARCH_PARAM, Database, database_for
from app.db import UTCDateTime
from app.models import Article, ArticleAuthor, Author, Source, name_key, source_named
from app.pagination import CompositeKey, Pager
from app.queries.statements import built
from app.queries.totals import count_in_range
from app.search import keys
from app.search.query import SearchQuery

# Rows a total may read before it is an estimate (extrapolated from the rows read).
COUNT_WORK = 5_000
# Index entries a search's count may read before it is an estimate: counting inside the
# index costs a small fraction of a join per entry.
MATCH_WORK = 2_000
# A probe of the index costs about this many times a join (measured on SQLite and
# PostgreSQL: a lookup in each term's matches against a primary-key step).
PROBE_COST = 5
PAGE = 21  # rows a page reads at most (limit + 1) for the planner's estimates

Drive = Literal["", "index", "filters"]


@dataclass
class ArticleFilters:
    published_from: datetime | None = None  # inclusive
    published_to: datetime | None = None  # inclusive
    authors: list[str] = field(default_factory=list)  # names, any case
    author_ids: list[int] = field(default_factory=list)
    sources: list[str] = field(default_factory=list)  # names or domains, any case
    source_ids: list[int] = field(default_factory=list)
    languages: list[str] = field(default_factory=list)
    search: SearchQuery | None = None
    updated_since: datetime | None = None  # inclusive, on updated_at
    categories: list[str] = field(default_factory=list)  # app.stories.topics.CATEGORIES
    story_ids: list[int] = field(default_factory=list)

    def key(self) -> Hashable:
        """What identifies the set of articles these filters select (for cached counts)."""
        return (
            self.published_from,
            self.published_to,
            tuple(sorted({name_key(a) for a in self.authors})),
            tuple(sorted(set(self.author_ids))),
            tuple(sorted({name_key(s) for s in self.sources})),
            tuple(sorted(set(self.source_ids))),
            tuple(sorted(set(self.languages))),
            self.search,
            self.updated_since,
            tuple(sorted(set(self.categories))),
            tuple(sorted(set(self.story_ids))),
        )


@dataclass(frozen=True)
class Shape:
    """What a listing's SQL depends on (the values it runs with are parameters)."""

    database: str
    authors: int  # 0, 1 (driven from article_authors) or 2 (more than one)
    sources: bool
    languages: bool
    start: bool
    end: bool
    search: Drive
    exact_keys: bool  # the date range is exactly a key range (app.search.keys)
    updated: bool = False  # updated_since (the count table cannot answer it)
    categories: bool = False  # nor these two
    stories: bool = False

    @property
    def other_filters(self) -> bool:
        """Filters besides the dates and the search."""
        return bool(
            self.authors
            or self.sources
            or self.languages
            or self.updated
            or self.categories
            or self.stories
        )

    @property
    def counted_by_table(self) -> bool:
        """Whether the count table (by day, source and language) can count the listing
        without its search."""
        return not (self.authors or self.updated or self.categories or self.stories)


@dataclass
class Total:
    count: int
    exact: bool


@dataclass
class Listing:
    """A plan: the shape of its statements and the values they run with."""

    shape: Shape
    params: dict[str, Any]
    filters: ArticleFilters
    source_ids: list[int]
    matches: int | None = None  # the search's matches in the date range, when counted
    matches_exact: bool = True  # whether `matches` is exact (else an estimate)
    selected: int | None = None  # the articles the other filters select, when counted
    spanned: int | None = None  # all articles of the date range, when counted
    # The database reads every match of the search, then sorts them (plan_walk).
    reads_every_match: bool = False

    @property
    def database(self) -> Database:
        return database_for(self.shape.database)

    def apply(self, stmt: Select[*tuple[Any, ...]]) -> Select[*tuple[Any, ...]]:
        """stmt (a SELECT from articles) narrowed to the listing's articles."""
        return _apply(self.shape, stmt)

    def key_columns(self) -> dict[str, ColumnElement[Any]]:
        """The columns the date orders' keys read (app.pagination.SORTS)."""
        published_at, article_id = _driving(self.shape)
        return {"published_at": published_at, "id": article_id}

    def composite(self) -> CompositeKey | None:
        """With the index walked, its key orders the page: the database reads the index in
        order and stops after a page."""
        if self.shape.search != "index":
            return None
        return CompositeKey(self.database.search_index().key, _encode_key)

    def plan_walk(self, connection: Connection, wanted: int) -> None:
        """Before reading the newest `wanted` of the index's matches in key order: how many
        entries a walk of the index in that order would read to find them (the matches
        spread evenly over the range, the other filters independent of the search) lets
        the database choose between the walk and reading every match."""
        if self.shape.search != "index" or not self.matches:
            return
        matches = self.matches

        def walked() -> int:
            if self.spanned is None:
                filters = self.filters
                self.spanned = count_in_range(
                    connection, filters.published_from, filters.published_to, [], []
                )
            spanned = max(self.spanned, 1)
            density = min(matches / spanned, 1.0)
            if self.selected is not None:
                density *= min(self.selected / spanned, 1.0)
            return min(spanned, round(wanted / density)) if density > 0 else spanned

        self.reads_every_match = self.database.plan_key_walk(connection, matches, walked)

    def page(self, connection: Connection, columns: "Columns", pager: Pager) -> list[Any]:
        """A page of these columns in the pager's (date) order."""
        composite = self.composite()
        shape = self.shape
        if (
            composite is not None
            and self.reads_every_match
            and shape.exact_keys
            and not shape.other_filters
        ):
            return self._page_by_keys(connection, columns, pager, composite)
        statement = built(
            ("page", self.shape, pager.shape, columns),
            lambda: pager.select(
                self.apply(page_columns(columns, self.shape.database)),
                self.key_columns(),
                composite,
            ),
        )
        params = self.params | pager.params(composite)
        return list(connection.execute(statement, params).all())

    def _page_by_keys(
        self, connection: Connection, columns: "Columns", pager: Pager, composite: CompositeKey
    ) -> list[Any]:
        """page() in two steps, for a database that reads every match and sorts them: the
        page's keys from the index alone, then those articles. In one statement, each
        match would be joined to its article before the sort kept a page of them."""
        shape, index = self.shape, self.database.search_index()
        keyed = built(
            ("page_keys", shape, pager.shape),
            lambda: pager.select(
                select(index.article_id.label("id")).where(index.matches, *_key_range(shape)),
                {"published_at": index.key, "id": index.article_id},
                composite,
            ),
        )
        ids = list(connection.scalars(keyed, self.params | pager.params(composite)))
        if not ids:
            return []
        database = shape.database
        statement = built(
            ("page_rows", columns, database, pager.order.name),
            lambda: pager.with_key(page_columns(columns, database), self.key_columns()).where(
                Article.id.in_(bindparam("ids", expanding=True))
            ),
        )
        by_id = {row.id: row for row in connection.execute(statement, {"ids": ids})}
        return [by_id[i] for i in ids if i in by_id]

    def total(self, session: Session, totals: CountCache | None) -> Total:
        """How many articles the listing holds: exact, or an estimate past COUNT_WORK."""
        if self.shape.search and not self.shape.other_filters and self.matches is not None:
            return Total(self.matches, self.matches_exact)
        connection = session.connection()

        def count() -> tuple[int, bool]:
            if not self.shape.search and self.shape.counted_by_table:
                found = count_in_range(
                    connection,
                    self.filters.published_from,
                    self.filters.published_to,
                    self.source_ids,
                    self.filters.languages,
                )
                return found, True
            return self._bounded_count(connection)

        if totals is None:
            return Total(*count())
        # The cache keeps ints: an estimate is kept as its negative.
        value = totals.get(session, self.filters.key(), lambda: _signed(*count()))
        return Total(abs(value), value >= 0)

    def _bounded_count(self, connection: Connection) -> tuple[int, bool]:
        """Count the listing within COUNT_WORK rows of its driving side; past them,
        extrapolate from the share found in those rows."""
        shape = self.shape
        statement = built(("count", shape), lambda: _count_statement(shape))
        found = int(connection.scalar(statement, self.params | {"work": COUNT_WORK}) or 0)
        driving = self.matches if shape.search == "index" else self.selected
        if driving is None:
            driving = _count_driving(connection, self)
        if driving <= COUNT_WORK:
            return found, True
        return max(found, round(found * driving / COUNT_WORK)), False


def _signed(count: int, exact: bool) -> int:
    return count if exact else -count


def _encode_key(key: tuple[Any, ...]) -> int:
    return keys.search_key(key[0], key[1])


Columns = Literal["list", "search", "record"]


@cache
def page_columns(columns: Columns, database: str) -> Select[*tuple[Any, ...]]:
    """What a page reads of each article: a listing's item ("list"), and its body for a
    search's highlights ("search"), or every field but paragraphs ("record"). The byline
    comes with the row (app.databases' byline(), as JSON)."""
    read: list[Any] = [
        Article.id,
        Article.url,
        Article.title,
        Article.published_at,
        Article.published_offset_minutes,
        Article.language,
        Article.word_count,
        Article.excerpt,
        Article.category,
        Article.story_id,
        Source.id.label("source_id"),
        Source.name.label("source_name"),
        Source.domain.label("source_domain"),
        database_for(database).byline(Article.id.expression).label("byline"),
    ]
    if columns != "list":
        read.append(Article.body)
    if columns == "record":
        read += [Article.photo_credit, Article.ingested_at, Article.updated_at]
    return select(*read).join(Source, Source.id == Article.source_id)


def _driving(shape: Shape) -> tuple[ColumnElement[datetime], ColumnElement[int]]:
    """The date and id columns the listing walks (article_authors' for one author)."""
    if shape.authors == 1:
        return ArticleAuthor.published_at.expression, ArticleAuthor.article_id.expression
    return Article.published_at.expression, Article.id.expression


def _conditions(shape: Shape, *, dates: bool = True) -> list[ColumnElement[bool]]:
    """The filters but the search, on bound parameters."""
    published_at, _ = _driving(shape)
    where: list[ColumnElement[bool]] = []
    if shape.authors == 2:
        where.append(
            Article.id.in_(
                select(ArticleAuthor.article_id).where(
                    ArticleAuthor.author_id.in_(bindparam("author_ids", expanding=True))
                )
            )
        )
    if shape.sources:
        where.append(Article.source_id.in_(bindparam("source_ids", expanding=True)))
    if shape.languages:
        where.append(Article.language.in_(bindparam("languages", expanding=True)))
    if dates and shape.start:
        where.append(published_at >= bindparam("start", type_=UTCDateTime()))
    if dates and shape.end:
        where.append(published_at <= bindparam("end", type_=UTCDateTime()))
    if shape.updated:
        where.append(Article.updated_at >= bindparam("updated_since", type_=UTCDateTime()))
    if shape.categories:
        where.append(Article.category.in_(bindparam("categories", expanding=True)))
    if shape.stories:
        where.append(Article.story_id.in_(bindparam("story_ids", expanding=True)))
    return where


def _join_author(shape: Shape, stmt: Select[*tuple[Any, ...]]) -> Select[*tuple[Any, ...]]:
    if shape.authors != 1:
        return stmt
    return stmt.join(
        ArticleAuthor,
        (ArticleAuthor.article_id == Article.id)
        & (ArticleAuthor.author_id == bindparam("author_id")),
    )


def _apply(shape: Shape, stmt: Select[*tuple[Any, ...]]) -> Select[*tuple[Any, ...]]:
    stmt = _join_author(shape, stmt)
    if shape.search == "index":
        index = database_for(shape.database).search_index()
        stmt = stmt.join(index.table, index.article_id == Article.id)
        conditions = _conditions(shape, dates=not shape.exact_keys)
        return stmt.where(index.matches, *_key_range(shape), *conditions)
    where = _conditions(shape)
    if shape.search == "filters":
        published_at, article_id = _driving(shape)
        where.append(database_for(shape.database).probe(article_id, published_at))
    return stmt.where(*where)


def _key_range(shape: Shape) -> list[ColumnElement[bool]]:
    index = database_for(shape.database).search_index()
    where = []
    if shape.start:
        where.append(index.key >= bindparam("key_low", type_=index.key.type))
    if shape.end:
        where.append(index.key <= bindparam("key_high", type_=index.key.type))
    return where


def _count_statement(shape: Shape) -> Select[*tuple[Any, ...]]:
    """Count the listing's articles among the first :work rows of its driving side."""
    if shape.search == "index":
        index = database_for(shape.database).search_index()
        walked = (
            select(index.article_id.label("id"))
            .select_from(index.table)
            .where(index.matches, *_key_range(shape))
            .order_by(index.key.desc())
            .limit(bindparam("work"))
            .subquery()
        )
        stmt = select(func.count()).select_from(walked).join(Article, Article.id == walked.c.id)
        stmt = _join_author(shape, stmt)
        conditions = _conditions(shape, dates=not shape.exact_keys)
        return stmt.where(*conditions)
    published_at, article_id = _driving(shape)
    inner = select(article_id.label("id"), published_at.label("at")).select_from(Article)
    inner = _join_author(shape, inner)
    walked = (
        inner.where(*_conditions(shape))
        .order_by(published_at.desc(), article_id.desc())
        .limit(bindparam("work"))
        .subquery()
    )
    stmt = select(func.count()).select_from(walked)
    if shape.search == "filters":
        stmt = stmt.where(database_for(shape.database).probe(walked.c.id, walked.c.at))
    return stmt


def _count_driving(connection: Connection, listing: "Listing") -> int:
    """The rows the driving side holds, counted up to COUNT_WORK + 1."""
    shape = listing.shape
    driving_shape = Shape(**{**shape.__dict__, "search": ""})
    statement = built(("count", driving_shape), lambda: _count_statement(driving_shape))
    params = listing.params | {"work": COUNT_WORK + 1}
    return int(connection.scalar(statement, params) or 0)


# --- planning ---------------------------------------------------------------------------


def _source_ids(session: Session, filters: ArticleFilters) -> list[int]:
    found = (
        session.scalars(select(Source.id).where(source_named(filters.sources))).all()
        if filters.sources
        else []
    )
    return sorted(set(filters.source_ids) | set(found))


def _author_ids(session: Session, filters: ArticleFilters) -> list[int]:
    names = [name_key(name) for name in filters.authors]
    found = built(
        "author_ids",
        lambda: select(Author.id).where(Author.name_key.in_(bindparam("names", expanding=True))),
    )
    ids = session.scalars(found, {"names": names}).all() if names else []
    return sorted(set(filters.author_ids) | set(ids))


def plan_listing(session: Session, filters: ArticleFilters) -> Listing | None:
    """The Listing for filters, or None when they can match nothing (an unknown name)."""
    database = database_for(session)
    params: dict[str, Any] = {}
    authors = 0
    if filters.authors or filters.author_ids:
        author_ids = _author_ids(session, filters)
        if not author_ids:
            return None
        if len(author_ids) == 1:
            authors, params["author_id"] = 1, author_ids[0]
        else:
            authors, params["author_ids"] = 2, author_ids
    source_ids: list[int] = []
    if filters.sources or filters.source_ids:
        source_ids = _source_ids(session, filters)
        if not source_ids:
            return None
        params["source_ids"] = source_ids
    if filters.languages:
        params["languages"] = filters.languages
    start, end = filters.published_from, filters.published_to
    if start is not None:
        params["start"] = start
    if end is not None:
        params["end"] = end
    if filters.updated_since is not None:
        params["updated_since"] = filters.updated_since
    if filters.categories:
        params["categories"] = filters.categories
    if filters.story_ids:
        params["story_ids"] = filters.story_ids
    shape = Shape(
        database.name,
        authors,
        bool(source_ids),
        bool(filters.languages),
        start is not None,
        end is not None,
        "",
        keys.exact_range(start, end),
        filters.updated_since is not None,
        bool(filters.categories),
        bool(filters.story_ids),
    )
    listing = Listing(shape, params, filters, source_ids)
    if filters.search is not None:
        _plan_search(session, listing, filters.search)
    return listing


def _plan_search(session: Session, listing: Listing, query: SearchQuery) -> None:
    """Count what the two ways of joining the search would read, and take the cheaper."""
    connection = session.connection()
    database = listing.database
    database.plan_search(connection)
    listing.params[SEARCH_PARAM] = database.search_param(query)
    low, high = keys.key_range(listing.filters.published_from, listing.filters.published_to)
    listing.params |= {"key_low": low, "key_high": high}
    shape = listing.shape
    index_shape = Shape(**{**shape.__dict__, "search": "index"})
    if not shape.other_filters:
        listing.shape = index_shape
        if shape.exact_keys:
            listing.matches, listing.matches_exact = _count_matches(connection, listing)
        return
    matches, listing.matches_exact = _count_matches(connection, listing)
    selected = _count_selected(connection, listing)
    listing.matches, listing.selected = matches, selected
    everything = count_in_range(
        connection, listing.filters.published_from, listing.filters.published_to, [], []
    )
    listing.spanned = everything
    if matches == 0 or selected == 0:
        walk_index, walk_filters = matches, selected
    else:
        walk_index = min(matches, PAGE * everything // max(selected, 1))
        walk_filters = PROBE_COST * min(selected, PAGE * everything // max(matches, 1))
    search: Drive = "index" if walk_index <= walk_filters else "filters"
    listing.shape = Shape(**{**shape.__dict__, "search": search})


def _count_matches(connection: Connection, listing: Listing) -> tuple[int, bool]:
    """The search's matches in the key range, counted inside the index up to MATCH_WORK;
    past that, an estimate: the database's own (PostgreSQL's planner keeps each common
    word's frequency), or else the share of matches among the articles that the newest
    MATCH_WORK matches span, scaled to the whole range."""
    shape, database = listing.shape, listing.database
    params = listing.params | {"work": MATCH_WORK + 1}
    key = (shape.database, shape.start, shape.end)
    if database.estimates_rows:
        statement = built(("matches", *key), lambda: _counted(shape))
        found = int(connection.scalar(statement, params) or 0)
        if found <= MATCH_WORK:
            return found, True
        estimate = database.estimate_rows(connection, _matching(shape), listing.params)
        return max(estimate or 0, found), False
    statement = built(("newest", *key), lambda: _newest(shape))
    found, lowest = connection.execute(statement, params).one()
    if found <= MATCH_WORK:
        return int(found), True
    filters = listing.filters
    end = filters.published_to
    spanned = count_in_range(connection, keys.instant_of(int(lowest)), end, [], [])
    everything = count_in_range(connection, filters.published_from, end, [], [])
    return max(round(found * everything / max(spanned, 1)), found), False


def _matching(shape: Shape) -> Select[*tuple[Any, ...]]:
    """The keys of the search's matches in the key range."""
    index = database_for(shape.database).search_index()
    keyed = Shape(**{**shape.__dict__, "search": "index"})
    return (
        select(index.key.label("key"))
        .select_from(index.table)
        .where(index.matches, *_key_range(keyed))
    )


def _counted(shape: Shape) -> Select[*tuple[Any, ...]]:
    """Count up to :work matches, in whatever order the index yields them."""
    return select(func.count()).select_from(_matching(shape).limit(bindparam("work")).subquery())


def _newest(shape: Shape) -> Select[*tuple[Any, ...]]:
    """Count the newest :work matches, and the key of the last of them."""
    index = database_for(shape.database).search_index()
    newest = _matching(shape).order_by(index.key.desc()).limit(bindparam("work")).subquery()
    return select(func.count(), func.min(newest.c.key)).select_from(newest)


def _count_selected(connection: Connection, listing: Listing) -> int:
    """The articles the other filters select in the date range: exact from the count
    table without authors, else counted up to COUNT_WORK + 1."""
    if listing.shape.counted_by_table:
        return count_in_range(
            connection,
            listing.filters.published_from,
            listing.filters.published_to,
            listing.source_ids,
            listing.filters.languages,
        )
    return _count_driving(connection, listing)


# --- relevance ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Candidate:
    key: int  # the search key (app.search.keys)
    id: int
    score: float


@dataclass(frozen=True)
class Window:
    """A relevance window's best candidates after a position, best first, and what
    continues past the window."""

    best: list[Candidate]  # at most `want`, by score then id, descending
    size: int  # the matches the window holds (fewer than asked: the last window)
    lowest: int  # the lowest key among them (the next window starts below it)


def candidates(
    connection: Connection,
    listing: Listing,
    top: int,
    size: int,
    want: int,
    after: tuple[float, int] | None = None,
) -> Window:
    """Of the `size` newest matches passing the filters with a key at most `top`, the
    `want` best by score, then id, that come after `after` in that order.

    Relevance ranks a search's matches a window at a time: the newest `size` first, then
    the next `size`, and so on. A page reads one window (or a few, at a window's end)
    however many articles match, and a search with at most `size` matches is ranked as a
    whole. The database ranks the window and sends only the page's rows.
    """
    shape = listing.shape
    statement = built(("candidates", shape), lambda: _best_of_window(shape))
    at, article_id = keys.instant_of(top), keys.article_id_of(top)
    # No position: every score is below infinity.
    after_score, after_id = after if after is not None else (math.inf, 0)
    params = listing.params | {
        "top": top,
        "top_at": at,
        "top_id": article_id,
        "size": size,
        "want": max(want, 1),
        "after_score": after_score,
        "after_id": after_id,
    }
    rows = connection.execute(statement, params).all()
    if not rows:
        return Window([], 0, 0)
    best = [Candidate(row.key, row.id, row.score) for row in rows if row.passes]
    return Window(best, int(rows[0].size), int(rows[0].lowest))


def _best_of_window(shape: Shape) -> Select[*tuple[Any, ...]]:
    """_candidates_statement's window with its size and lowest key on every row, the
    rows after the position first, best first: when none is after it, the first row
    still says where the next window starts."""
    window = _candidates_statement(shape).subquery("window")
    key, id_, score = window.c
    counted = select(
        key.label("key"),
        id_.label("id"),
        score.label("score"),
        func.min(key).over().label("lowest"),
        func.count().over().label("size"),
    ).subquery("counted")
    after_score: ColumnElement[float] = bindparam("after_score", type_=Double())
    later = or_(
        counted.c.score < after_score,
        and_(counted.c.score == after_score, counted.c.id < bindparam("after_id")),
    )
    passes = case((later, 1), else_=0).label("passes")
    return (
        select(counted.c.key, counted.c.id, counted.c.score, counted.c.lowest, counted.c.size)
        .add_columns(passes)
        .order_by(passes.desc(), counted.c.score.desc(), counted.c.id.desc())
        .limit(bindparam("want"))
    )


def _candidates_statement(shape: Shape) -> Select[*tuple[Any, ...]]:
    database = database_for(shape.database)
    if shape.search == "index":
        index = database.search_index()
        document, score_of = index.document, index.score_of
        late = document is not None and score_of is not None
        scored = document.label("document") if document is not None and late else index.score
        if shape.other_filters or not shape.exact_keys:
            stmt = _apply(shape, select(index.key, Article.id, scored).select_from(Article))
        else:  # the index alone answers: no article needs reading (1,000 lookups a window)
            stmt = select(index.key, index.article_id, scored).where(
                index.matches, *_key_range(shape)
            )
        window = (
            stmt.where(index.key <= bindparam("top", type_=index.key.type))
            .order_by(index.key.desc())
            .limit(bindparam("size"))
        )
        if score_of is None or not late:
            return window
        rows = window.subquery()
        key, id_, vector = rows.c
        return select(key, id_, score_of(vector))
    published_at, article_id = _driving(shape)
    columns = select(
        database.key_of(article_id, published_at),
        article_id,
        database.probed_score(article_id, published_at),
    ).select_from(Article)
    top = tuple_(bindparam("top_at", type_=UTCDateTime()), bindparam("top_id"))
    return (
        _apply(shape, columns)
        .where(tuple_(published_at, article_id) <= top)
        .order_by(published_at.desc(), article_id.desc())
        .limit(bindparam("size"))
    )
