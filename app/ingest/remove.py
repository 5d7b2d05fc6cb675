"""Removing articles from the archive: by URL (`ingest.py --delete`), or those whose files
are gone from a folder (`ingest.py --prune`).

A removal is a plain DELETE of the article rows; the database does the rest in the same
transaction, whoever deletes: bylines and the search index go with the article (foreign
keys and migration 0002's trigger), the count table and the data version follow (0005,
0006), and the changes feed keeps a tombstone (0008). The stories the articles leave are
recounted (app.ingest.stories), or removed when empty. Sources and authors stay, with one
article fewer (an ingest running meanwhile may be about to use them).
"""

import os
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from itertools import islice
from pathlib import Path

from sqlalchemy import Engine, delete, select
from sqlalchemy.orm import Session

from app.databases import database_for
from app.ingest.parser import ParseError, parse_article
from app.ingest.stories import refresh_stories, stories_of
from app.models import Article, ArticleFile

BATCH = 500
NOT_FOUND = "no article has this URL"


@dataclass
class Removal:
    """What a removal did: the articles deleted (URL, and the file it came from if
    known), and each URL asked for that named no article."""

    deleted: list[tuple[str, str | None]] = field(default_factory=list)
    not_found: list[tuple[str, str]] = field(default_factory=list)  # (url, reason)


def _chunks(items: Iterable[str], size: int) -> Iterable[list[str]]:
    iterator = iter(items)
    while chunk := list(islice(iterator, size)):
        yield chunk


def _delete_ids(session: Session, ids: Sequence[int]) -> None:
    """Delete the articles, and bring the stories they leave up to date (one fewer
    article, or gone when empty) in the same transaction."""
    connection = session.connection()
    for start in range(0, len(ids), BATCH):
        chunk = ids[start : start + BATCH]
        # A story keeps its id when the article that started it goes: ids are not reused.
        left = stories_of(connection, chunk).values()
        session.execute(delete(Article).where(Article.id.in_(chunk)))
        refresh_stories(connection, left)


def delete_urls(engine: Engine, urls: Sequence[str]) -> Removal:
    """Delete the articles with these URLs, BATCH per transaction."""
    removal = Removal()
    wanted = list(dict.fromkeys(urls))  # each once, in the order given
    database = database_for(engine)
    with Session(engine) as session:
        for chunk in _chunks(wanted, BATCH):
            with session.begin():
                database.begin_writing(session.connection())
                found: dict[str, int] = {
                    url: id_
                    for url, id_ in session.execute(
                        select(Article.url, Article.id).where(Article.url.in_(chunk))
                    )
                }
                files = _files_of(session, list(found.values()))
                _delete_ids(session, list(found.values()))
            for url in chunk:
                if url in found:
                    removal.deleted.append((url, files.get(found[url])))
                else:
                    removal.not_found.append((url, NOT_FOUND))
    return removal


def _files_of(session: Session, ids: Sequence[int]) -> dict[int, str]:
    found: dict[int, str] = {}
    for start in range(0, len(ids), BATCH):
        rows = session.execute(
            select(ArticleFile.article_id, ArticleFile.path).where(
                ArticleFile.article_id.in_(ids[start : start + BATCH])
            )
        )
        found.update({id_: path for id_, path in rows})
    return found


def _url_in(path: str) -> str | None:
    try:
        return parse_article(Path(path).read_bytes()).url
    except (OSError, ParseError):
        return None


def prune(engine: Engine, folder: str | Path) -> Removal:
    """Delete the articles last loaded from a file under folder that is gone: no longer
    there, or now holding another article (whose load recorded the same file).

    Run after loading the folder (ingest.py --prune does both), so that a file that was
    only renamed or moved within it is recorded at its new place. A file that is there
    but no longer parses keeps its article: it is not gone, only broken (the load
    reported it).
    """
    root = str(Path(folder).resolve())
    prefix = root.rstrip(os.sep) + os.sep
    removal = Removal()
    database = database_for(engine)
    with Session(engine) as session, session.begin():
        database.begin_writing(session.connection())
        # LIKE finds candidates (case-insensitively on SQLite), startswith decides.
        pattern = prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        rows = session.execute(
            select(ArticleFile.path, Article.id, Article.url)
            .join(Article, Article.id == ArticleFile.article_id)
            .where(ArticleFile.path.like(pattern, escape="\\"))
        )
        by_path: dict[str, list[tuple[int, str]]] = defaultdict(list)
        for path, id_, url in rows:
            if path.startswith(prefix):
                by_path[path].append((id_, url))
        gone: list[tuple[int, str, str]] = []
        for path, articles in sorted(by_path.items()):
            if not os.path.isfile(path):
                gone += [(id_, url, path) for id_, url in articles]
            elif len(articles) > 1 and (held := _url_in(path)) is not None:
                gone += [(id_, url, path) for id_, url in articles if url != held]
        _delete_ids(session, [id_ for id_, _, _ in gone])
    removal.deleted = [(url, path) for _, url, path in gone]
    return removal
