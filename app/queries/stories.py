"""Stories: the listing (filters, the two sort orders, keyset pages), one story with its
articles, and an article's similar articles.

The stories table (app.models.Story) holds each story's aggregates, kept by the ingest
(app.ingest.stories), so a page of stories is read in index order of its sort
(app.pagination.SORTS, list "stories"). Filters on what a story's articles hold (a
source, a search) select the stories of the matching articles.
"""

from collections import defaultdict
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import ColumnElement, bindparam, func, select
from sqlalchemy.orm import Session

from app.cache.counts import CountCache
from app.databases import SEARCH_PARAM, database_for
from app.models import Article, ArticleSignature, Source, Story, name_key, source_named
from app.pagination import Pager, Slice, sort_order
from app.queries.articles import list_articles, list_item, local_time
from app.queries.listing import ArticleFilters, page_columns
from app.schemas import (
    ArticleListItem,
    SimilarArticle,
    SourceRef,
    StoryArticle,
    StoryItem,
)
from app.schemas import Story as StoryDetail
from app.search.query import QueryError, SearchQuery, parse_query
from app.stories import grouping

TOP_ARTICLES = 3  # on a story's card: its first report, then the newest
CANDIDATES = 100  # articles found by the search index that /similar ranks by signature


@dataclass
class StoryFilters:
    published_from: datetime | None = None  # stories with an article at or after
    published_to: datetime | None = None  # stories with an article at or before
    categories: list[str] = field(default_factory=list)
    languages: list[str] = field(default_factory=list)
    sources: list[str] = field(default_factory=list)  # names or domains, any case
    search: SearchQuery | None = None  # stories with an article that matches

    def key(self) -> tuple[Any, ...]:
        return (
            "stories",
            self.published_from,
            self.published_to,
            tuple(sorted(set(self.categories))),
            tuple(sorted(set(self.languages))),
            tuple(sorted({name_key(s) for s in self.sources})),
            self.search,
        )


def _conditions(session: Session, filters: StoryFilters) -> tuple[list[Any], dict[str, Any]]:
    """The filters' conditions on stories, and the parameters they bind."""
    where: list[ColumnElement[bool]] = []
    params: dict[str, Any] = {}
    if filters.published_from is not None:
        where.append(Story.last_published_at >= filters.published_from)
    if filters.published_to is not None:
        where.append(Story.first_published_at <= filters.published_to)
    if filters.categories:
        where.append(Story.category.in_(filters.categories))
    if filters.languages:
        where.append(Story.language.in_(filters.languages))
    if filters.sources:
        source_ids = select(Source.id).where(source_named(filters.sources))
        where.append(
            Story.id.in_(select(Article.story_id).where(Article.source_id.in_(source_ids)))
        )
    if filters.search is not None:
        database = database_for(session)
        database.plan_search(session.connection())
        index = database.search_index()
        matching = (
            select(Article.story_id)
            .select_from(index.table)
            .join(Article, Article.id == index.article_id)
            .where(index.matches)
        )
        where.append(Story.id.in_(matching))
        params[SEARCH_PARAM] = database.search_param(filters.search)
    return where, params


def _utc(value: datetime) -> datetime:
    return value.astimezone(UTC)


def _item(row: Any, top: list[StoryArticle]) -> StoryItem:
    return StoryItem(
        id=row.id,
        title=row.title,
        category=row.category,
        language=row.language,
        article_count=row.article_count,
        source_count=row.source_count,
        first_published_at=_utc(row.first_published_at),
        last_published_at=_utc(row.last_published_at),
        top_articles=top,
    )


_STORY_COLUMNS = (
    Story.id,
    Story.article_id,
    Story.title,
    Story.category,
    Story.language,
    Story.article_count,
    Story.source_count,
    Story.first_published_at,
    Story.last_published_at,
)


def list_stories(
    session: Session, filters: StoryFilters, pager: Pager, totals: CountCache | None = None
) -> Slice[StoryItem]:
    """A page of the stories matching filters, in the pager's order, with their top
    articles."""
    where, params = _conditions(session, filters)

    def count() -> int:
        return int(
            session.scalar(select(func.count()).select_from(Story).where(*where), params) or 0
        )

    total = count() if totals is None else totals.get(session, filters.key(), count)
    columns = {part.column: getattr(Story, part.column) for part in pager.order.key}
    statement = pager.select(select(*_STORY_COLUMNS).where(*where), columns)
    rows, next_key = pager.split(session.execute(statement, params | pager.params()).all())
    top = _top_articles(session, [(row.id, row.article_id) for row in rows])
    items = [_item(row, top.get(row.id, [])) for row in rows]
    return Slice(items=items, total=total, next_key=next_key)


def _story_article(row: Any) -> StoryArticle:
    return StoryArticle(
        id=row.id,
        title=row.title,
        source=SourceRef(id=row.source_id, name=row.source_name, domain=row.source_domain),
        url=row.url,
        published_at=local_time(row.published_at, row.published_offset_minutes),
    )


def _top_articles(
    session: Session, stories: list[tuple[int, int]]
) -> dict[int, list[StoryArticle]]:
    """For each (story id, representative id): the representative, then the newest others,
    TOP_ARTICLES in all."""
    if not stories:
        return {}
    ids = [story_id for story_id, _ in stories]
    representatives = {article_id for _, article_id in stories}
    rank = (
        func.row_number()
        .over(
            partition_by=Article.story_id, order_by=(Article.published_at.desc(), Article.id.desc())
        )
        .label("rank")
    )
    ranked = (
        select(
            Article.id,
            Article.story_id,
            Article.title,
            Article.url,
            Article.published_at,
            Article.published_offset_minutes,
            Source.id.label("source_id"),
            Source.name.label("source_name"),
            Source.domain.label("source_domain"),
            rank,
        )
        .join(Source, Source.id == Article.source_id)
        .where(Article.story_id.in_(bindparam("ids", expanding=True)))
        .subquery()
    )
    rows = session.execute(
        select(ranked).where(
            (ranked.c.rank <= TOP_ARTICLES)
            | ranked.c.id.in_(bindparam("representatives", expanding=True))
        ),
        {"ids": ids, "representatives": sorted(representatives)},
    ).all()
    by_story: dict[int, list[Any]] = defaultdict(list)
    for row in sorted(rows, key=lambda r: (r.story_id, r.rank)):
        by_story[row.story_id].append(row)
    found: dict[int, list[StoryArticle]] = {}
    for story_id, representative in stories:
        members = by_story.get(story_id, [])
        first = [m for m in members if m.id == representative]
        rest = [m for m in members if m.id != representative]
        found[story_id] = [_story_article(m) for m in (first + rest)[:TOP_ARTICLES]]
    return found


def get_story(session: Session, story_id: int) -> StoryDetail | None:
    """The story with every article of it, newest first; None if there is none."""
    row = session.execute(select(*_STORY_COLUMNS).where(Story.id == story_id)).one_or_none()
    if row is None:
        return None
    database = database_for(session).name
    articles = session.execute(
        page_columns("list", database)
        .where(Article.story_id == story_id)
        .order_by(Article.published_at.desc(), Article.id.desc())
    ).all()
    top = _top_articles(session, [(row.id, row.article_id)]).get(row.id, [])
    item = _item(row, top)
    return StoryDetail(
        **{f.name: getattr(item, f.name) for f in fields(StoryItem)},
        articles=[list_item(article) for article in articles],
    )


# --- similar articles -------------------------------------------------------------------


def _similar(item: ArticleListItem, similarity: float, same_story: bool) -> SimilarArticle:
    values = {f.name: getattr(item, f.name) for f in fields(ArticleListItem)}
    return SimilarArticle(
        **values | {"highlight": None}, similarity=round(similarity, 4), same_story=same_story
    )


def _signatures(session: Session, ids: list[int]) -> dict[int, str]:
    if not ids:
        return {}
    rows = session.execute(
        select(ArticleSignature.article_id, ArticleSignature.signature).where(
            ArticleSignature.article_id.in_(ids)
        )
    )
    return {id_: signature for id_, signature in rows}


def similar_articles(
    session: Session, article_id: int, limit: int, rank_window: int = 1000
) -> list[SimilarArticle] | None:
    """The articles closest in content to this one: the others of its own story, closest
    first, then articles found in the search index by the key terms of its signature
    (grouping.key_terms) and ranked by grouping.similarity. None: no such article."""
    found = session.execute(
        select(Article.id, Article.story_id, ArticleSignature.signature)
        .outerjoin(ArticleSignature, ArticleSignature.article_id == Article.id)
        .where(Article.id == article_id)
    ).one_or_none()
    if found is None:
        return None
    signature = found.signature or ""
    database = database_for(session).name
    results: list[SimilarArticle] = []
    own_ids: set[int] = {article_id}
    if found.story_id is not None:
        rows = session.execute(
            page_columns("list", database)
            .where(Article.story_id == found.story_id, Article.id != article_id)
            .order_by(Article.published_at.desc(), Article.id.desc())
        ).all()
        signatures = _signatures(session, [row.id for row in rows])
        scored = [(grouping.similarity(signature, signatures.get(row.id, "")), row) for row in rows]
        scored.sort(key=lambda pair: (-pair[0], -pair[1].id))
        results += [_similar(list_item(row), score, True) for score, row in scored]
        own_ids |= {row.id for row in rows}
    if len(results) >= limit:
        return results[:limit]
    query = _key_terms_query(signature)
    if query is None:
        return results
    pager = Pager(sort_order("articles", "relevance"), CANDIDATES)
    candidates = list_articles(session, ArticleFilters(search=query), pager, None, rank_window)
    others = [item for item in candidates.items if item.id not in own_ids]
    signatures = _signatures(session, [item.id for item in others])
    ranked = sorted(
        ((grouping.similarity(signature, signatures.get(item.id, "")), item) for item in others),
        key=lambda pair: (-pair[0], -pair[1].id),
    )
    results += [_similar(item, score, False) for score, item in ranked if score > 0]
    return results[:limit]


def _key_terms_query(signature: str) -> SearchQuery | None:
    """Any of the signature's key terms, as a search."""
    wanted = grouping.key_terms(signature)
    if not wanted:
        return None
    try:
        return parse_query(" OR ".join(wanted))
    except QueryError:
        return None
