#!/usr/bin/env python
"""Scale-out figures for docs/scaling.md: reads/s from the primary, from 1 and 2 streaming
replicas and through PgBouncer, with 1 and 2 uvicorn workers, cached and uncached; what
the per-transaction statement timeout costs; how fast a replica catches up after a bulk
ingest.

    python scripts/bench_scale.py --corpus ../shared/corpus/tgnews2019_ru.tar.xz [--duration 10]

Servers are throwaway (scripts/pgcluster.py: a primary, 2 replicas, PgBouncer in
transaction pooling mode) on 127.0.0.1; the load is wrk's (scripts/benchkit.py). Writes
bench-data/scale-bench.json and prints it; docs/scaling.md holds the analysis.
"""

import argparse
import json
import os
import sqlite3
import statistics
import subprocess
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

import benchkit
import pgcluster
from sqlalchemy import text

from app.db import make_engine

RESULT = benchkit.BENCH_DATA / "scale-bench.json"
PATHS = {
    "newest 20": "/api/v1/articles?limit=20",
    "search, relevance": "/api/v1/articles?q=" + quote("россия"),
    "article by id": "/api/v1/articles/100",
}


def ingest(url: str, corpus: Path) -> float:
    env = {**os.environ, "DATABASE_URL": url}
    started = time.perf_counter()
    subprocess.run(  # noqa: S603 - fixed argv
        [benchkit.PYTHON, "scripts/ingest.py", "--quiet", str(corpus)],
        env=env,
        cwd=benchkit.ROOT,
        capture_output=True,
        check=False,
    )
    return time.perf_counter() - started


def storage(servers: pgcluster.Postgres, corpus: Path, articles: int) -> dict[str, Any]:
    """Bytes per article of each table and index, on PostgreSQL (the cluster's primary)
    and on SQLite (a file the corpus is ingested into here)."""
    rows = servers.sql(
        "SELECT c.relname, c.relkind, pg_relation_size(c.oid) + "
        "COALESCE(pg_total_relation_size(NULLIF(c.reltoastrelid, 0)), 0) "
        "FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname = 'public' AND c.relkind IN ('r', 'i')",
        "news",
    )
    postgres = {f"{name} ({'index' if kind == 'i' else 'table'})": int(n) for name, kind, n in rows}
    sqlite_file = benchkit.BENCH_DATA / "scale-storage.db"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{sqlite_file}{suffix}").unlink(missing_ok=True)
    seconds = ingest(f"sqlite:///{sqlite_file}", corpus)
    with sqlite3.connect(sqlite_file) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        kinds = dict(conn.execute("SELECT name, type FROM sqlite_master").fetchall())
        sizes = conn.execute("SELECT name, sum(pgsize) FROM dbstat GROUP BY name").fetchall()
    sqlite = {f"{name} ({kinds.get(name, 'table')})": int(n) for name, n in sizes}
    sqlite_file.unlink()

    def per_article(sizes: dict[str, int]) -> dict[str, float]:
        top = sorted(sizes.items(), key=lambda item: -item[1])
        return {name: round(n / articles) for name, n in top if n >= 0.005 * sum(sizes.values())}

    return {
        "articles": articles,
        "postgresql_total_per_article": round(sum(postgres.values()) / articles),
        "postgresql": per_article(postgres),
        "sqlite_total_per_article": round(sum(sqlite.values()) / articles),
        "sqlite": per_article(sqlite),
        "sqlite_ingest_seconds": round(seconds, 1),
    }


def catch_up(servers: pgcluster.Cluster, corpus: Path) -> dict[str, float]:
    """Ingest the corpus on the primary while sampling how far each replica is behind."""
    lags: list[float] = []
    done = threading.Event()

    def sample() -> None:
        while not done.is_set():
            primary = servers.primary.lsn()
            lags.append(max(primary - replica.lsn() for replica in servers.replicas))
            time.sleep(0.2)

    sampler = threading.Thread(target=sample)
    sampler.start()
    seconds = ingest(servers.primary.url("news"), corpus)
    ended = time.perf_counter()
    for replica in servers.replicas:
        servers.wait_replayed(replica, timeout=600)
    behind = time.perf_counter() - ended
    done.set()
    sampler.join()
    wal = servers.primary.lsn()
    return {
        "ingest_seconds": round(seconds, 1),
        "wal_bytes_total": wal,
        "replica_behind_max_bytes": max(lags, default=0),
        "replica_behind_median_bytes": statistics.median(lags) if lags else 0,
        "seconds_to_catch_up_after_ingest": round(behind, 3),
    }


def timeout_cost(url: str, runs: int = 3000) -> dict[str, float]:
    """Microseconds per read transaction (the data version query) with no statement
    timeout, and with the per-transaction SET LOCAL this API uses."""
    figures = {}
    for name, timeout_ms in (("no timeout", 0), ("SET LOCAL statement_timeout", 5000)):
        engine = make_engine(url, 1, timeout_ms, read_only=True)
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        best = []
        for _ in range(3):
            started = time.perf_counter()
            for _ in range(runs):
                with engine.connect() as conn:
                    conn.execute(text("SELECT version FROM archive_state WHERE id = 1"))
            best.append((time.perf_counter() - started) / runs * 1e6)
        engine.dispose()
        figures[name] = round(min(best), 1)
    return figures


def load(
    wrk: benchkit.Wrk, primary: str, replicas: list[str], workers: int, cached: bool
) -> dict[str, Any]:
    env = {"DATABASE_READ_URLS": ",".join(replicas), "CURSOR_SECRET": "bench"}
    if not cached:
        env["RESPONSE_CACHE_BYTES"] = "0"
    options = ["--workers", str(workers), "--no-access-log", "--log-level", "warning"]
    results = {}
    with benchkit.serve_api(primary, *options, env=env) as server:
        for name, path in PATHS.items():
            result = wrk.measure(server.base + path)
            results[name] = {
                "rps": result.requests_per_s,
                "p50_ms": result.p50_ms,
                "p99_ms": result.p99_ms,
                "non_2xx": result.non_2xx,
                "error": result.error,
            }
            benchkit.log(f"{name}: {results[name]}")
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpus", type=Path, required=True, help="folder or .tar.xz")
    parser.add_argument("--duration", type=int, default=10, help="seconds of wrk per figure")
    args = parser.parse_args()
    corpus = (
        benchkit.unpacked_corpus(args.corpus) if benchkit.is_archive(args.corpus) else args.corpus
    )
    wrk = benchkit.Wrk(benchkit.ensure_wrk(), connections=16, duration=args.duration)
    report: dict[str, Any] = {
        "command": "python scripts/bench_scale.py "
        f"--corpus {args.corpus} --duration {args.duration}",
        "started": f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC",
        "machine": benchkit.machine(),
        "wrk": wrk.version(),
    }
    with pgcluster.cluster(replicas=2, pooler=True, pool_size=8) as servers:
        pgcluster.add_database(servers, "news")
        report["catch_up"] = catch_up(servers, corpus)
        articles = int(servers.primary.sql("SELECT count(*) FROM articles", "news")[0][0])
        report["storage"] = storage(servers.primary, corpus, articles)
        primary = servers.primary.url("news")
        report["timeout_cost_us"] = timeout_cost(primary)
        assert servers.pooler is not None
        pooled = servers.pooler.url("news")
        setups = {
            "primary only": (primary, []),
            "1 replica": (primary, [servers.replicas[0].url("news")]),
            "2 replicas": (primary, [replica.url("news") for replica in servers.replicas]),
            "PgBouncer: primary": (pooled, []),
            "PgBouncer: 2 replicas": (
                pooled,
                [servers.pooler.url(f"news_replica{i}") for i in (1, 2)],
            ),
        }
        runs: dict[str, Any] = {}
        for cached in (False, True):
            for workers in (1, 2):
                for name, (url, replicas) in setups.items():
                    label = f"{name}, {workers} worker{'s' if workers > 1 else ''}, " + (
                        "cached" if cached else "uncached"
                    )
                    benchkit.log(label)
                    runs[label] = load(wrk, url, replicas, workers, cached)
        report["runs"] = runs
    report["finished"] = f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC"
    RESULT.parent.mkdir(parents=True, exist_ok=True)
    RESULT.write_text(json.dumps(report, indent=2, ensure_ascii=False))
    print(json.dumps(report, indent=2, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
