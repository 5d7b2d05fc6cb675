"""Query parameters shared by the listing endpoints, parsed into query arguments."""

from datetime import UTC, date, datetime, time
from typing import Annotated, Any, Literal

from fastapi import Query, Request
from pydantic import Field

from app.config import Settings
from app.errors import ApiError, invalid_params
from app.pagination import MAX_OFFSET, check_page, decode_cursor, encode_cursor
from app.queries.articles import ArticleFilters
from app.search.query import MAX_QUERY_CHARS, QueryError, SearchQuery, parse_query

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
SortName = Literal["relevance", "-published_at", "published_at"]
Sort = Annotated[
    SortName | None,
    Query(
        description="`relevance` (best match first; the default when `q` is given, and only "
        "with `q`), `-published_at` (newest first; the default otherwise) or `published_at`. "
        "Ties are broken by id, so the order is total.",
    ),
]
Cursor = Annotated[
    str | None,
    Query(
        max_length=512,
        description="Opaque position from the previous response's `next_cursor` "
        "(keyset pagination: any depth costs the same). Not together with `page`.",
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


def _check_repeats(**values: list[Any]) -> None:
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
    author_id: Annotated[list[Id], Query(description="Author id; may repeat.")] = [],  # noqa: B006
    source: Annotated[
        list[NameValue],
        Query(
            description="Source name or domain, case-insensitive; may repeat.",
            examples=["fedpress.ru"],
        ),
    ] = [],  # noqa: B006
    source_id: Annotated[list[Id], Query(description="Source id; may repeat.")] = [],  # noqa: B006
    language: Annotated[
        list[NameValue],
        Query(description="Language code (ru, en, other); may repeat.", examples=["ru"]),
    ] = [],  # noqa: B006
    q: Annotated[
        str | None,
        Query(
            max_length=MAX_QUERY_CHARS,
            description="Full-text search, as typed in a search box: words (all must match, "
            'in any inflected form), "quoted phrases", `OR`, and `-word` to exclude.',
            examples=["форумы Казахстана -Омск"],
        ),
    ] = None,
) -> ArticleFilters:
    _check_repeats(
        author=author, author_id=author_id, source=source, source_id=source_id, language=language
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
        search=_parse_search(q),
    )


def _parse_search(q: str | None) -> SearchQuery | None:
    if q is None or not q.strip():
        return None
    try:
        return parse_query(q)
    except QueryError as exc:
        raise invalid_params(("q", str(exc))) from None


def resolve_sort(sort: SortName | None, filters: ArticleFilters) -> SortName:
    """The sort asked for, or the default: relevance with a search, else newest first."""
    if sort is None:
        return "relevance" if filters.search else "-published_at"
    if sort == "relevance" and filters.search is None:
        raise invalid_params(("sort", "relevance needs a search: give q"))
    return sort


def resolve_position(
    settings: Settings,
    sort: str,
    limit: int,
    page: int | None,
    cursor: str | None,
    key_types: tuple[type, ...],
) -> tuple[tuple[Any, ...] | None, int]:
    """(keyset after which to start, offset) for the page or cursor asked for.

    key_types says what each part of the cursor's key must be (datetime parts are sent
    as ISO strings); a key of another shape is rejected like a tampered cursor.
    """
    error: ApiError | None = check_page(page, cursor, limit)
    if error:
        raise error
    if cursor is None:
        return None, ((page or 1) - 1) * limit
    key = decode_cursor(settings.cursor_secret, sort, cursor)
    try:
        if len(key) != len(key_types):
            raise TypeError
        parts: list[Any] = []
        for value, kind in zip(key, key_types, strict=True):
            if kind is datetime:
                value = datetime.fromisoformat(value)
                if value.tzinfo is None:
                    raise TypeError
            elif type(value) is not kind:
                raise TypeError
            parts.append(value)
    except (TypeError, ValueError):
        raise invalid_params(("cursor", "invalid cursor")) from None
    return tuple(parts), 0


def next_page(
    request: Request,
    headers: dict[str, str],
    settings: Settings,
    sort: str,
    next_key: list[Any] | None,
    page: int | None,
    limit: int,
) -> str | None:
    """next_cursor for the body, and an RFC 8288 Link header for the next page."""
    if next_key is None:
        return None
    cursor = encode_cursor(settings.cursor_secret, sort, next_key)
    if page is not None and (page + 1) * limit <= MAX_OFFSET:
        url = request.url.include_query_params(page=page + 1)
    else:
        url = request.url.remove_query_params("page").include_query_params(cursor=cursor)
    headers["Link"] = f'<{url}>; rel="next"'
    return cursor
