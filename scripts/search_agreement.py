#!/usr/bin/env python
"""How far relevance order's first page is from ranking every match (issue 11).

    .venv/bin/python scripts/search_agreement.py --corpus /tmp/tgnews2019_ru [--postgres]
        [--out docs/search.md]

Relevance ranks a search's matches SEARCH_RANK_WINDOW at a time, newest first
(app.queries.listing.candidates): a search with more matches than the window ranks its
newest ones first. This loads the corpus (a folder of article files, or a database already
loaded: --database-url), asks the API for the first page of each of QUERIES by relevance
with the shipped window and with one wide enough to rank every match, and reports how
many of the top 20 agree (as a set, and in the same order), per query and overall.
"""

import argparse
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import benchkit as kit  # before the app: it reruns this script under the project's venv
from fastapi.testclient import TestClient

from app.config import Settings
from app.db import make_engine
from app.ingest.loader import default_workers, ingest_paths
from app.main import create_app
from app.migrate import upgrade_to_head

# What readers of a Russian news archive type: people, places, institutions, events and
# topics, single words and pairs (written for this script, not taken from any corpus).
QUERIES = [
    "путин",
    "зеленский",
    "трамп",
    "меркель",
    "лукашенко",
    "порошенко",
    "навальный",
    "украина",
    "россия",
    "беларусь",
    "казахстан",
    "грузия",
    "китай",
    "сша",
    "германия",
    "москва",
    "киев",
    "минск",
    "донбасс",
    "крым",
    "сирия",
    "турция",
    "израиль",
    "газпром",
    "нефть",
    "газ",
    "рубль",
    "доллар",
    "банк",
    "кредит",
    "инфляция",
    "бюджет",
    "выборы",
    "суд",
    "полиция",
    "пожар",
    "авария",
    "взрыв",
    "землетрясение",
    "погода",
    "футбол",
    "хоккей",
    "матч",
    "чемпионат",
    "сборная",
    "фильм",
    "концерт",
    "apple",
    "коронавирус",
    "вакцина",
    "школа",
    "пенсия",
    "налог",
    "санкции",
    "нато",
    "верховная рада",
    "госдума",
    "центробанк",
    "томос",
    "нормандский формат",
]
TOP = 20
EVERYTHING = 100_000  # a window no search of the corpus outgrows: every match ranked


@dataclass
class Agreement:
    query: str
    matches: int
    shared: int  # of the top TOP, in both lists
    same_order: bool


def compare(database_url: str, window: int) -> list[Agreement]:
    def client(rank_window: int) -> TestClient:
        settings = Settings(
            database_url=database_url,
            search_rank_window=rank_window,
            response_cache_bytes=0,
            access_log=False,
        )
        return TestClient(create_app(settings))

    found: list[Agreement] = []
    with client(window) as windowed, client(EVERYTHING) as whole:
        for query in QUERIES:
            params = {"q": query, "limit": TOP, "sort": "relevance"}
            mine = windowed.get("/api/v1/articles", params=params).json()
            every = whole.get("/api/v1/articles", params=params).json()
            ours = [item["id"] for item in mine["items"]]
            theirs = [item["id"] for item in every["items"]]
            found.append(
                Agreement(query, every["total"], len(set(ours) & set(theirs)), ours == theirs)
            )
    return found


def report(results: dict[str, list[Agreement]], window: int, command: str) -> str:
    lines = [
        "# Relevance order: the first page against ranking every match",
        "",
        f"Written by `{command}` on {datetime.now(UTC):%Y-%m-%d %H:%M} UTC.",
        "",
        *kit.machine(),
        "",
        f"Relevance ranks a search's matches {window:,} at a time, newest first "
        "(`SEARCH_RANK_WINDOW`): a search with at most that many matches is ranked as a "
        f"whole, exactly as ranking every match would. Below, the top {TOP} of each query "
        "with that window against the top 20 with every match ranked, on the real corpus "
        f"(15,286 Russian articles, Nov 2019): how many of the {TOP} are in both, and "
        "whether the two pages are the same list in the same order.",
        "",
    ]
    for backend, rows in results.items():
        ranked = [r for r in rows if r.matches]
        within = [r for r in ranked if r.matches <= window]
        shared = sum(r.shared for r in ranked) / max(1, sum(min(TOP, r.matches) for r in ranked))
        lines += [
            f"## {backend}",
            "",
            f"- queries with matches: {len(ranked)} of {len(rows)}; {len(within)} have at most "
            f"{window:,} matches (ranked whole)",
            f"- top-{TOP} agreement: {shared:.1%} of the results shared; "
            f"{sum(r.same_order for r in ranked)} of {len(ranked)} pages identical",
            "",
            "| query | matches | shared of top 20 | same page |",
            "|---|---:|---:|---|",
            *[
                f"| {r.query} | {r.matches:,} | {r.shared} | {'yes' if r.same_order else 'no'} |"
                for r in rows
            ],
            "",
        ]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="search_agreement.py", description=__doc__)
    parser.add_argument("--corpus", help="a folder of article files to load first")
    parser.add_argument("--database-url", help="a database already loaded (instead of --corpus)")
    parser.add_argument("--postgres", action="store_true", help="also on PostgreSQL")
    parser.add_argument("--window", type=int, default=Settings().search_rank_window)
    parser.add_argument("--out", default="docs/search.md")
    args = parser.parse_args(argv)
    urls: dict[str, str] = {}
    with tempfile.TemporaryDirectory() as scratch:
        if args.database_url:
            urls["given database"] = args.database_url
        elif args.corpus:
            urls["SQLite"] = f"sqlite:///{Path(scratch) / 'agreement.db'}"
            if args.postgres:
                postgres = kit.PostgresDatabase("news_agreement")
                postgres.reset()
                urls["PostgreSQL"] = postgres.url
            for name, url in urls.items():
                engine = make_engine(url)
                upgrade_to_head(engine)
                loaded = ingest_paths(engine, [args.corpus], workers=default_workers())
                kit.log(f"{name}: {loaded.summary()}")
                engine.dispose()
        else:
            parser.error("give --corpus or --database-url")
        results = {name: compare(url, args.window) for name, url in urls.items()}
    command = "python scripts/search_agreement.py " + " ".join(argv or sys.argv[1:])
    text = report(results, args.window, command.strip())
    out = Path(args.out)
    out.write_text(text + "\n")
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
