"""Keyset pagination: the one home of every sort order of every list.

A sort order (`SortOrder`) names the key its list is ordered by (columns, each with the
type its value has in a cursor) and the direction. From it this module derives all the
rest, for articles, authors, exports and any list to come:

* the `sort` values a list accepts, and their descriptions in the OpenAPI document;
* the ORDER BY, and the seek past the last key of the page before (`Pager.select`);
* the next key, read from the extra row the page asks for (`Pager.split`);
* opaque cursors: the key and its sort, signed with HMAC so that a client cannot forge a
  position; anything tampered, truncated or made for another sort is a 400 naming
  `cursor` (`encode_cursor`, `read_pager`);
* numbered pages (`page`), allowed while page × limit ≤ MAX_OFFSET, and the RFC 8288
  `Link: rel="next"` header (`next_link`).

Adding a sort order is one entry in SORTS. A list's query resolves the key's column
names to its own columns (app.queries.articles.Listing.key_column): a sort on a column of
articles needs nothing more.
"""

import base64
import hashlib
import hmac
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Generic, TypeVar

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Double,
    Integer,
    Row,
    Select,
    String,
    bindparam,
    tuple_,
)
from sqlalchemy.types import TypeEngine
from starlette.datastructures import URL

from app.db import UTCDateTime
from app.errors import invalid_params

MAX_CURSOR_CHARS = 512
MAX_OFFSET = 10_000
KEY_LABEL = "sort_key_{}"  # the key's columns in a page's rows
AFTER_PARAM = "after_{}"
LIMIT_PARAM = "page_limit"
OFFSET_PARAM = "page_offset"

KeyValue = datetime | float | int | str
R = TypeVar("R", bound=Row[Any])
T = TypeVar("T")
# How each type of key value is bound as a SQL literal.
_SQL_TYPES: dict[type, Callable[[], TypeEngine[Any]]] = {
    datetime: UTCDateTime,
    float: Double,
    int: Integer,
    str: String,
}


@dataclass(frozen=True)
class KeyPart:
    column: str  # resolved to a column by the list's query
    type: type[KeyValue]


@dataclass(frozen=True)
class SortOrder:
    list: str  # which list it orders: "articles", "authors", …
    name: str  # as in ?sort=
    key: tuple[KeyPart, ...]  # ends with a unique column, so the order is total
    descending: bool
    description: str
    needs_search: bool = False  # only with q (the key is the search's score)


def _key(*parts: tuple[str, type[KeyValue]]) -> tuple[KeyPart, ...]:
    return tuple(KeyPart(column, kind) for column, kind in parts)


SORTS: tuple[SortOrder, ...] = (
    SortOrder(
        "articles",
        "-published_at",
        _key(("published_at", datetime), ("id", int)),
        descending=True,
        description="newest first, the default without `q`",
    ),
    SortOrder(
        "articles",
        "published_at",
        _key(("published_at", datetime), ("id", int)),
        descending=False,
        description="oldest first",
    ),
    SortOrder(
        "articles",
        "relevance",
        # The key's first part is the top key of the window of matches ranked together
        # (app.queries.listing.candidates).
        _key(("window", int), ("score", float), ("id", int)),
        descending=True,
        description="best match first, the default with `q` (and only with `q`)",
        needs_search=True,
    ),
    SortOrder(
        "stories",
        "importance",
        _key(("importance", float), ("id", int)),
        descending=True,
        description="most important first, the default: 2·log2(sources) + log2(articles) + "
        "the day of its last article, so a story reported by twice as many sources ranks "
        "as one two days newer, and twice as many articles as one a day newer",
    ),
    SortOrder(
        "stories",
        "-last_published_at",
        _key(("last_published_at", datetime), ("id", int)),
        descending=True,
        description="the latest updated first (by its newest article)",
    ),
    SortOrder(
        "authors",
        "name",
        _key(("name_key", str), ("id", int)),
        descending=False,
        description="by name, case-insensitively",
    ),
)


def sorts_of(list_name: str) -> dict[str, SortOrder]:
    """The sort orders of one list, by name, in SORTS order."""
    return {order.name: order for order in SORTS if order.list == list_name}


def sort_description(list_name: str) -> str:
    """The `sort` parameter's description for the OpenAPI document."""
    orders = "; ".join(f"`{o.name}`: {o.description}" for o in sorts_of(list_name).values())
    return f"{orders}. Ties are broken by id, so the order is total."


def sort_order(list_name: str, name: str) -> SortOrder:
    """The named sort order of a list, or a 400 naming `sort` and the known ones."""
    orders = sorts_of(list_name)
    if name not in orders:
        raise invalid_params(("sort", f"unknown sort {name[:40]!r}; one of: {', '.join(orders)}"))
    return orders[name]


# --- cursors --------------------------------------------------------------------------


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _sign(secret: str, payload: bytes) -> bytes:
    return hmac.new(secret.encode(), payload, hashlib.sha256).digest()[:16]


def encode_cursor(secret: str, sort: str, key: Sequence[Any]) -> str:
    """The cursor of a position: the key's values (datetimes as UTC ISO 8601) and the
    sort's name, signed."""
    values = [v.astimezone(UTC).isoformat() if isinstance(v, datetime) else v for v in key]
    payload = json.dumps({"s": sort, "k": values}, separators=(",", ":")).encode()
    return _b64(payload) + "." + _b64(_sign(secret, payload))


def decode_cursor(secret: str, order: SortOrder, cursor: str) -> tuple[KeyValue, ...]:
    """The key a cursor holds, checked against the order's key; else a 400 naming it."""
    bad = invalid_params(("cursor", "invalid or tampered cursor; use next_cursor as returned"))
    if len(cursor) > MAX_CURSOR_CHARS or cursor.count(".") != 1:
        raise bad
    body, mac = cursor.split(".")
    try:
        payload, given = _unb64(body), _unb64(mac)
    except (ValueError, TypeError):
        raise bad from None
    if not hmac.compare_digest(given, _sign(secret, payload)):
        raise bad
    data = json.loads(payload)
    if data.get("s") != order.name:
        raise invalid_params(
            ("cursor", f"this cursor belongs to sort={data.get('s')}, not {order.name}")
        )
    try:
        return _typed_key(order, data["k"])
    except (TypeError, ValueError):
        raise invalid_params(("cursor", "invalid cursor")) from None


def _typed_key(order: SortOrder, values: list[Any]) -> tuple[KeyValue, ...]:
    if len(values) != len(order.key):
        raise TypeError
    key: list[KeyValue] = []
    for value, part in zip(values, order.key, strict=True):
        if part.type is datetime:
            instant = datetime.fromisoformat(value)
            if instant.tzinfo is None:
                raise TypeError
            key.append(instant)
        elif type(value) is part.type:
            key.append(value)
        else:
            raise TypeError
    return tuple(key)


# --- pages ----------------------------------------------------------------------------


@dataclass(frozen=True)
class CompositeKey:
    """One column ordered as a sort order's whole key, and the key's value in it (the
    search index's key, app.search.keys, orders as (published_at, id))."""

    column: ColumnElement[int]
    encode: Callable[[tuple[Any, ...]], int]


@dataclass
class Slice(Generic[T]):
    """A page of a list, as a query returns it."""

    items: list[T]
    total: int | None  # matching items over all pages (None: not counted)
    next_key: tuple[Any, ...] | None  # the key to continue after; None on the last page
    exact: bool = True  # whether total is exact (else an estimate)


@dataclass(frozen=True)
class Pager:
    """Where a page starts (after a key, or at an offset), in what order, how long."""

    order: SortOrder
    limit: int
    after: tuple[KeyValue, ...] | None = None
    offset: int = 0
    page: int | None = None  # the page number asked for, if any

    @property
    def shape(self) -> tuple[str, bool, bool]:
        """What select() builds depends on, beside the statement: the order, and whether
        there is a key to seek past and an offset (their values are parameters)."""
        return self.order.name, self.after is not None, self.offset > 0

    def select(
        self,
        stmt: Select[*tuple[Any, ...]],
        columns: Mapping[str, ColumnElement[Any]],
        composite: "CompositeKey | None" = None,
    ) -> Select[*tuple[Any, ...]]:
        """stmt in this order, past the position, one row longer than the page (so that
        split() knows whether another page follows), with the key's columns added.

        columns: the list's column for each of the key's column names. composite: one
        column whose order is the key's order, which the database then walks instead.
        The position and the length are bound parameters (params()), so the statement
        can be built once for every request of its shape.
        """
        key = [columns[part.column] for part in self.order.key]
        stmt = self.with_key(stmt, columns)
        walked = key if composite is None else [composite.column]
        if self.after is not None:
            bound: ColumnElement[Any]
            walked_key: ColumnElement[Any]
            if composite is None:
                bound = tuple_(
                    *(
                        bindparam(AFTER_PARAM.format(i), type_=_SQL_TYPES[part.type]())
                        for i, part in enumerate(self.order.key)
                    )
                )
                walked_key = tuple_(*key)
            else:
                bound = bindparam(AFTER_PARAM.format(0), type_=BigInteger())
                walked_key = composite.column
            stmt = stmt.where(walked_key < bound if self.order.descending else walked_key > bound)
        order_by = [c.desc() if self.order.descending else c.asc() for c in walked]
        stmt = stmt.order_by(*order_by).limit(bindparam(LIMIT_PARAM, type_=Integer()))
        return stmt.offset(bindparam(OFFSET_PARAM, type_=Integer())) if self.offset else stmt

    def with_key(
        self, stmt: Select[*tuple[Any, ...]], columns: Mapping[str, ColumnElement[Any]]
    ) -> Select[*tuple[Any, ...]]:
        """stmt with the key's columns added, as split() reads them from its rows."""
        key = [columns[part.column] for part in self.order.key]
        return stmt.add_columns(*(c.label(KEY_LABEL.format(i)) for i, c in enumerate(key)))

    def params(self, composite: "CompositeKey | None" = None) -> dict[str, Any]:
        """The values of select()'s parameters."""
        values: dict[str, Any] = {LIMIT_PARAM: self.limit + 1}
        if self.offset:
            values[OFFSET_PARAM] = self.offset
        if self.after is not None:
            if composite is None:
                values |= {AFTER_PARAM.format(i): v for i, v in enumerate(self.after)}
            else:
                values[AFTER_PARAM.format(0)] = composite.encode(self.after)
        return values

    def split(self, rows: Sequence[R]) -> tuple[Sequence[R], tuple[Any, ...] | None]:
        """(the page's rows, the key to continue after, or None on the last page)."""
        if len(rows) <= self.limit:
            return rows, None
        last = rows[self.limit - 1]
        return rows[: self.limit], tuple(
            getattr(last, KEY_LABEL.format(i)) for i in range(len(self.order.key))
        )


def read_pager(
    secret: str, order: SortOrder, limit: int, page: int | None, cursor: str | None
) -> Pager:
    """The Pager of a request's `page` or `cursor` (neither: the first page)."""
    if page is not None and cursor is not None:
        raise invalid_params(("page", "use either page or cursor, not both"))
    if page is not None and page * limit > MAX_OFFSET:
        raise invalid_params(
            (
                "page",
                f"page × limit may not exceed {MAX_OFFSET}; "
                "follow next_cursor (keyset pagination) for deeper pages",
            )
        )
    if cursor is not None:
        return Pager(order, limit, after=decode_cursor(secret, order, cursor))
    return Pager(order, limit, offset=((page or 1) - 1) * limit, page=page)


@dataclass(frozen=True)
class NextPage:
    """How a client asks for the page after this one."""

    cursor: str | None  # the body's next_cursor; None on the last page
    headers: dict[str, str]  # an RFC 8288 Link: rel="next" header, when there is one


def next_page(secret: str, pager: Pager, key: Sequence[Any] | None, url: URL) -> NextPage:
    """The cursor after key, and a Link to the next page: by number while numbered pages
    are allowed (a client paging by number stays on numbers), else by cursor."""
    if key is None:
        return NextPage(None, {})
    cursor = encode_cursor(secret, pager.order.name, key)
    if pager.page is not None and (pager.page + 1) * pager.limit <= MAX_OFFSET:
        target = url.include_query_params(page=pager.page + 1)
    else:
        target = url.remove_query_params("page").include_query_params(cursor=cursor)
    return NextPage(cursor, {"Link": f'<{target}>; rel="next"'})
