"""Listing, filtering and fetching articles."""

from collections.abc import Hashable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any, TypeVar, cast

from sqlalchemy import ColumnElement, Row, Select, Subquery, Table, func, select
from sqlalchemy.orm import InstrumentedAttribute, Session

from app import schemas
from app.cache.counts import CountCache
from app.databases import database_for
from app.models import Article, ArticleAuthor, Author, Source, name_key, source_named
from app.pagination import Pager, Slice, SortOrder
from app.queries.totals import count_in_range
from app.schemas import ArticleListItem, ArticleRecord, AuthorRef, Highlight, SourceRef
from app.search.highlight import highlight_snippet, highlight_title
from app.search.query import SearchQuery

R = TypeVar("R", bound=ArticleRecord)
_ARTICLES = cast(Table, Article.__table__)


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
        )


@dataclass
class Listing:
    """How to select the filtered articles, and the columns their sort keys read.

    Names are resolved to ids first, so the main query compares ids: with one source
    the (source_id, published_at, id) index yields rows already in order. With exactly
    one author the listing is driven from article_authors, whose (author_id,
    published_at, article_id) index does the same for a prolific author.
    """

    where: list[ColumnElement[bool]]
    published_at: InstrumentedAttribute[datetime]
    id: InstrumentedAttribute[int]
    author_id: int | None = None
    hits: Subquery | None = None  # (id, score) of the articles matching q, to rank them
    known_total: int | None = None  # the count, when planning already found it
    # Set when the filters are only dates, sources (these ids) and languages: the
    # count table then answers the total (app.queries.totals).
    counted_sources: list[int] | None = None

    def select_from(self, stmt: Select[*tuple[Any, ...]]) -> Select[*tuple[Any, ...]]:
        if self.author_id is not None:
            stmt = stmt.join(
                ArticleAuthor,
                (ArticleAuthor.article_id == Article.id)
                & (ArticleAuthor.author_id == self.author_id),
            )
        if self.hits is not None:
            stmt = stmt.join(self.hits, self.hits.c.id == Article.id)
        return stmt.where(*self.where)

    def total(self, session: Session, filters: ArticleFilters, totals: CountCache | None) -> int:
        """How many articles the listing holds, exactly."""
        if self.known_total is not None:
            return self.known_total
        connection = session.connection()
        if self.counted_sources is not None:
            sources = self.counted_sources

            def count() -> int:
                return count_in_range(
                    connection,
                    filters.published_from,
                    filters.published_to,
                    sources,
                    filters.languages,
                )
        else:
            statement = self.select_from(select(func.count()).select_from(Article))

            def count() -> int:
                return connection.scalar(statement) or 0

        return totals.get(session, filters.key(), count) if totals is not None else count()

    def key_columns(self, order: SortOrder) -> dict[str, ColumnElement[Any]]:
        """The column of each part of the order's key (see app.pagination): the search's
        score, the driving table's date and id, or else the article's column of that name."""
        columns: dict[str, ColumnElement[Any]] = {}
        for part in order.key:
            if part.column == "score":
                assert self.hits is not None, "a relevance order needs a ranked listing"
                columns["score"] = self.hits.c.score
            elif part.column == "published_at":
                columns["published_at"] = self.published_at.expression
            elif part.column == "id":
                columns["id"] = self.id.expression
            else:
                columns[part.column] = getattr(Article, part.column)
        return columns

    def select(self, columns: Select[*tuple[Any, ...]], pager: Pager) -> Select[*tuple[Any, ...]]:
        """The page pager asks for, of these columns of the listed articles."""
        return pager.select(self.select_from(columns), self.key_columns(pager.order))


def _source_ids(session: Session, filters: ArticleFilters) -> list[int]:
    found = (
        session.scalars(select(Source.id).where(source_named(filters.sources))).all()
        if filters.sources
        else []
    )
    return sorted(set(filters.source_ids) | set(found))


def _author_ids(session: Session, filters: ArticleFilters) -> list[int]:
    keys = [name_key(name) for name in filters.authors]
    found = (
        session.scalars(select(Author.id).where(Author.name_key.in_(keys))).all() if keys else []
    )
    return sorted(set(filters.author_ids) | set(found))


def plan_listing(
    session: Session, filters: ArticleFilters, *, ranked: bool = False
) -> Listing | None:
    """The Listing for filters, or None when they can match nothing (an unknown name).

    ranked: order a search by relevance (joins the matches with their scores).
    """
    where: list[ColumnElement[bool]] = []
    published_at: InstrumentedAttribute[datetime] = Article.published_at
    id_: InstrumentedAttribute[int] = Article.id
    single_author: int | None = None
    author_filter = bool(filters.authors or filters.author_ids)
    if author_filter:
        author_ids = _author_ids(session, filters)
        if not author_ids:
            return None
        if len(author_ids) == 1:
            single_author = author_ids[0]
            published_at, id_ = ArticleAuthor.published_at, ArticleAuthor.article_id
        else:
            where.append(
                Article.id.in_(
                    select(ArticleAuthor.article_id).where(ArticleAuthor.author_id.in_(author_ids))
                )
            )
    source_ids: list[int] = []
    if filters.sources or filters.source_ids:
        source_ids = _source_ids(session, filters)
        if not source_ids:
            return None
        where.append(
            Article.source_id == source_ids[0]
            if len(source_ids) == 1
            else Article.source_id.in_(source_ids)
        )
    if filters.languages:
        where.append(Article.language.in_(filters.languages))
    if filters.published_from is not None:
        where.append(published_at >= filters.published_from)
    if filters.published_to is not None:
        where.append(published_at <= filters.published_to)
    if filters.updated_since is not None:
        where.append(Article.updated_at >= filters.updated_since)
    hits = None
    known_total = None
    if filters.search is not None:
        database = database_for(session)
        connection = session.connection()
        database.plan_search(connection)
        matches = database.hits(filters.search, ranked=False)
        match_count = connection.scalar(select(func.count()).select_from(matches.subquery()))
        if not where and single_author is None:
            known_total = match_count  # every index entry is an article
        if ranked:
            hits = database.hits(filters.search, ranked=True).subquery("hits")
        else:
            where.append(database.keep_matches(connection, _ARTICLES, matches, match_count or 0))
    return Listing(
        where=where,
        published_at=published_at,
        id=id_,
        author_id=single_author,
        hits=hits,
        known_total=known_total,
        counted_sources=(
            None if filters.search or author_filter or filters.updated_since else source_ids
        ),
    )


def listing_columns() -> Select[*tuple[Any, ...]]:
    return select(
        Article.id,
        Article.url,
        Article.title,
        Article.published_at,
        Article.published_offset_minutes,
        Article.language,
        Article.word_count,
        Article.excerpt,
        Source.id.label("source_id"),
        Source.name.label("source_name"),
        Source.domain.label("source_domain"),
    ).join(Source, Source.id == Article.source_id)


def record_columns() -> Select[*tuple[Any, ...]]:
    """listing_columns() and the rest of the article (what article_record() reads)."""
    return listing_columns().add_columns(
        Article.body, Article.photo_credit, Article.ingested_at, Article.updated_at
    )


def local_time(utc: datetime, offset_minutes: int) -> datetime:
    """The instant as the publisher stated it, in their own UTC offset."""
    return utc.astimezone(timezone(timedelta(minutes=offset_minutes)))


def list_item(row: Row[Any], authors: list[AuthorRef]) -> ArticleListItem:
    """A listing's item from a row of listing_columns() (highlight added by the caller)."""
    return ArticleListItem(
        id=row.id,
        url=row.url,
        title=row.title,
        published_at=local_time(row.published_at, row.published_offset_minutes),
        authors=authors,
        source=SourceRef(id=row.source_id, name=row.source_name, domain=row.source_domain),
        language=row.language,
        word_count=row.word_count,
        excerpt=row.excerpt,
    )


def article_record(row: Row[Any], authors: list[AuthorRef], kind: type[R]) -> R:
    """An article's every field but paragraphs, from a row of record_columns()."""
    return kind(
        id=row.id,
        url=row.url,
        title=row.title,
        published_at=local_time(row.published_at, row.published_offset_minutes),
        authors=authors,
        source=SourceRef(id=row.source_id, name=row.source_name, domain=row.source_domain),
        language=row.language,
        word_count=row.word_count,
        excerpt=row.excerpt,
        body=row.body,
        photo_credit=row.photo_credit,
        ingested_at=row.ingested_at,
        updated_at=row.updated_at,
    )


def authors_of(session: Session, article_ids: Sequence[int]) -> dict[int, list[AuthorRef]]:
    """Each article's byline, in order."""
    found: dict[int, list[AuthorRef]] = {id_: [] for id_ in article_ids}
    if article_ids:
        rows = session.connection().execute(
            select(ArticleAuthor.article_id, Author.id, Author.name)
            .join(Author, Author.id == ArticleAuthor.author_id)
            .where(ArticleAuthor.article_id.in_(article_ids))
            .order_by(ArticleAuthor.article_id, ArticleAuthor.position)
        )
        for article_id, author_id, name in rows:
            found[article_id].append(AuthorRef(id=author_id, name=name))
    return found


def list_articles(
    session: Session, filters: ArticleFilters, pager: Pager, totals: CountCache | None = None
) -> Slice[ArticleListItem]:
    """One page of the articles matching filters, in the pager's order and position.

    With a search, items carry a highlight, and the order may be relevance. totals
    keeps counts under the data version (None: count every time).
    """
    listing = plan_listing(session, filters, ranked=pager.order.needs_search)
    if listing is None:
        return Slice(items=[], total=0, next_key=None)
    # Core execution: these are plain rows, and the ORM's per-statement work shows in latency.
    connection = session.connection()
    total = listing.total(session, filters, totals)
    columns = listing_columns()
    if filters.search is not None:
        columns = columns.add_columns(Article.body)
    rows, next_key = pager.split(connection.execute(listing.select(columns, pager)).all())
    authors = authors_of(session, [row.id for row in rows])
    items = [list_item(row, authors[row.id]) for row in rows]
    if filters.search is not None:
        wanted = filters.search.positive_terms
        for item, row in zip(items, rows, strict=True):
            item.highlight = Highlight(
                title=highlight_title(row.title, wanted),
                snippet=highlight_snippet(row.body, wanted),
            )
    return Slice(items=items, total=total, next_key=next_key)


def article_records(
    session: Session, filters: ArticleFilters, pager: Pager
) -> Slice[ArticleRecord]:
    """Whole articles (every field but paragraphs) in the pager's order, a page at a time,
    without a total: what exports and feeds read (app.queries.export)."""
    listing = plan_listing(session, filters, ranked=pager.order.needs_search)
    if listing is None:
        return Slice(items=[], total=None, next_key=None)
    connection = session.connection()
    rows, next_key = pager.split(connection.execute(listing.select(record_columns(), pager)).all())
    authors = authors_of(session, [row.id for row in rows])
    items = [article_record(row, authors[row.id], ArticleRecord) for row in rows]
    return Slice(items, None, next_key)


def get_article(session: Session, article_id: int) -> schemas.Article | None:
    row = session.execute(record_columns().where(Article.id == article_id)).one_or_none()
    if row is None:
        return None
    article = article_record(row, authors_of(session, [article_id])[article_id], schemas.Article)
    article.paragraphs = row.body.split("\n\n") if row.body else []
    return article
