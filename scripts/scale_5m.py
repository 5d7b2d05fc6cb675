#!/usr/bin/env python
"""The 5M-article run behind docs/scaling.md: listing and search latency at 5 million
articles, with `articles` as one table and partitioned by month.

    python scripts/scale_5m.py --corpus ../shared/corpus/tgnews2019_ru.tar.xz [--copies 327]

1. A throwaway PostgreSQL (scripts/pgcluster.py) in a temporary folder; the real corpus
   goes in with scripts/ingest.py (migrations first).
2. It grows in the database: `--copies` copies of every article, each with a new URL and a
   date spread over 2015–2024 (so ~42k articles a month), its authors, and its search
   entry (the real tsvector). To fit a shared disk, a copy keeps the first 300 characters
   of the body (the listing and search read the body of a page's rows only; the storage a
   whole article takes is measured on the real corpus). The growing tables are UNLOGGED:
   no WAL for the copies; the GIN index is dropped and built once at the end.
3. The API (uvicorn, response and count caches off, so every request runs its queries)
   answers each query QUERY_RUNS times: median and p90 latency.
4. `articles` is swapped for a copy partitioned by month (range on published_at, one
   partition a month, the same indexes in each) and the same requests run again.

Writes its figures as JSON to bench-data/scale-5m.json (and prints them); the analysis is
docs/scaling.md's. Only ever talks to 127.0.0.1.
"""

import argparse
import json
import os
import shutil
import statistics
import subprocess
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import benchkit
import httpx
import pgcluster

RESULT = benchkit.BENCH_DATA / "scale-5m.json"
QUERY_RUNS = 15
MIN_FREE_BYTES = 12 * 2**30  # stop growing the archive before the disk gets this full
SETTINGS = {
    "wal_level": "minimal",
    "max_wal_senders": "0",
    "shared_buffers": "2GB",
    "maintenance_work_mem": "2GB",
    "work_mem": "64MB",
    "max_wal_size": "4GB",
    "checkpoint_timeout": "30min",
    "autovacuum": "off",
    "max_parallel_maintenance_workers": "2",
    "max_parallel_workers_per_gather": "2",
    "effective_cache_size": "16GB",
}
COPY_BASE = 1_000_000  # copy g of article i gets id COPY_BASE + g * ID_STRIDE + i
ID_STRIDE = 20_000
BODY_CHARS = 300
# A date spread over 2015-01-01 … 2024-12-31 for copy g of article id.
COPY_DATE = (
    "timestamptz '2015-01-01 00:00+00' + "
    "((hashint8({id}::bigint * 1000003 + {g}) & 2147483647) % 315532800) * interval '1 second'"
)


def sql(server: pgcluster.Postgres, statement: str) -> list[tuple[Any, ...]]:
    return server.sql(statement, "news")


def size(server: pgcluster.Postgres) -> dict[str, int]:
    rows = sql(
        server,
        "SELECT c.relname, pg_total_relation_size(c.oid) FROM pg_class c "
        "JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') ORDER BY 2 DESC",
    )
    partitions = sum(n for name, n in rows if name.startswith("articles_p_"))
    named = {name: int(n) for name, n in rows if not name.startswith("articles_p_")}
    if partitions:
        named["articles (partitions)"] = partitions
    return named


def grow(server: pgcluster.Postgres, copies: int, log: list[str]) -> int:
    """Copies of the ingested articles and their authors, `step` copies a statement; the
    copies made. Their search entries come later (grow_search)."""
    sql(server, "CREATE TABLE base_articles AS SELECT * FROM articles")
    sql(server, "CREATE TABLE base_search AS SELECT * FROM article_search")
    sql(server, "CREATE TABLE base_authors AS SELECT * FROM article_authors")
    for table in ("article_search", "article_authors", "articles"):
        sql(server, f"ALTER TABLE {table} SET UNLOGGED")
    sql(server, "DROP INDEX ix_article_search_vector")
    date = COPY_DATE.format(id="a.id", g="g")
    new_id = f"{COPY_BASE} + g * {ID_STRIDE} + {{}}"
    step, made = 8, 0
    for first in range(1, copies + 1, step):
        last = min(copies, first + step - 1)
        if shutil.disk_usage(server.data).free < MIN_FREE_BYTES:
            log.append(f"stopped after {made} copies: under {MIN_FREE_BYTES >> 30} GiB free")
            break
        started = time.perf_counter()
        series = f"generate_series({first}, {last}) g"
        sql(
            server,
            "INSERT INTO articles (id, url, title, published_at, published_offset_minutes, "  # noqa: S608
            "source_id, language, word_count, excerpt, body, photo_credit, content_hash, "
            "ingested_at, updated_at) "
            f"SELECT {new_id.format('a.id')}, a.url || '#copy-' || g, a.title, {date}, "
            f"a.published_offset_minutes, a.source_id, a.language, a.word_count, a.excerpt, "
            f"left(a.body, {BODY_CHARS}), a.photo_credit, a.content_hash, now(), now() "
            f"FROM base_articles a CROSS JOIN {series}",
        )
        sql(
            server,
            "INSERT INTO article_authors (article_id, position, author_id, published_at) "  # noqa: S608
            f"SELECT {new_id.format('w.article_id')}, w.position, w.author_id, "
            f"{COPY_DATE.format(id='w.article_id', g='g')} FROM base_authors w CROSS JOIN {series}",
        )
        made = last
        benchkit.log(f"copies {first}–{last}: {time.perf_counter() - started:.1f} s")
    sql(server, "VACUUM ANALYZE")
    return made


def grow_search(server: pgcluster.Postgres, copies: int, log: list[str]) -> None:
    """The copies' search entries (the real vectors), then the GIN index, built once."""
    new_id = f"{COPY_BASE} + g * {ID_STRIDE} + s.article_id"
    step = 16
    for first in range(1, copies + 1, step):
        last = min(copies, first + step - 1)
        started = time.perf_counter()
        sql(
            server,
            "INSERT INTO article_search (article_id, vector) "  # noqa: S608
            f"SELECT {new_id}, s.vector FROM base_search s "
            f"CROSS JOIN generate_series({first}, {last}) g",
        )
        benchkit.log(f"search entries {first}–{last}: {time.perf_counter() - started:.1f} s")
    started = time.perf_counter()
    sql(server, "CREATE INDEX ix_article_search_vector ON article_search USING gin (vector)")
    log.append(f"GIN index built in {time.perf_counter() - started:.0f} s")
    sql(server, "VACUUM ANALYZE article_search")


def partition(server: pgcluster.Postgres) -> float:
    """Swap `articles` for a copy partitioned by month; the seconds it took."""
    started = time.perf_counter()
    sql(
        server,
        "CREATE TABLE articles_p (LIKE articles INCLUDING DEFAULTS) "
        "PARTITION BY RANGE (published_at)",
    )
    low, high = sql(
        server,
        "SELECT date_trunc('month', min(published_at) AT TIME ZONE 'UTC'), "
        "date_trunc('month', max(published_at) AT TIME ZONE 'UTC') FROM articles",
    )[0]
    month = low
    while month <= high:
        following = (month.replace(day=28) + timedelta(days=4)).replace(day=1)
        sql(
            server,
            f"CREATE UNLOGGED TABLE articles_p_{month:%Y_%m} PARTITION OF articles_p "
            f"FOR VALUES FROM ('{month:%Y-%m-%d}+00') TO ('{following:%Y-%m-%d}+00')",
        )
        month = following
    sql(server, "INSERT INTO articles_p SELECT * FROM articles")
    sql(server, "ALTER TABLE articles_p ADD PRIMARY KEY (id, published_at)")
    for columns in (
        "published_at, id",
        "source_id, published_at, id",
        "language, published_at, id",
    ):
        sql(server, f"CREATE INDEX ON articles_p ({columns})")
    sql(server, "CREATE UNIQUE INDEX ON articles_p (url, published_at)")
    swap(server, partitioned=True)
    sql(server, "VACUUM ANALYZE articles")
    return time.perf_counter() - started


def swap(server: pgcluster.Postgres, *, partitioned: bool) -> None:
    """Serve `articles` from the partitioned copy, or from the one table again."""
    if partitioned:
        sql(server, "ALTER TABLE articles RENAME TO articles_flat")
        sql(server, "ALTER TABLE articles_p RENAME TO articles")
    else:
        sql(server, "ALTER TABLE articles RENAME TO articles_p")
        sql(server, "ALTER TABLE articles_flat RENAME TO articles")


def queries(server: pgcluster.Postgres) -> dict[str, str]:
    """The measured requests, with parameters picked from the data."""
    source = sql(
        server,
        "SELECT s.domain FROM sources s JOIN articles a ON a.source_id = s.id "
        "GROUP BY s.domain ORDER BY count(*) DESC LIMIT 1",
    )[0][0]
    author = sql(
        server,
        "SELECT u.name FROM authors u JOIN article_authors w ON w.author_id = u.id "
        "GROUP BY u.name ORDER BY count(*) DESC LIMIT 1",
    )[0][0]
    base = "/api/v1/articles"
    deep = sql(server, "SELECT max(id) FROM articles")[0][0]
    return {
        "newest 20": f"{base}?limit=20",
        "one source, newest 20": f"{base}?source={source}",
        "one author, newest 20": f"{base}?author={author}",
        "one month": f"{base}?from=2021-07-01&to=2021-07-31",
        "one day, one source": f"{base}?from=2021-07-14&to=2021-07-14&source={source}",
        "search common word, newest": f"{base}?q=россия&sort=-published_at",
        "search common word, relevance": f"{base}?q=россия",
        "search rarer word, relevance": f"{base}?q=форум",
        "search two words, one month": f"{base}?q=путин+россия&from=2021-07-01&to=2021-07-31",
        "article by id": f"{base}/{deep}",
        "facets, one month": f"{base}/facets?from=2021-07-01&to=2021-07-31",
    }


def measure(url: str, paths: dict[str, str]) -> dict[str, dict[str, float]]:
    env = {"RESPONSE_CACHE_BYTES": "0", "COUNT_CACHE_BYTES": "0", "STATEMENT_TIMEOUT_MS": "60000"}
    figures: dict[str, dict[str, float]] = {}
    with benchkit.serve_api(url, env=env) as server, httpx.Client(timeout=120) as client:
        for name, path in paths.items():
            started = time.perf_counter()
            first = client.get(server.base + path)
            slow = time.perf_counter() - started > 2
            times = []
            for _ in range(3 if slow else QUERY_RUNS):
                started = time.perf_counter()
                response = client.get(server.base + path)
                times.append((time.perf_counter() - started) * 1000)
            times.sort()
            body = first.json() if first.status_code == 200 else {}
            figures[name] = {
                "status": first.status_code,
                "total": body.get("total", -1) if isinstance(body, dict) else -1,
                "median_ms": round(statistics.median(times), 1),
                "p90_ms": round(times[int(len(times) * 0.9) - 1], 1),
                "last_status": response.status_code,
            }
            benchkit.log(f"{name}: {figures[name]}")
    return figures


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpus", type=Path, required=True, help="folder or .tar.xz")
    parser.add_argument("--copies", type=int, default=327, help="copies of each article")
    args = parser.parse_args()
    corpus = (
        benchkit.unpacked_corpus(args.corpus) if benchkit.is_archive(args.corpus) else args.corpus
    )
    report: dict[str, Any] = {
        "command": f"python scripts/scale_5m.py --corpus {args.corpus} --copies {args.copies}",
        "started": f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC",
        "machine": benchkit.machine(),
        "disk_before": shutil.disk_usage("/work").free,
        "notes": [],
    }
    with pgcluster.cluster(replicas=0, pooler=False, settings=SETTINGS) as servers:
        primary = servers.primary
        servers.create_database("news")
        env = {**os.environ, "DATABASE_URL": primary.url("news")}
        started = time.perf_counter()
        done = subprocess.run(  # noqa: S603 - fixed argv
            [benchkit.PYTHON, "scripts/ingest.py", "--quiet", str(corpus)],
            env=env,
            cwd=benchkit.ROOT,
            capture_output=True,
            text=True,
            check=False,
        )
        report["ingest"] = {
            "seconds": round(time.perf_counter() - started, 1),
            "summary": done.stdout.strip().splitlines()[-1],
            "sizes": size(primary),
            "articles": sql(primary, "SELECT count(*) FROM articles")[0][0],
        }
        started = time.perf_counter()
        report["copies"] = grow(primary, args.copies, report["notes"])
        report["grow_seconds"] = round(time.perf_counter() - started, 1)
        report["articles"] = sql(primary, "SELECT count(*) FROM articles")[0][0]
        paths = queries(primary)
        report["paths"] = paths
        listing = {name: path for name, path in paths.items() if "search" not in name}
        searching = {name: path for name, path in paths.items() if "search" in name}
        # Phase 1: listings, one table and partitioned (the search index is not involved).
        report["flat"] = measure(primary.url("news"), listing)
        save(report)
        report["partition_seconds"] = round(partition(primary), 1)
        report["partitioned"] = measure(primary.url("news"), listing)
        report["sizes_partitioned"] = size(primary)
        save(report)
        # Phase 2: the search index of every copy, then searches both ways.
        swap(primary, partitioned=False)
        started = time.perf_counter()
        grow_search(primary, report["copies"], report["notes"])
        report["search_seconds"] = round(time.perf_counter() - started, 1)
        report["sizes_flat"] = size(primary)
        report["disk_low"] = shutil.disk_usage("/work").free
        report["flat"].update(measure(primary.url("news"), searching))
        save(report)
        swap(primary, partitioned=True)
        report["partitioned"].update(measure(primary.url("news"), searching))
    report["finished"] = f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC"
    save(report)
    print(json.dumps(report, indent=2, ensure_ascii=False, default=str))
    return 0


def save(report: dict[str, Any]) -> None:
    """The figures so far (a run cut short keeps what it measured)."""
    RESULT.parent.mkdir(parents=True, exist_ok=True)
    RESULT.write_text(json.dumps(report, indent=2, ensure_ascii=False, default=str))


if __name__ == "__main__":
    raise SystemExit(main())
