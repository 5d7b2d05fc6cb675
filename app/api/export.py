"""GET /api/v1/articles/export: every matching article as CSV or NDJSON, streamed.

Parameters are checked and the first chunk read before the response starts, so a bad
parameter or an unreachable database is still a problem response. The rest is read a
keyset chunk at a time, each in a session of its own (on the database app.replicas routes
it to) that is closed before the chunk is sent: memory stays at one chunk whatever the
size of the export, and no connection is held while the client reads (a client that goes
away leaves nothing open). Exports do not go through the response cache.
"""

import logging
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime
from functools import partial
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query
from fastapi.responses import StreamingResponse

from app.api.deps import ReadsDep
from app.api.params import ArticleSort, article_filters, resolve_sort
from app.errors import invalid_params, problem_responses
from app.formats.rows import csv_header, csv_rows, ndjson_rows
from app.pagination import Pager, Slice, SortOrder
from app.queries.articles import article_records
from app.queries.listing import ArticleFilters
from app.replicas import ReadRouter
from app.schemas import ArticleRecord

log = logging.getLogger("app")

router = APIRouter(prefix="/articles", tags=["articles"])

FIRST_CHUNK = 100  # small, so the first bytes go out at once
CHUNK = 1000  # rows per query after that
PIECE = 100  # rows per piece of body handed to the server

CSV_MEDIA_TYPE = "text/csv; charset=utf-8"
NDJSON_MEDIA_TYPE = "application/x-ndjson"

ExportFormat = Literal["csv", "ndjson"]

RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "Every matching article, streamed: CSV with a header row (RFC 4180, "
        "UTF-8) or NDJSON (one JSON object a line, as /articles/{id} without `paragraphs`). "
        "Sent as `attachment; filename=articles-YYYYMMDD.csv` (or .ndjson).",
        "content": {
            CSV_MEDIA_TYPE: {"schema": {"type": "string"}},
            NDJSON_MEDIA_TYPE: {"schema": {"type": "string"}},
        },
        "headers": {
            "Content-Disposition": {
                "description": 'attachment; filename="articles-YYYYMMDD.csv" (the UTC date).',
                "schema": {"type": "string"},
            }
        },
    },
    **problem_responses(400, 503, 504),
}


@router.get(
    "/export",
    summary="Export every matching article as CSV or NDJSON (streamed)",
    response_class=StreamingResponse,
    responses=RESPONSES,
)
def export_route(
    reads: ReadsDep,
    filters: Annotated[ArticleFilters, Depends(article_filters)],
    export_format: Annotated[
        ExportFormat,
        Query(
            alias="format",
            description="`csv` (a header row, then one row per article) or `ndjson`.",
            examples=["ndjson"],
        ),
    ] = "csv",
    sort: ArticleSort = None,
    bom: Annotated[
        bool,
        Query(
            description="Start the CSV with a UTF-8 byte order mark, so that spreadsheet "
            "programs read Cyrillic right. Only with `format=csv`.",
            examples=[True],
        ),
    ] = False,
) -> StreamingResponse:
    order = resolve_sort(sort, filters)
    if bom and export_format != "csv":
        raise invalid_params(("bom", "only for format=csv"))
    first = reads.run(partial(article_records, filters=filters, pager=Pager(order, FIRST_CHUNK)))
    encode: Callable[[Iterable[ArticleRecord]], str]
    if export_format == "csv":
        head, encode, media_type = csv_header(bom=bom), csv_rows, CSV_MEDIA_TYPE
    else:
        head, encode, media_type = "", ndjson_rows, NDJSON_MEDIA_TYPE
    filename = f"articles-{datetime.now(UTC):%Y%m%d}.{export_format}"
    return StreamingResponse(
        _stream(reads, filters, order, first, head, encode),
        media_type=media_type,
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


def _stream(
    reads: ReadRouter,
    filters: ArticleFilters,
    order: SortOrder,
    chunk: Slice[ArticleRecord],
    head: str,
    encode: Callable[[Iterable[ArticleRecord]], str],
) -> Iterator[bytes]:
    """The body: head, then the rows chunk by chunk (each next() runs in the threadpool)."""
    sent = 0
    try:
        if head:
            yield head.encode()
        while True:
            items = chunk.items
            for start in range(0, len(items), PIECE):
                yield encode(items[start : start + PIECE]).encode()
            sent += len(items)
            if chunk.next_key is None:
                return
            pager = Pager(order, CHUNK, after=chunk.next_key)
            chunk = reads.run(partial(article_records, filters=filters, pager=pager))
    except Exception:
        # The status line is sent: all that is left is to cut the body short.
        log.exception("export stopped after %d articles", sent)
        raise
