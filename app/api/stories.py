"""/api/v1/stories: stories (the articles of every source about one event), one story."""

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request, Response
from sqlalchemy.orm import Session

from app.api.deps import ReplyDep, SettingsDep
from app.api.fields import (
    STORY_DETAIL_FIELDS,
    STORY_FIELDS,
    StoryDetailFields,
    StoryFields,
    parse_fields,
)
from app.api.params import (
    MAX_ID,
    MAX_INSTANT_CHARS,
    CategoryParam,
    Cursor,
    Limit,
    NameValue,
    Page,
    StorySort,
    check_categories,
    check_repeats,
    parse_instant,
    parse_search,
)
from app.cache.responses import Answer
from app.errors import invalid_params, not_found, problem_responses
from app.pagination import next_page, read_pager, sort_order
from app.queries.stories import StoryFilters, get_story, list_stories
from app.schemas import Story, StoryPage
from app.search.query import MAX_QUERY_CHARS

router = APIRouter(prefix="/stories", tags=["stories"])

PAGE_FIELDS = {"total": True, "limit": True, "next_cursor": True}  # kept by `fields=`


async def story_filters(
    published_from: Annotated[
        str | None,
        Query(
            alias="from",
            max_length=MAX_INSTANT_CHARS,
            description="Stories with an article published at or after: a date (YYYY-MM-DD, "
            "00:00 UTC) or an ISO 8601 datetime (UTC when it has no offset).",
            examples=["2019-11-01"],
        ),
    ] = None,
    published_to: Annotated[
        str | None,
        Query(
            alias="to",
            max_length=MAX_INSTANT_CHARS,
            description="Stories with an article published at or before: a date includes "
            "that whole UTC day.",
            examples=["2019-11-30"],
        ),
    ] = None,
    category: CategoryParam = [],  # noqa: B006
    language: Annotated[
        list[NameValue],
        Query(description="The story's language (ru, en, other); may repeat.", examples=["ru"]),
    ] = [],  # noqa: B006
    source: Annotated[
        list[NameValue],
        Query(
            description="Stories with an article from this source (name or domain, "
            "case-insensitive); may repeat.",
            examples=["fedpress.ru"],
        ),
    ] = [],  # noqa: B006
    q: Annotated[
        str | None,
        Query(
            max_length=MAX_QUERY_CHARS,
            description="Stories with an article that matches this search (as `q` on /articles).",
            examples=["форум Казахстан"],
        ),
    ] = None,
) -> StoryFilters:
    check_repeats(category=category, language=language, source=source)
    start = parse_instant("from", published_from, end=False) if published_from else None
    end = parse_instant("to", published_to, end=True) if published_to else None
    if start and end and start > end:
        raise invalid_params(("to", "is before `from`"))
    return StoryFilters(
        published_from=start,
        published_to=end,
        categories=check_categories(category),
        languages=language,
        sources=source,
        search=parse_search(q),
    )


@router.get(
    "",
    response_model=StoryPage,
    summary="Stories: the articles of every source about one event, most important first",
    responses=problem_responses(400, 503, 504),
)
def list_stories_route(
    request: Request,
    reply: ReplyDep,
    settings: SettingsDep,
    filters: Annotated[StoryFilters, Depends(story_filters)],
    sort: StorySort = "importance",
    limit: Limit = 20,
    page: Page = None,
    cursor: Cursor = None,
    fields: StoryFields = None,
) -> Response:
    wanted = parse_fields(fields, STORY_FIELDS)
    pager = read_pager(settings.cursor_secret, sort_order("stories", sort), limit, page, cursor)

    def build(session: Session) -> Answer:
        found = list_stories(session, filters, pager, reply.totals)
        following = next_page(settings.cursor_secret, pager, found.next_key, request.url)
        body = StoryPage(found.items, found.total or 0, limit, following.cursor)
        include = None if wanted is None else {"items": {"__all__": wanted}, **PAGE_FIELDS}
        return Answer(body, following.headers, include=include)

    return reply(build)


@router.get(
    "/{story_id:int}",
    response_model=Story,
    summary="One story with all its articles, newest first",
    responses=problem_responses(400, 404, 503, 504, s404="No story with this id."),
)
def get_story_route(
    reply: ReplyDep,
    story_id: Annotated[int, Path(description="Story id.", ge=1, le=MAX_ID, examples=[12])],
    fields: StoryDetailFields = None,
) -> Response:
    wanted = parse_fields(fields, STORY_DETAIL_FIELDS)

    def build(session: Session) -> Answer:
        story = get_story(session, story_id)
        if story is None:
            raise not_found("story", story_id)
        return Answer(story, include=wanted)

    return reply(build)
