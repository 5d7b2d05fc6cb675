"""The distinct-URL workload: what front-ends, readers paging with cursors and syncing
clients send, mostly URLs never asked before.

For each query kind, `count` URLs built from random tuples (instants to the minute,
sources, authors, words with 100-4,000 matching articles) drawn from the archive itself,
the same tuples written for our API and for Datasette. wrk replays a list with
REPLAY_LUA, each connection walking it from its own offset, so no URL repeats within a
run of fewer requests than the list holds. Used by scripts/bench.py.
"""

import random
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlencode

# The kinds, in report order: (key, label).
KINDS: list[tuple[str, str]] = [
    ("newest", "newest before an instant"),
    ("source", "one source before an instant"),
    ("author", "one author before an instant"),
    ("window", "a window of 1-7 days"),
    ("word_date", "a word, newest first"),
    ("word_rank", "a word by relevance"),
]
MIN_WORD_ARTICLES, MAX_WORD_ARTICLES = 100, 4_000
MIN_AUTHOR_ARTICLES = 20
DATASETTE_COLUMNS = [
    ("_shape", "array"),
    *(("_col", c) for c in ("id", "title", "published_at", "source_name")),
    ("_size", "20"),
    ("_nocount", "1"),
    ("_nofacet", "1"),
    ("_nosuggest", "1"),
]

REPLAY_LUA = """\
-- Walks {path}; each connection starts at its own random offset, so the requests of a
-- run are distinct until the list wraps.
local urls = {{}}
local position = 0
init = function(args)
  for line in io.lines("{path}") do urls[#urls + 1] = line end
  math.randomseed(os.time() + math.floor(os.clock() * 1000000))
  position = math.random(#urls)
end
request = function()
  position = position % #urls + 1
  return wrk.format("GET", urls[position])
end
"""


@dataclass(frozen=True)
class Archive:
    """What the tuples are drawn from, read from our SQLite database."""

    first: datetime
    last: datetime
    sources: list[str]  # domains
    authors: list[str]
    words: list[str]  # search terms with MIN..MAX_WORD_ARTICLES matching articles

    @classmethod
    def read(cls, db: Path) -> "Archive":
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
            first, last = conn.execute(
                "SELECT min(published_at), max(published_at) FROM articles"
            ).fetchone()
            sources = [
                row[0]
                for row in conn.execute(
                    "SELECT s.domain FROM sources s JOIN articles a ON a.source_id = s.id "
                    "GROUP BY s.id ORDER BY s.domain"
                )
            ]
            authors = [
                row[0]
                for row in conn.execute(
                    "SELECT au.name FROM authors au JOIN article_authors b ON b.author_id = au.id "
                    "GROUP BY au.id HAVING count(*) >= ? ORDER BY au.name",
                    (MIN_AUTHOR_ARTICLES,),
                )
            ]
            conn.execute(
                "CREATE VIRTUAL TABLE temp.vocabulary USING fts5vocab(main, articles_fts, row)"
            )
            words = [
                row[0]
                for row in conn.execute(
                    "SELECT term FROM temp.vocabulary WHERE doc BETWEEN ? AND ? "
                    "AND term NOT GLOB '*[0-9]*' AND length(term) > 3 ORDER BY term",
                    (MIN_WORD_ARTICLES, MAX_WORD_ARTICLES),
                )
            ]
        return cls(_instant(first), _instant(last), sources, authors, words)


def _instant(stored: str) -> datetime:
    return datetime.fromisoformat(stored).replace(tzinfo=UTC)


@dataclass(frozen=True)
class Query:
    """One tuple: what a client asks, independent of whose API it is asked of."""

    kind: str
    start: datetime | None = None
    end: datetime | None = None
    source: str | None = None
    author: str | None = None
    word: str | None = None


def queries(archive: Archive, kind: str, count: int, seed: int) -> list[Query]:
    rng = random.Random(f"{seed}-{kind}")  # noqa: S311  (a reproducible sample, not a secret)
    span_minutes = int((archive.last - archive.first).total_seconds() // 60)

    def instant() -> datetime:
        return archive.first + timedelta(minutes=rng.randrange(span_minutes + 1))

    make: dict[str, Callable[[], Query]] = {
        "newest": lambda: Query(kind, end=instant()),
        "source": lambda: Query(kind, end=instant(), source=rng.choice(archive.sources)),
        "author": lambda: Query(kind, end=instant(), author=rng.choice(archive.authors)),
        "window": lambda: _window(kind, instant(), rng),
        "word_date": lambda: Query(kind, end=instant(), word=rng.choice(archive.words)),
        "word_rank": lambda: Query(kind, end=instant(), word=rng.choice(archive.words)),
    }
    return [make[kind]() for _ in range(count)]


def _window(kind: str, start: datetime, rng: random.Random) -> Query:
    return Query(kind, start=start, end=start + timedelta(days=rng.randint(1, 7)))


def _minute(value: datetime) -> str:
    return value.strftime("%Y-%m-%dT%H:%M:00Z")


def our_url(query: Query) -> str:
    params: list[tuple[str, str]] = [("limit", "20")]
    if query.start:
        params.append(("from", _minute(query.start)))
    if query.end:
        params.append(("to", _minute(query.end)))
    if query.source:
        params.append(("source", query.source))
    if query.author:
        params.append(("author", query.author))
    if query.word:
        params.append(("q", query.word))
        if query.kind == "word_date":
            params.append(("sort", "-published_at"))
    return "/api/v1/articles?" + urlencode(params)


def datasette_url(query: Query) -> str:
    """The same query of Datasette's table view (published_at is ISO text there)."""
    params = list(DATASETTE_COLUMNS)
    if query.kind != "word_rank":
        params.append(("_sort_desc", "published_at"))
    if query.start:
        params.append(("published_at__gte", query.start.strftime("%Y-%m-%dT%H:%M:00+00:00")))
    if query.end:
        params.append(("published_at__lte", query.end.strftime("%Y-%m-%dT%H:%M:00+00:00")))
    if query.source:
        params.append(("source_domain", query.source))
    if query.author:
        name = query.author.replace("'", "''")
        where = f"id in (select article_id from article_authors where author = '{name}')"  # noqa: S608
        params.append(("_where", where))
    if query.word:
        params.append(("_search", query.word))
    return "/datasette/articles.json?" + urlencode(params)


@dataclass(frozen=True)
class Replay:
    """A kind's URL lists and the wrk scripts that walk them, ours and Datasette's."""

    ours: Path
    datasette: Path


def write_lists(archive: Archive, folder: Path, count: int, seed: int) -> dict[str, Replay]:
    """Per kind, the wrk scripts replaying our URLs and Datasette's: line for line the
    same tuples."""
    folder.mkdir(parents=True, exist_ok=True)
    replays: dict[str, Replay] = {}
    for kind, _ in KINDS:
        tuples = queries(archive, kind, count, seed)
        scripts = []
        for side, url in (("ours", our_url), ("datasette", datasette_url)):
            urls = folder / f"{side}-{kind}.txt"
            urls.write_text("\n".join(map(url, tuples)) + "\n", encoding="utf-8")
            script = folder / f"{side}-{kind}.lua"
            script.write_text(REPLAY_LUA.format(path=urls.resolve()), encoding="utf-8")
            scripts.append(script)
        replays[kind] = Replay(*scripts)
    return replays
