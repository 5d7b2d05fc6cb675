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

Everything listens on and targets 127.0.0.1 only; every server started is stopped.
"""

import argparse
import os
import re
import shlex
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VENV_PYTHON = ROOT / ".venv" / "bin" / "python"

try:
    import httpx
except ImportError:  # started with another interpreter: rerun under the project's venv
    if VENV_PYTHON.exists() and Path(sys.prefix).resolve() != (ROOT / ".venv").resolve():
        os.execv(VENV_PYTHON, [str(VENV_PYTHON), __file__, *sys.argv[1:]])  # noqa: S606
    raise

from bench import machine  # noqa: E402 - after the venv check above; same folder

BENCH_DATA = ROOT / "bench-data"
HOST = "127.0.0.1"
PORT = 8767
PG_ADMIN_URL = f"postgresql://postgres@{HOST}:5432/postgres"
PG_DB = "news_export_bench"
SAMPLE_SECONDS = 0.1


def log(message: str) -> None:
    print(f"[bench_export] {message}", file=sys.stderr, flush=True)


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


def rss_mb(pid: int) -> float:
    status = Path(f"/proc/{pid}/status").read_text()
    match = re.search(r"^VmRSS:\s+(\d+) kB", status, re.MULTILINE)
    return int(match.group(1)) / 1024 if match else 0.0


def prepare_corpus(count: int, seed: int) -> Path:
    target = BENCH_DATA / f"corpus-export-{count}"
    marker = target / ".complete"
    if not marker.exists():
        cmd = [str(VENV_PYTHON), "scripts/generate_corpus.py", "--count", str(count)]
        cmd += ["--out", str(target), "--seed", str(seed)]
        cmd += ["--malformed-rate", "0", "--duplicate-rate", "0"]
        log("$ " + shlex.join(cmd))
        subprocess.run(cmd, cwd=ROOT, check=True)  # noqa: S603 - fixed argv
        marker.touch()
    return target


def ingest(url: str, corpus: Path) -> None:
    cmd = [str(VENV_PYTHON), "scripts/ingest.py", "--quiet", str(corpus)]
    log(f"$ DATABASE_URL={url} " + shlex.join(cmd))
    env = {**os.environ, "DATABASE_URL": url}
    subprocess.run(cmd, cwd=ROOT, env=env, check=True)  # noqa: S603 - fixed argv


def postgres_url() -> str | None:
    try:
        import psycopg

        with psycopg.connect(PG_ADMIN_URL, autocommit=True, connect_timeout=3) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {PG_DB} WITH (FORCE)")
            conn.execute(f"CREATE DATABASE {PG_DB}")
    except Exception as exc:
        log(f"PostgreSQL skipped: {exc}")
        return None
    return f"postgresql://postgres@{HOST}:5432/{PG_DB}"


@contextmanager
def serve(url: str) -> Iterator[subprocess.Popen[bytes]]:
    cmd = [str(ROOT / ".venv" / "bin" / "uvicorn"), "app.main:app"]
    cmd += ["--host", HOST, "--port", str(PORT), "--no-access-log"]
    log("$ " + shlex.join(cmd))
    env = {**os.environ, "DATABASE_URL": url, "LOG_LEVEL": "WARNING"}
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, start_new_session=True)  # noqa: S603
    try:
        deadline = time.monotonic() + 60
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"uvicorn exited with {proc.returncode}")
            try:
                if httpx.get(f"http://{HOST}:{PORT}/api/v1/health", timeout=2).is_success:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("uvicorn did not become healthy in 60 s")
            time.sleep(0.2)
        yield proc
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def download(
    client: httpx.Client, pid: int, backend: str, fmt: str, label: str, params: dict[str, str]
) -> Download:
    samples: list[float] = []
    done = threading.Event()

    def sample() -> None:
        while not done.is_set():
            samples.append(rss_mb(pid))
            done.wait(SAMPLE_SECONDS)

    before = rss_mb(pid)
    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    size = lines = 0
    ttfb = None
    started = time.perf_counter()
    try:
        with client.stream("GET", "/api/v1/articles/export", params={**params, "format": fmt}) as r:
            r.raise_for_status()
            for piece in r.iter_raw():
                if ttfb is None:
                    ttfb = time.perf_counter() - started
                size += len(piece)
                lines += piece.count(b"\n")
    finally:
        seconds = time.perf_counter() - started
        done.set()
        sampler.join()
    samples.append(rss_mb(pid))
    # NDJSON: a line per article. CSV: bodies hold newlines, so count through the listing.
    articles = lines if fmt == "ndjson" else -1
    ttfb_ms = (ttfb or seconds) * 1000
    return Download(backend, fmt, label, articles, size, ttfb_ms, seconds, before, max(samples))


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
        import psycopg

        with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
            rows = conn.execute(
                "SELECT state, count(*) FROM pg_stat_activity WHERE datname = %s "
                "AND pid <> pg_backend_pid() GROUP BY state ORDER BY state",
                (PG_DB,),
            ).fetchall()
        states = ", ".join(f"{count} {state}" for state, count in rows) or "none"
        note += f"; the server's connections to the database: {states}"
    log(note)
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
    with serve(url) as proc, httpx.Client(base_url=f"http://{HOST}:{PORT}", timeout=600) as client:
        bound = small_bound(client, small)
        subsets = [("small", {"to": bound}), ("all", {})]
        counts = {label: total(client, params) for label, params in subsets}
        runs = [(fmt, label, params) for fmt in ("csv", "ndjson") for label, params in subsets]
        runs.append(("csv", "all", {}))  # again: does a second big export grow the process?
        for fmt, label, params in runs:
            result = download(client, proc.pid, backend, fmt, label, params)
            if result.articles == -1:
                result.articles = counts[label]
            elif result.articles != counts[label]:
                raise RuntimeError(f"{fmt} export had {result.articles}, not {counts[label]}")
            log(
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
        *machine(),
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
    log(f"wrote {path}")


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
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "export.md")
    args = parser.parse_args(argv)
    if not 10 <= args.small < args.count:
        parser.error("--small must be at least 10 and below --count")

    corpus = prepare_corpus(args.count, args.seed)
    backends: list[tuple[str, str]] = []
    sqlite_path = BENCH_DATA / "export.db"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{sqlite_path}{suffix}").unlink(missing_ok=True)
    backends.append(("SQLite", f"sqlite:///{sqlite_path}"))
    if not args.skip_postgres and (pg := postgres_url()):
        backends.append(("PostgreSQL", pg))
    results: list[Download] = []
    notes: list[str] = []
    for backend, url in backends:
        ingest(url, corpus)
        results += bench_backend(backend, url, args.small, notes)
    report(args.out, argv, args.count, results, notes)
    return 0


if __name__ == "__main__":
    sys.exit(main())
