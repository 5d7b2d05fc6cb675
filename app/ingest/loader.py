"""Load parsed articles into the database: idempotent, batched, streaming.

Articles are keyed by URL. Each batch is one transaction (articles, bylines and search
index together), so an interrupted run leaves whole articles only, and a re-run finishes
the load. Memory holds one batch plus the id caches of sources and authors, never the
list of files. How each database writes fast (COPY, ids, the write lock) is in
app.databases.

Each article's category and signature (app.stories.topics) are computed with its index
entry in the worker processes, from the same terms, and written with its row. After the
batches, every article without a story gets one (app.ingest.stories.assign_pending); a
changed article leaves its story in its batch and is assigned again.
"""

import multiprocessing
import os
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial
from itertools import islice
from pathlib import Path
from typing import Any, cast

from sqlalchemy import Engine, Table, delete, select, update
from sqlalchemy.orm import Session

from app.databases import Database, IndexedArticle, IndexEntry, database_for
from app.ingest.parser import ParsedArticle, ParseError, parse_article
from app.ingest.stories import StoryReport, assign_pending, leave_stories, refresh_stories
from app.models import (
    Article,
    ArticleAuthor,
    ArticleFile,
    ArticleSignature,
    Author,
    Source,
    name_key,
)
from app.search.analyzer import terms
from app.stories.topics import Topic, describe

BATCH_SIZE = 500
_ARTICLES = cast(Table, Article.__table__)
_BYLINES = cast(Table, ArticleAuthor.__table__)
_SOURCES = cast(Table, Source.__table__)
_AUTHORS = cast(Table, Author.__table__)
_FILES = cast(Table, ArticleFile.__table__)
_SIGNATURES = cast(Table, ArticleSignature.__table__)
PREPARE_WINDOW = 2000  # files handed to the worker pool at a time


@dataclass
class IngestReport:
    read: int = 0
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: list[tuple[str, str]] = field(default_factory=list)
    stories: StoryReport = field(default_factory=StoryReport)

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


class _Loader:
    def __init__(self, session: Session) -> None:
        self.session = session
        self.database = database_for(session)
        self.source_ids: dict[tuple[str, str], int] = {}
        self.author_ids: dict[str, int] = {}

    def resolve_sources(self, articles: list[ParsedArticle]) -> None:
        wanted = {(a.source_name, a.source_domain) for a in articles} - self.source_ids.keys()
        if not wanted:
            return
        # Read before inserting: an INSERT that adds nothing still fires PostgreSQL's
        # statement triggers, which would move the data version on an unchanged re-run.
        self._read_sources({n for n, _ in wanted})
        if missing := wanted - self.source_ids.keys():
            rows = [{"name": n, "name_key": name_key(n), "domain": d} for n, d in sorted(missing)]
            self.database.insert_ignore(self.session.connection(), _SOURCES, rows)
            self._read_sources({n for n, _ in missing})

    def _read_sources(self, names: set[str]) -> None:
        for id_, name, domain in self.session.execute(
            select(Source.id, Source.name, Source.domain).where(Source.name.in_(names))
        ):
            self.source_ids[(name, domain)] = id_

    def resolve_authors(self, articles: list[ParsedArticle]) -> None:
        wanted = {n for a in articles for n in a.authors} - self.author_ids.keys()
        if not wanted:
            return
        self._read_authors(wanted)  # first, as for sources
        if missing := wanted - self.author_ids.keys():
            rows = [{"name": n, "name_key": name_key(n)} for n in sorted(missing)]
            self.database.insert_ignore(self.session.connection(), _AUTHORS, rows)
            self._read_authors(missing)

    def _read_authors(self, names: set[str]) -> None:
        for id_, name in self.session.execute(
            select(Author.id, Author.name).where(Author.name.in_(names))
        ):
            self.author_ids[name] = id_

    def write_batch(self, batch: list["Prepared"], report: IngestReport) -> None:
        connection = self.session.connection()
        # Before the first read: what the batch reads (the URLs already there, the next
        # ids) must stay true until it commits, whatever other ingests run.
        self.database.begin_writing(connection)
        articles = [p.article for p in batch]
        self.resolve_sources(articles)
        self.resolve_authors(articles)
        existing = {
            url: (id_, digest, path)
            for id_, url, digest, path in self.session.execute(
                select(Article.id, Article.url, Article.content_hash, ArticleFile.path)
                .outerjoin(ArticleFile, ArticleFile.article_id == Article.id)
                .where(Article.url.in_([a.url for a in articles]))
            )
        }
        now = datetime.now(UTC)
        new: list[Prepared] = []
        changed: list[tuple[int, Prepared]] = []
        moved: list[tuple[int, Prepared]] = []  # its file is not the one recorded
        for item in batch:
            known = existing.get(item.article.url)
            if known is None:
                new.append(item)
                continue
            if known[1] == item.digest:
                report.unchanged += 1
            else:
                changed.append((known[0], item))
            if known[2] != item.path:
                moved.append((known[0], item))
        self._record_files(moved)

        if not (new or changed):
            return
        bylines: list[dict[str, Any]] = []
        new_entries: list[IndexedArticle] = []
        changed_entries: list[IndexedArticle] = []
        if new:
            # Ids known up front: a batch goes in as one bulk insert with no RETURNING
            # (which SQLite would answer a row at a time).
            ids = self.database.new_ids(connection, _ARTICLES, len(new))
            rows = [
                self._row(item, now) | {"id": id_, "ingested_at": now}
                for id_, item in zip(ids, new, strict=True)
            ]
            self.database.bulk_insert(connection, _ARTICLES, rows)
            self._record_files(list(zip(ids, new, strict=True)))
            self._signatures(list(zip(ids, new, strict=True)))
            for id_, item in zip(ids, new, strict=True):
                bylines += self._bylines(id_, item.article)
                new_entries.append(IndexedArticle(id_, item.article.published_at, item.index))
            report.inserted += len(new)
        if changed:
            changed_ids = [id_ for id_, _ in changed]
            self.session.execute(
                delete(ArticleAuthor).where(ArticleAuthor.article_id.in_(changed_ids))
            )
            # Out of their stories (the next assignment places them again), then updated.
            left = leave_stories(connection, changed_ids)
            self.session.execute(
                update(Article),
                [{"id": id_} | self._row(item, now) for id_, item in changed],
            )
            connection.execute(
                delete(ArticleSignature).where(ArticleSignature.article_id.in_(changed_ids))
            )
            self._signatures(changed)
            refresh_stories(connection, left)
            for id_, item in changed:
                bylines += self._bylines(id_, item.article)
                changed_entries.append(IndexedArticle(id_, item.article.published_at, item.index))
            report.updated += len(changed)
        self.database.bulk_insert(connection, _BYLINES, bylines)
        self.database.write_index(connection, new=new_entries, changed=changed_entries)

    def _record_files(self, files: list[tuple[int, "Prepared"]]) -> None:
        """Record the file each article came from (for --prune), replacing any record: a
        new article's id may have one left by an article deleted with foreign keys off
        (SQLite's default outside this app)."""
        if not files:
            return
        connection = self.session.connection()
        ids = [id_ for id_, _ in files]
        connection.execute(delete(ArticleFile).where(ArticleFile.article_id.in_(ids)))
        rows = [{"article_id": id_, "path": item.path} for id_, item in files]
        self.database.bulk_insert(connection, _FILES, rows)

    def _signatures(self, articles: list[tuple[int, "Prepared"]]) -> None:
        rows = [{"article_id": id_, "signature": item.topic.signature} for id_, item in articles]
        self.database.bulk_insert(self.session.connection(), _SIGNATURES, rows)

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
            "category": item.topic.category,
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
    """A file's article, parsed, hashed, analysed for search and described (category and
    signature): the CPU-bound part."""

    article: ParsedArticle
    digest: str
    index: IndexEntry
    path: str  # absolute, symlinks resolved: what --prune compares
    topic: Topic


def prepare(database: Database, path: Path) -> Prepared | str:
    """Read and prepare one file, or say why it is rejected. Runs in worker processes."""
    try:
        article = parse_article(path.read_bytes())
    except ParseError as exc:
        return str(exc)
    except OSError as exc:
        return exc.strerror or str(exc)
    # Analysed once: the index entry and the description take the same terms.
    title_terms, body_terms = terms(article.title), terms(article.body)
    index = database.index_entry_of(title_terms, body_terms)
    topic = describe(article.url, title_terms, body_terms)
    return Prepared(article, article.content_hash(), index, str(path.resolve()), topic)


def _prepared(
    paths: Iterator[Path], database: Database, workers: int
) -> Iterator[tuple[Path, Prepared | str]]:
    """(path, prepared or reason) in the order of paths, spread over worker processes.

    Paths go to the pool a window at a time, so neither the paths nor the results of a
    run pile up in memory however many files there are; two windows are in flight, so
    the workers never wait for this process to write the end of one before the next.
    """
    work = partial(prepare, database)
    if workers <= 1:
        for path in paths:
            yield path, work(path)
        return
    with multiprocessing.get_context("fork").Pool(workers) as pool:
        flight: deque[tuple[list[Path], Iterator[Prepared | str]]] = deque()

        def submit() -> None:
            if window := list(islice(paths, PREPARE_WINDOW)):
                flight.append((window, pool.imap(work, window, chunksize=32)))

        submit()
        while flight:
            window, results = flight.popleft()
            submit()  # the workers go on with the next window while this one is written
            yield from zip(window, results, strict=True)


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

        database = database_for(engine)
        for path, result in _prepared(iter_article_files(paths), database, workers):
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
        # Every pending article (this run's, a crashed run's, or older than stories)
        # gets its story, in one transaction.
        with session.begin():
            connection = session.connection()
            database.begin_writing(connection)
            report.stories = assign_pending(connection, committed=True)
    if report.inserted or report.updated:
        # The planner picks its scans from statistics, which a fresh load leaves stale.
        with engine.begin() as connection:
            database.refresh_statistics(connection)
    return report
