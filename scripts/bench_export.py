#!/usr/bin/env python
"""Measure the streamed export: does the server's memory stay flat as the export grows?

    .venv/bin/python scripts/bench_export.py [--count 10000] [--small 1000]
        [--skip-postgres] [--out docs/export.md]

Generates a corpus (scripts/generate_corpus.py --count N, no malformed or repeated files)
under bench-data/, ingests it into SQLite (bench-data/export.db) and PostgreSQL (database
news_export_bench, when 127.0.0.1:5432 answers), serves each with uvicorn (one process),
and downloads /api/v1/articles/export as CSV and NDJSON with httpx streaming: first the
oldest `--small` articles (a `to=` bound), then all of them. While each download runs the
server's VmRSS is sampled every 0.1 s from /proc/<pid>/status; the report gives the time to
the first byte, the duration, the size, and the server's resident memory before and at
its peak. Writes the figures, the command, the date and the machine to --out.

Everything listens on and targets 127.0.0.1 only; every server started is stopped. The
plumbing (servers, memory sampling, corpora, databases, the ingest) is scripts/benchkit.py's.
"""

import argparse
import shlex
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import benchkit as kit  # before httpx: it reruns this script under the project's venv
import httpx

POSTGRES = kit.PostgresDatabase("news_export_bench")
PORT = 8767  # preferred, when free
SAMPLE_SECONDS = 0.1


@dataclass
class Download:
    backend: str
    fmt: str
    label: str
    articles: int
    bytes: int
    ttfb_ms: float  # request sent to the first byte of the body
    seconds: float
    rss_before_mb: float
    rss_peak_mb: float


def prepare_corpus(count: int, seed: int) -> Path:
    options = ["--malformed-rate", "0", "--duplicate-rate", "0"]
    return kit.generated_corpus(count, seed, name=f"corpus-export-{count}", options=options)


def ingest(backend: str, database: kit.Database, corpus: Path) -> None:
    result = kit.ingest(backend, database, corpus)
    if result.exit_code != 0:
        raise RuntimeError(f"ingest into {backend} exited {result.exit_code}: {result.note}")


def postgres() -> kit.PostgresDatabase | None:
    """The benchmark's PostgreSQL database, made empty; None when PostgreSQL is down."""
    try:
        POSTGRES.reset()
    except Exception as exc:
        kit.log(f"PostgreSQL skipped: {exc}")
        return None
    return POSTGRES


def download(
    client: httpx.Client, pid: int, backend: str, fmt: str, label: str, params: dict[str, str]
) -> Download:
    size = lines = 0
    ttfb = None
    with kit.Sampler(lambda: kit.rss_mb(pid), every=SAMPLE_SECONDS) as rss:
        started = time.perf_counter()
        try:
            export = {**params, "format": fmt}
            with client.stream("GET", "/api/v1/articles/export", params=export) as r:
                r.raise_for_status()
                for piece in r.iter_raw():
                    if ttfb is None:
                        ttfb = time.perf_counter() - started
                    size += len(piece)
                    lines += piece.count(b"\n")
        finally:
            seconds = time.perf_counter() - started
    # NDJSON: a line per article. CSV: bodies hold newlines, so count through the listing.
    articles = lines if fmt == "ndjson" else -1
    ttfb_ms = (ttfb or seconds) * 1000
    return Download(backend, fmt, label, articles, size, ttfb_ms, seconds, rss.first, rss.peak)


ABORTED = 20  # downloads cut short, to look for connections left behind


def abort_downloads(client: httpx.Client, url: str) -> str:
    """Start ABORTED exports, drop each after its first 64 KiB, and report what is left open.

    On PostgreSQL, pg_stat_activity must show no connection of the server idle in a
    transaction or still running a query once the exports are gone.
    """
    for _ in range(ABORTED):
        with client.stream("GET", "/api/v1/articles/export", params={"format": "csv"}) as r:
            received = 0
            for piece in r.iter_raw():
                received += len(piece)
                if received >= 64 * 1024:
                    break  # leaving the block closes the connection mid-body
    time.sleep(1.0)
    healthy = client.get("/api/v1/health").is_success
    note = f"after {ABORTED} exports dropped by the client after 64 KiB: health {healthy}"
    if url.startswith("postgresql"):
        with kit.admin_connection() as conn:
            rows = conn.execute(
                "SELECT state, count(*) FROM pg_stat_activity WHERE datname = %s "
                "AND pid <> pg_backend_pid() GROUP BY state ORDER BY state",
                (POSTGRES.name,),
            ).fetchall()
        states = ", ".join(f"{count} {state}" for state, count in rows) or "none"
        note += f"; the server's connections to the database: {states}"
    kit.log(note)
    return note


def total(client: httpx.Client, params: dict[str, str]) -> int:
    body = client.get("/api/v1/articles", params={**params, "limit": "1"}).json()
    return int(body["total"])


def small_bound(client: httpx.Client, small: int) -> str:
    """A `to=` instant that selects about the oldest `small` articles."""
    page = small // 10
    params = {"sort": "published_at", "limit": "10", "page": str(page)}
    items = client.get("/api/v1/articles", params=params).json()["items"]
    return str(items[-1]["published_at"])


def bench_backend(backend: str, url: str, small: int, notes: list[str]) -> list[Download]:
    results: list[Download] = []
    log = kit.log_path(f"export {backend}")
    with (
        kit.serve_api(
            url, "--no-access-log", env={"LOG_LEVEL": "WARNING"}, port=PORT, log_path=log
        ) as server,
        # Identity: the figures are of the export as the server streams it, and its lines
        # are counted in the raw bytes (gzip, on by default since GZIP_MIN_BYTES, would
        # make both the compressed stream's).
        httpx.Client(
            base_url=server.base, timeout=600, headers={"Accept-Encoding": "identity"}
        ) as client,
    ):
        bound = small_bound(client, small)
        subsets = [("small", {"to": bound}), ("all", {})]
        counts = {label: total(client, params) for label, params in subsets}
        runs = [(fmt, label, params) for fmt in ("csv", "ndjson") for label, params in subsets]
        runs.append(("csv", "all", {}))  # again: does a second big export grow the process?
        for fmt, label, params in runs:
            result = download(client, server.process.pid, backend, fmt, label, params)
            if result.articles == -1:
                result.articles = counts[label]
            elif result.articles != counts[label]:
                raise RuntimeError(f"{fmt} export had {result.articles}, not {counts[label]}")
            kit.log(
                f"{backend} {fmt} {result.articles} articles: {result.bytes / 2**20:.1f} MiB "
                f"in {result.seconds:.2f} s, first byte {result.ttfb_ms:.0f} ms, "
                f"RSS {result.rss_before_mb:.1f} → peak {result.rss_peak_mb:.1f} MiB"
            )
            results.append(result)
        notes.append(f"{backend}: {abort_downloads(client, url)}.")
    return results


def report(
    path: Path, argv: list[str], count: int, results: list[Download], notes: list[str]
) -> None:
    lines = [
        "# Export: memory and time to first byte",
        "",
        "Written by `scripts/bench_export.py`; do not edit by hand.",
        "",
        f"- Command: `{shlex.join(['.venv/bin/python', 'scripts/bench_export.py', *argv])}`",
        f"- Date: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC",
        f"- Corpus: `scripts/generate_corpus.py --count {count}` (no malformed or repeated "
        "files), ingested into each backend",
        "- Server: `uvicorn app.main:app` (one process, default settings: THREADS=4, "
        "statement timeout 5 s)",
        *kit.machine(),
        "",
        "The export reads a first chunk of 100 articles, then chunks of 1,000, each one query "
        "in a session of its own, and sends each chunk in pieces of 100 rows. RSS is the "
        "server process's VmRSS, sampled every 0.1 s during the download (*before*: just "
        "before the request). First byte: from sending the request to the first byte of "
        "the body.",
        "",
        "| backend | format | articles | size | first byte | time | RSS before | "
        "RSS peak | peak − before |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for r in results:
        lines.append(
            f"| {r.backend} | {r.fmt} | {r.articles:,} | {r.bytes / 2**20:.1f} MiB "
            f"| {r.ttfb_ms:.0f} ms | {r.seconds:.2f} s | {r.rss_before_mb:.1f} MiB "
            f"| {r.rss_peak_mb:.1f} MiB | {r.rss_peak_mb - r.rss_before_mb:+.1f} MiB |"
        )
    lines += ["", *conclusions(results), "", "## Clients that go away", ""]
    lines += [f"- {note}" for note in notes]
    lines.append("")
    path.write_text("\n".join(lines))
    kit.log(f"wrote {path}")


def conclusions(results: list[Download]) -> list[str]:
    out = ["## Reading", ""]
    for backend in dict.fromkeys(r.backend for r in results):
        mine = [r for r in results if r.backend == backend]
        for fmt in ("csv", "ndjson"):
            small = next(r for r in mine if r.fmt == fmt and r.label == "small")
            big = next(r for r in mine if r.fmt == fmt and r.label == "all")
            out.append(
                f"- {backend}, {fmt}: {big.articles / small.articles:.0f}× the articles "
                f"({small.articles:,} → {big.articles:,}, {small.bytes / 2**20:.1f} → "
                f"{big.bytes / 2**20:.1f} MiB) moved the server's peak RSS from "
                f"{small.rss_peak_mb:.1f} to {big.rss_peak_mb:.1f} MiB."
            )
    return out


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=10_000, help="articles (10000)")
    parser.add_argument("--small", type=int, default=1_000, help="the smaller export (1000)")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--skip-postgres", action="store_true")
    parser.add_argument("--out", type=Path, default=kit.ROOT / "docs" / "export.md")
    args = parser.parse_args(argv)
    if not 10 <= args.small < args.count:
        parser.error("--small must be at least 10 and below --count")

    corpus = prepare_corpus(args.count, args.seed)
    sqlite = kit.SqliteDatabase(kit.BENCH_DATA / "export.db")
    sqlite.reset()
    backends: list[tuple[str, kit.Database]] = [("SQLite", sqlite)]
    if not args.skip_postgres and (pg := postgres()):
        backends.append(("PostgreSQL", pg))
    results: list[Download] = []
    notes: list[str] = []
    for backend, database in backends:
        ingest(backend, database, corpus)
        results += bench_backend(backend, database.url, args.small, notes)
    report(args.out, argv, args.count, results, notes)
    return 0


if __name__ == "__main__":
    sys.exit(main())
