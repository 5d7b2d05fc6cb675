"""Articles as CSV and NDJSON rows, for exports.

Both take ArticleRecord rows (app.schemas). NDJSON lines are the JSON of
/articles/{id} without `paragraphs` (the body holds them, joined by a blank line). CSV
flattens the source and the byline into columns; the csv module quotes fields with
commas, quotes or newlines (RFC 4180, CRLF line ends).
"""

import csv
import io
from collections.abc import Iterable

from app.schemas import ArticleRecord, to_json

UTF8_BOM = "\ufeff"  # lets spreadsheet programs tell UTF-8 from the local code page

CSV_COLUMNS = (
    "id",
    "url",
    "title",
    "published_at",
    "language",
    "word_count",
    "source_id",
    "source_name",
    "source_domain",
    "author_ids",
    "authors",
    "excerpt",
    "body",
    "photo_credit",
    "ingested_at",
    "updated_at",
    "category",
    "story_id",
)
# Names in a byline are split at commas (app.ingest.parser), so none holds ", ".
LIST_SEPARATOR = ", "


def csv_header(*, bom: bool) -> str:
    return (UTF8_BOM if bom else "") + csv_rows([], header=True)


def csv_rows(items: Iterable[ArticleRecord], *, header: bool = False) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    if header:
        writer.writerow(CSV_COLUMNS)
    for item in items:
        source, authors = item.source, item.authors
        writer.writerow(
            (
                item.id,
                item.url,
                item.title,
                item.published_at.isoformat(),
                item.language,
                item.word_count,
                source.id,
                source.name,
                source.domain,
                LIST_SEPARATOR.join(str(author.id) for author in authors),
                LIST_SEPARATOR.join(author.name for author in authors),
                item.excerpt,
                item.body,
                item.photo_credit or "",
                item.ingested_at.isoformat(),
                item.updated_at.isoformat(),
                item.category,
                "" if item.story_id is None else item.story_id,
            )
        )
    return buffer.getvalue()


def ndjson_rows(items: Iterable[ArticleRecord]) -> str:
    lines = []
    for item in items:
        line = to_json(item).decode()
        # Legal in JSON, but line breaks to many readers (str.splitlines, JavaScript).
        lines.append(line.replace("\u2028", "\\u2028").replace("\u2029", "\\u2029") + "\n")
    return "".join(lines)
