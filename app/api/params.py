"""Query parameters shared by the listing endpoints, parsed into query arguments."""

from datetime import UTC, date, datetime, time
from typing import TYPE_CHECKING, Annotated, Any, Literal

from fastapi import Query, Request
from pydantic import Field

from app.errors import invalid_params
from app.pagination import SortOrder, sort_description, sort_order, sorts_of
from app.queries.listing import ArticleFilters
from app.search.query import MAX_QUERY_CHARS, QueryError, SearchQuery, parse_query
from app.stories.topics import CATEGORIES

MAX_REPEAT = 50
MAX_ID = 2_147_483_647  # ids are 32-bit integers on PostgreSQL
MAX_NAME_CHARS = 500  # names are stored in at most 500 characters (app.models)
MAX_INSTANT_CHARS = 64

Id = Annotated[int, Field(ge=1, le=MAX_ID)]
NameValue = Annotated[str, Field(max_length=MAX_NAME_CHARS)]

Limit = Annotated[int, Query(ge=1, le=100, description="Items per page, 1–100.", examples=[20])]
Page = Annotated[
    int | None,
    Query(
        ge=1,
        description="1-based page number, for page-numbered views; only while "
        "page × limit ≤ 10,000. Not together with `cursor`.",
        examples=[2],
    ),
]


def sort_names(list_name: str) -> Any:
    """A Literal of the list's sort order names (app.pagination.SORTS), so that FastAPI
    checks `sort` with the other parameters and the OpenAPI document lists them."""
    return Literal[tuple(sorts_of(list_name))]


if TYPE_CHECKING:  # the names come from the registry at run time; to mypy they are str
    ArticleSortName = str
    AuthorSortName = str
    StorySortName = str
else:
    ArticleSortName = sort_names("articles")
    AuthorSortName = sort_names("authors")
    StorySortName = sort_names("stories")

ArticleSort = Annotated[
    ArticleSortName | None,
    Query(description=sort_description("articles"), examples=["-published_at"]),
]
AuthorSort = Annotated[
    AuthorSortName, Query(description=sort_description("authors"), examples=["name"])
]
CategoryParam = Annotated[
    list[NameValue],
    Query(
        description="Category, one of: " + ", ".join(f"`{c}`" for c in CATEGORIES) + "; "
        "may repeat (any of them). Another value is a 400 naming it.",
        examples=["economy"],
        # The document lists the categories (clients and generated types see the choice);
        # the check itself stays check_categories', whose 400 names the unknown one.
        json_schema_extra={"items": {"type": "string", "enum": list(CATEGORIES)}},
    ),
]
StorySort = Annotated[
    StorySortName, Query(description=sort_description("stories"), examples=["importance"])
]
Cursor = Annotated[
    str | None,
    Query(
        max_length=512,
        description="Opaque position from the previous response's `next_cursor` "
        "(keyset pagination: any depth costs the same). Not together with `page`.",
        examples=[
            "eyJzIjoiLXB1Ymxpc2hlZF9hdCIsImsiOlsiMjAxOS0xMS0wNlQwOToyNjowMCswMDowMCIsMV19.L_lfwkNv1mEY1pRPiF6-2Q"
        ],
    ),
]


def parse_instant(name: str, value: str, *, end: bool) -> datetime:
    """A date (YYYY-MM-DD) or ISO 8601 datetime; naive means UTC.

    A bare date as an end bound includes that whole UTC day.
    """
    text = value.strip()
    try:
        if len(text) == 10:
            day = date.fromisoformat(text)
            return datetime.combine(day, time.max if end else time.min, tzinfo=UTC)
        parsed = _fromisoformat(text)
    except ValueError:
        raise invalid_params(
            (name, f"{value[:40]!r} is not a date (YYYY-MM-DD) or an ISO 8601 datetime")
        ) from None
    try:
        # Compared in UTC: 0001-01-01T00:00+05:00 has no UTC instant to compare.
        return parsed.astimezone(UTC) if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    except OverflowError:
        raise invalid_params((name, f"{value[:40]!r} is out of range")) from None


def _fromisoformat(text: str) -> datetime:
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        # An unencoded "+03:00" in a query string arrives as " 03:00".
        head, sep, tail = text.rpartition(" ")
        if not sep:
            raise
        return datetime.fromisoformat(f"{head}+{tail}")


def check_repeats(**values: list[Any]) -> None:
    for name, items in values.items():
        if len(items) > MAX_REPEAT:
            raise invalid_params((name, f"may repeat at most {MAX_REPEAT} times"))


async def reject_nul(request: Request) -> None:
    """400 for a NUL character in any query parameter.

    PostgreSQL text cannot hold one (the driver refuses the statement), and no name,
    date or search contains one; rejecting it up front answers alike on both backends.
    """
    for name, value in request.query_params.multi_items():
        if "\x00" in name or "\x00" in value:
            raise invalid_params((name, "may not contain NUL (U+0000) characters"))


async def article_filters(
    published_from: Annotated[
        str | None,
        Query(
            alias="from",
            max_length=MAX_INSTANT_CHARS,
            description="Published at or after: a date (YYYY-MM-DD, 00:00 UTC) or an ISO 8601 "
            "datetime (UTC when it has no offset).",
            examples=["2019-11-01"],
        ),
    ] = None,
    published_to: Annotated[
        str | None,
        Query(
            alias="to",
            max_length=MAX_INSTANT_CHARS,
            description="Published at or before: a date includes that whole UTC day; "
            "a datetime is inclusive of that instant.",
            examples=["2019-11-30"],
        ),
    ] = None,
    author: Annotated[
        list[NameValue],
        Query(
            description="Author name, case-insensitive; repeat for any of several.",
            examples=["Екатерина Сумина"],
        ),
    ] = [],  # noqa: B006  (FastAPI copies defaults)
    author_id: Annotated[list[Id], Query(description="Author id; may repeat.", examples=[1])] = [],  # noqa: B006
    source: Annotated[
        list[NameValue],
        Query(
            description="Source name or domain, case-insensitive; may repeat.",
            examples=["fedpress.ru"],
        ),
    ] = [],  # noqa: B006
    source_id: Annotated[list[Id], Query(description="Source id; may repeat.", examples=[1])] = [],  # noqa: B006
    language: Annotated[
        list[NameValue],
        Query(description="Language code (ru, en, other); may repeat.", examples=["ru"]),
    ] = [],  # noqa: B006
    updated_since: Annotated[
        str | None,
        Query(
            max_length=MAX_INSTANT_CHARS,
            description="Loaded or changed by the ingest at or after: a date (00:00 UTC) or "
            "an ISO 8601 datetime. For mirroring, /changes also tells deletions.",
            examples=["2019-11-20T00:00:00Z"],
        ),
    ] = None,
    q: Annotated[
        str | None,
        Query(
            max_length=MAX_QUERY_CHARS,
            description="Full-text search, as typed in a search box: words (all must match, "
            'in any inflected form), "quoted phrases", `OR`, and `-word` to exclude.',
            examples=["форумы Казахстана -Омск"],
        ),
    ] = None,
    category: CategoryParam = [],  # noqa: B006
    story_id: Annotated[
        list[Id],
        Query(description="Story id (GET /stories): its articles; may repeat.", examples=[12]),
    ] = [],  # noqa: B006
) -> ArticleFilters:
    check_repeats(
        author=author,
        author_id=author_id,
        source=source,
        source_id=source_id,
        language=language,
        category=category,
        story_id=story_id,
    )
    start = parse_instant("from", published_from, end=False) if published_from else None
    end = parse_instant("to", published_to, end=True) if published_to else None
    if start and end and start > end:
        raise invalid_params(("to", "is before `from`"))
    return ArticleFilters(
        published_from=start,
        published_to=end,
        authors=author,
        author_ids=author_id,
        sources=source,
        source_ids=source_id,
        languages=language,
        search=parse_search(q),
        updated_since=(
            parse_instant("updated_since", updated_since, end=False) if updated_since else None
        ),
        categories=check_categories(category),
        story_ids=story_id,
    )


def check_categories(names: list[str]) -> list[str]:
    """The categories asked for, or a 400 naming each unknown one."""
    unknown = [name for name in dict.fromkeys(names) if name not in CATEGORIES]
    if unknown:
        known = ", ".join(CATEGORIES)
        raise invalid_params(
            *(("category", f"unknown category {name[:40]!r}; one of: {known}") for name in unknown)
        )
    return names


def parse_search(q: str | None) -> SearchQuery | None:
    if q is None or not q.strip():
        return None
    try:
        return parse_query(q)
    except QueryError as exc:
        raise invalid_params(("q", str(exc))) from None


def resolve_sort(sort: str | None, filters: ArticleFilters) -> SortOrder:
    """The article sort asked for, or the default: relevance with a search, else newest
    first."""
    if sort is None:
        sort = "relevance" if filters.search else "-published_at"
    order = sort_order("articles", sort)
    if order.needs_search and filters.search is None:
        raise invalid_params(("sort", f"{order.name} needs a search: give q"))
    return order
