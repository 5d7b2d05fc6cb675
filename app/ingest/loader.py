"""Load parsed articles into the database: idempotent, batched, streaming.

Articles are keyed by URL. Each batch is one transaction (articles, bylines and search
index together), so an interrupted run leaves whole articles only, and a re-run finishes
the load. Memory holds one batch plus the
id caches of sources and authors, never the list of files.
"""

import multiprocessing
import os
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial
from itertools import islice
from pathlib import Path
from typing import Any, cast

from sqlalchemy import (
    Connection,
    Engine,
    Table,
    TableClause,
    delete,
    func,
    insert,
    select,
    text,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from app.ingest.parser import ParsedArticle, ParseError, parse_article
from app.models import ArchiveState, Article, ArticleAuthor, Author, Source, name_key
from app.search.index import IndexEntry, index_entry, index_rows, index_table, write_entries

BATCH_SIZE = 500
_ARTICLES = cast(Table, Article.__table__)
_BYLINES = cast(Table, ArticleAuthor.__table__)
_NEXT_IDS = text(
    "SELECT nextval(pg_get_serial_sequence('articles', 'id')) FROM generate_series(1, :count)"
)
PREPARE_WINDOW = 2000  # files handed to the worker pool at a time


@dataclass
class IngestReport:
    read: int = 0
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: list[tuple[str, str]] = field(default_factory=list)

    def summary(self) -> str:
        return (
            f"files read: {self.read}, inserted: {self.inserted}, updated: {self.updated}, "
            f"unchanged: {self.unchanged}, rejected: {len(self.rejected)}"
        )


def iter_article_files(paths: Iterable[str | Path]) -> Iterator[Path]:
    """Files as given, and *.txt under folders (recursively), in a stable order."""
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            for root, dirs, files in os.walk(path):
                dirs.sort()
                for name in sorted(files):
                    if name.endswith(".txt"):
                        yield Path(root) / name
        else:
            yield path


def _insert_ignore(session: Session, table: Any, rows: list[dict[str, Any]]) -> None:
    """INSERT … ON CONFLICT DO NOTHING: concurrent ingests may race to add a name."""
    if not rows:
        return
    dialect = session.get_bind().dialect.name
    module: Any = postgresql if dialect == "postgresql" else sqlite
    session.execute(module.insert(table).on_conflict_do_nothing(), rows)


def bulk_insert(connection: Connection, table: TableClause, rows: list[dict[str, Any]]) -> None:
    """Insert rows that are known to be new: COPY on PostgreSQL, executemany on SQLite."""
    if not rows:
        return
    if connection.dialect.name != "postgresql":
        connection.execute(insert(table), rows)
        return
    columns = list(rows[0])
    cursor = connection.connection.driver_connection.cursor()  # type: ignore[union-attr]
    statement = f"COPY {table.name} ({', '.join(columns)}) FROM STDIN"
    with cursor, cursor.copy(statement) as copy:
        for row in rows:
            copy.write_row([row[c] for c in columns])


class _Loader:
    def __init__(self, session: Session) -> None:
        self.session = session
        self.source_ids: dict[tuple[str, str], int] = {}
        self.author_ids: dict[str, int] = {}

    def resolve_sources(self, articles: list[ParsedArticle]) -> None:
        wanted = {(a.source_name, a.source_domain) for a in articles} - self.source_ids.keys()
        if not wanted:
            return
        rows = [{"name": n, "name_key": name_key(n), "domain": d} for n, d in sorted(wanted)]
        _insert_ignore(self.session, Source.__table__, rows)
        names = {n for n, _ in wanted}
        for id_, name, domain in self.session.execute(
            select(Source.id, Source.name, Source.domain).where(Source.name.in_(names))
        ):
            self.source_ids[(name, domain)] = id_

    def resolve_authors(self, articles: list[ParsedArticle]) -> None:
        wanted = {n for a in articles for n in a.authors} - self.author_ids.keys()
        if not wanted:
            return
        rows = [{"name": n, "name_key": name_key(n)} for n in sorted(wanted)]
        _insert_ignore(self.session, Author.__table__, rows)
        for id_, name in self.session.execute(
            select(Author.id, Author.name).where(Author.name.in_(wanted))
        ):
            self.author_ids[name] = id_

    def write_batch(self, batch: list["Prepared"], report: IngestReport) -> None:
        articles = [p.article for p in batch]
        self.resolve_sources(articles)
        self.resolve_authors(articles)
        existing = {
            url: (id_, digest)
            for id_, url, digest in self.session.execute(
                select(Article.id, Article.url, Article.content_hash).where(
                    Article.url.in_([a.url for a in articles])
                )
            )
        }
        now = datetime.now(UTC)
        new: list[Prepared] = []
        changed: list[tuple[int, Prepared]] = []
        for item in batch:
            known = existing.get(item.article.url)
            if known is None:
                new.append(item)
            elif known[1] == item.digest:
                report.unchanged += 1
            else:
                changed.append((known[0], item))

        if not (new or changed):
            return
        dialect = self.session.get_bind().dialect.name
        # First write of the transaction: on SQLite it takes the database's write lock,
        # so no other writer can take the ids that _new_ids hands out.
        self.session.execute(update(ArchiveState).values(version=ArchiveState.version + 1))
        bylines: list[dict[str, Any]] = []
        entries: list[tuple[int, IndexEntry]] = []
        if new:
            ids = self._new_ids(len(new))
            rows = [
                self._row(item, now) | {"id": id_, "ingested_at": now}
                for id_, item in zip(ids, new, strict=True)
            ]
            connection = self.session.connection()
            bulk_insert(connection, _ARTICLES, rows)
            new_entries = [(id_, item.index) for id_, item in zip(ids, new, strict=True)]
            bulk_insert(connection, index_table(dialect), index_rows(dialect, new_entries))
            for id_, item in zip(ids, new, strict=True):
                bylines += self._bylines(id_, item.article)
            report.inserted += len(new)
        if changed:
            changed_ids = [id_ for id_, _ in changed]
            self.session.execute(
                delete(ArticleAuthor).where(ArticleAuthor.article_id.in_(changed_ids))
            )
            self.session.execute(
                update(Article),
                [{"id": id_} | self._row(item, now) for id_, item in changed],
            )
            for id_, item in changed:
                bylines += self._bylines(id_, item.article)
                entries.append((id_, item.index))
            report.updated += len(changed)
        bulk_insert(self.session.connection(), _BYLINES, bylines)
        write_entries(self.session, entries)

    def _new_ids(self, count: int) -> list[int]:
        """Ids for new articles, so a batch goes in as one executemany with no RETURNING
        (which SQLite would answer a row at a time)."""
        connection = self.session.connection()
        if connection.dialect.name == "postgresql":
            return list(connection.scalars(_NEXT_IDS, {"count": count}))
        top: int = connection.execute(
            select(func.coalesce(func.max(_ARTICLES.c.id), 0))
        ).scalar_one()
        return list(range(top + 1, top + 1 + count))

    def _row(self, item: "Prepared", now: datetime) -> dict[str, Any]:
        article = item.article
        return {
            "url": article.url,
            "title": article.title,
            "published_at": article.published_at,
            "published_offset_minutes": article.offset_minutes,
            "source_id": self.source_ids[(article.source_name, article.source_domain)],
            "language": article.language,
            "word_count": article.word_count,
            "excerpt": article.excerpt,
            "body": article.body,
            "photo_credit": article.photo_credit,
            "content_hash": item.digest,
            "updated_at": now,
        }

    def _bylines(self, article_id: int, article: ParsedArticle) -> list[dict[str, Any]]:
        return [
            {
                "article_id": article_id,
                "position": position,
                "author_id": self.author_ids[name],
                "published_at": article.published_at,
            }
            for position, name in enumerate(article.authors)
        ]


@dataclass(frozen=True)
class Prepared:
    """A file's article, parsed, hashed and analysed for search: the CPU-bound part."""

    article: ParsedArticle
    digest: str
    index: IndexEntry


def prepare(dialect: str, path: Path) -> Prepared | str:
    """Read and prepare one file, or say why it is rejected. Runs in worker processes."""
    try:
        article = parse_article(path.read_bytes())
    except ParseError as exc:
        return str(exc)
    except OSError as exc:
        return exc.strerror or str(exc)
    index = index_entry(dialect, article.title, article.body)
    return Prepared(article, article.content_hash(), index)


def _prepared(
    paths: Iterator[Path], dialect: str, workers: int
) -> Iterator[tuple[Path, Prepared | str]]:
    """(path, prepared or reason) in the order of paths, spread over worker processes.

    Paths go to the pool a window at a time, so neither the paths nor the results of a
    run pile up in memory however many files there are.
    """
    work = partial(prepare, dialect)
    if workers <= 1:
        for path in paths:
            yield path, work(path)
        return
    with multiprocessing.get_context("fork").Pool(workers) as pool:
        while window := list(islice(paths, PREPARE_WINDOW)):
            yield from zip(window, pool.imap(work, window, chunksize=32), strict=True)


def default_workers() -> int:
    return max(1, min(os.cpu_count() or 1, 8))


def ingest_paths(
    engine: Engine,
    paths: Iterable[str | Path],
    *,
    batch_size: int = BATCH_SIZE,
    workers: int = 1,
    on_reject: Callable[[str, str], None] | None = None,
    on_file: Callable[[], object] | None = None,
) -> IngestReport:
    """Load every article file under paths; return what happened to each kind of file.

    workers > 1 parses and analyses files in that many processes while this one writes.
    """
    report = IngestReport()
    with Session(engine) as session:
        loader = _Loader(session)
        batch: list[Prepared] = []
        urls: set[str] = set()

        def flush() -> None:
            if batch:
                with session.begin():
                    loader.write_batch(batch, report)
                batch.clear()
                urls.clear()

        dialect = engine.dialect.name
        for path, result in _prepared(iter_article_files(paths), dialect, workers):
            report.read += 1
            if on_file:
                on_file()
            if isinstance(result, str):
                report.rejected.append((str(path), result))
                if on_reject:
                    on_reject(str(path), result)
                continue
            if result.article.url in urls:
                # The same URL twice in one batch: write the first, so the second updates it
                # exactly as it would in a later run.
                flush()
            batch.append(result)
            urls.add(result.article.url)
            if len(batch) >= batch_size:
                flush()
        flush()
    if report.inserted or report.updated:
        refresh_statistics(engine)
    return report


def refresh_statistics(engine: Engine) -> None:
    """Let the query planner see the data just loaded.

    A freshly filled PostgreSQL table has no statistics until autovacuum gets to it, and
    the planner then picks scans that cost seconds; SQLite's planner likewise uses
    sqlite_stat1, which ANALYZE writes.
    """
    with engine.begin() as connection:
        connection.exec_driver_sql("ANALYZE")
        if connection.dialect.name == "sqlite":
            connection.exec_driver_sql("PRAGMA optimize")
