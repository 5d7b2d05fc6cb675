#!/usr/bin/env python
"""Benchmark our API against Datasette on the same articles, in one run, and write a report.

    .venv/bin/python scripts/bench.py [--size 100000 | --corpus DIR|FILE.tar.xz]
        [--duration 15] [--connections 16] [--workers 1,2]
        [--skip-postgres] [--skip-datasette] [--skip-uncached] [--out docs/benchmarks.md]
    .venv/bin/python scripts/bench.py --memory [--size 100000] [--duration 180]
        [--budgets default,0,20000000,100000000] [--databases SQLite,PostgreSQL] [--reuse]

Steps: install wrk (apt) and Datasette + sqlite-utils (into .venv-bench/, never .venv);
generate or unpack the corpus under bench-data/; time the ingest into SQLite and
PostgreSQL; serve the API with uvicorn (no reload, no access log) and load it with wrk;
copy the same articles into a Datasette database with sqlite-utils (timing that load too);
serve it immutable and load the equivalent JSON queries; write a markdown report.

--memory runs only the memory run instead (issue 15): one worker under MEMORY_URLS
distinct searches at limit=100 with q, from --connections wrk connections for --duration
seconds, its VmRSS read every 0.5 s; a row per database and RESPONSE_CACHE_BYTES of
--budgets. It writes its section of the report in place (between MEMORY_BEGIN and
MEMORY_END, below the analysis marker, so a full run keeps it), replacing the rows it
measured again and keeping the others.

Everything listens on and targets 127.0.0.1 only; every server started is stopped. The
plumbing (servers, memory sampling, wrk, corpora, databases, the timed ingest) is
scripts/benchkit.py's; this file holds the queries, the Datasette side and the report.
"""

import argparse
import calendar
import json
import shlex
import sqlite3
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import quote, urlencode

import benchkit as kit  # before httpx: it reruns this script under the project's venv
import httpx
import workload

BENCH_VENV = kit.ROOT / ".venv-bench"
API_PORT = 8765  # preferred: the report's URLs stay the same while they are free
DATASETTE_PORT = 8766
POSTGRES = kit.PostgresDatabase("news_bench")
DEEP_PAGES = 1000
ANALYSIS_MARKER = "<!-- analysis: kept when bench.py rewrites the figures above -->"
DATASETTE_COLUMNS = (
    "&".join(f"_col={c}" for c in ("id", "title", "published_at", "source_name"))
    + "&_size=20&_nocount=1&_nofacet=1&_nosuggest=1"
)

# The queries, in report order: (key, label).
QUERIES: list[tuple[str, str]] = [
    ("newest", "newest 20"),
    ("source", "one source, newest 20"),
    ("author", "one author, newest 20"),
    ("month", "one-month date range"),
    ("search_date", "search, newest first"),
    ("search_rank", "search, relevance order"),
    ("deep", "deep cursor page"),
    ("by_id", "article by id"),
]


# --- results ---------------------------------------------------------------------------


@dataclass
class ServerRun:
    """One server configuration: a result per query key, plus what it cost."""

    name: str
    results: dict[str, kit.WrkResult] = field(default_factory=dict)
    urls: dict[str, str] = field(default_factory=dict)
    peak_rss_mb: float | None = None
    error: str | None = None
    top_source: str | None = None
    article_id: int | None = None
    # The distinct-URL workload: a result per kind (scripts/workload.py), and the server's
    # CPU milliseconds per request in each.
    distinct: dict[str, kit.WrkResult] = field(default_factory=dict)
    cpu_ms: dict[str, float] = field(default_factory=dict)


def bench_distinct(
    run: ServerRun,
    base: str,
    replays: dict[str, workload.Replay],
    side: str,
    wrk: kit.Wrk,
    pgid: int,
) -> None:
    """Replay each kind's URLs, never asked before, against a server already up."""
    for kind, label in workload.KINDS:
        replay = replays[kind]
        script = replay.ours if side == "ours" else replay.datasette
        first = script.with_suffix(".txt").read_text().split("\n", 1)[0]
        warm = httpx.get(base + first, timeout=60)
        if warm.status_code != 200:
            run.distinct[kind] = kit.WrkResult(error=f"HTTP {warm.status_code} for {first}")
            continue
        before = kit.group_cpu_seconds(pgid)
        result = wrk.run(base + "/", script)
        spent = kit.group_cpu_seconds(pgid) - before
        requests = (result.requests_per_s or 0) * wrk.duration
        if requests:
            run.cpu_ms[kind] = spent * 1000 / requests
        run.distinct[kind] = result
        kit.log(f"{run.name}: distinct, {label}: {fmt_result(result)}")


# --- tools -----------------------------------------------------------------------------


def ensure_bench_venv() -> None:
    """Datasette 0.65.x and sqlite-utils in .venv-bench/, apart from the project's .venv."""
    bin_dir = BENCH_VENV / "bin"
    if (bin_dir / "datasette").exists() and (bin_dir / "sqlite-utils").exists():
        return
    base = getattr(sys, "_base_executable", sys.executable)
    kit.check([base, "-m", "venv", str(BENCH_VENV)], timeout=300)
    pip = [str(bin_dir / "python"), "-m", "pip", "install", "--quiet"]
    kit.check([*pip, "--upgrade", "pip"], timeout=600)
    kit.check([*pip, "datasette<0.66", "sqlite-utils"], timeout=900)


# --- corpus ----------------------------------------------------------------------------


def prepare_corpus(args: argparse.Namespace) -> tuple[Path, str]:
    """The folder to ingest and a description of it."""
    if args.corpus:
        given = Path(args.corpus).resolve()
        if kit.is_archive(given):
            target = kit.unpacked_corpus(given)
            return target, f"`{given.name}` (unpacked into `{target.relative_to(kit.ROOT)}`)"
        if not given.is_dir():
            raise SystemExit(f"--corpus: no such folder or archive: {given}")
        return given, f"folder `{given.name}`"
    target = kit.generated_corpus(args.size, args.seed)
    return target, f"generated: `scripts/generate_corpus.py --count {args.size} --seed {args.seed}`"


# --- our API ---------------------------------------------------------------------------


@dataclass
class Facts:
    """What the queries are about, looked up once from our SQLite database."""

    author: str
    author_articles: int
    month: str  # YYYY-MM
    month_articles: int
    word: str


def corpus_facts(db: Path, word: str) -> Facts:
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
        author, author_n = conn.execute(
            "SELECT authors.name, count(*) FROM article_authors "
            "JOIN authors ON authors.id = article_authors.author_id "
            "GROUP BY authors.id ORDER BY 2 DESC LIMIT 1"
        ).fetchone()
        month, month_n = conn.execute(
            "SELECT substr(published_at, 1, 7), count(*) FROM articles GROUP BY 1 "
            "ORDER BY 2 DESC LIMIT 1"
        ).fetchone()
    return Facts(author, author_n, month, month_n, word)


def month_bounds(month: str) -> tuple[str, str]:
    year, mon = (int(p) for p in month.split("-"))
    last = calendar.monthrange(year, mon)[1]
    return f"{month}-01", f"{month}-{last:02d}"


def qs(params: dict[str, str | int]) -> str:
    return urlencode(params, quote_via=quote)


def our_urls(base: str, facts: Facts, run: ServerRun) -> int:
    """Set the URL of every query on our API (following the deep cursor); return that depth."""
    api = f"{base}/api/v1"
    # Asked as wrk asks (no gzip), as Wrk.measure's warm-up does: the response cache keeps
    # what its first client takes, and httpx's default (gzip) would make each of wrk's
    # hits on these URLs (page 1, the deep page) pay a decompression.
    with httpx.Client(timeout=30, headers={"Accept-Encoding": "identity"}) as client:
        sources = client.get(f"{api}/sources").raise_for_status().json()["items"]
        top_source = sources[0]["domain"]
        newest = client.get(f"{api}/articles", params={"limit": 20}).raise_for_status().json()
        article_id = newest["items"][0]["id"]
        start = time.perf_counter()
        url, depth, cursor = f"{api}/articles?limit=20", 1, newest["next_cursor"]
        while cursor and depth < DEEP_PAGES:
            url = f"{api}/articles?" + qs({"limit": 20, "cursor": cursor})
            cursor = client.get(url).raise_for_status().json()["next_cursor"]
            depth += 1
        kit.log(f"followed next_cursor to page {depth} in {time.perf_counter() - start:.1f} s")
    first, last = month_bounds(facts.month)
    urls = {
        "newest": f"{api}/articles?limit=20",
        "source": f"{api}/articles?" + qs({"limit": 20, "source": top_source}),
        "author": f"{api}/articles?" + qs({"limit": 20, "author": facts.author}),
        "month": f"{api}/articles?" + qs({"limit": 20, "from": first, "to": last}),
        "search_date": f"{api}/articles?"
        + qs({"limit": 20, "q": facts.word, "sort": "-published_at"}),
        "search_rank": f"{api}/articles?" + qs({"limit": 20, "q": facts.word, "sort": "relevance"}),
        "deep": url,
        "by_id": f"{api}/articles/{article_id}",
    }
    run.urls, run.top_source, run.article_id = urls, top_source, article_id
    return depth


def bench_ours(
    name: str,
    db_url: str,
    workers: int,
    facts: Facts,
    wrk: kit.Wrk,
    settings: dict[str, str] | None = None,
    replays: dict[str, workload.Replay] | None = None,
) -> tuple[ServerRun, int]:
    run = ServerRun(name)
    options = ["--workers", str(workers), "--no-access-log", "--log-level", "warning"]
    depth = 0
    try:
        with kit.serve_api(
            db_url, *options, env=settings, port=API_PORT, log_path=kit.log_path(name)
        ) as server:
            depth = our_urls(server.base, facts, run)
            if replays:  # first: the distinct URLs are what a fresh server mostly meets
                bench_distinct(run, server.base, replays, "ours", wrk, server.process.pid)
            for key, label in QUERIES:
                run.results[key] = wrk.measure(run.urls[key])
                kit.log(f"{name}: {label}: {fmt_result(run.results[key])}")
            run.peak_rss_mb = kit.group_peak_rss_mb(server.process.pid)
    except (RuntimeError, httpx.HTTPError) as exc:
        run.error = str(exc)[:300]
        kit.log(f"{name} failed: {run.error}")
    return run, depth


# --- Datasette -------------------------------------------------------------------------


def export_jsonl(db: Path, articles_path: Path, authors_path: Path) -> int:
    """Our articles, flattened as Datasette would hold them, one JSON object a line."""
    count = 0
    with (
        sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn,
        articles_path.open("w", encoding="utf-8") as articles_out,
        authors_path.open("w", encoding="utf-8") as authors_out,
    ):
        rows = conn.execute(
            "SELECT a.id, a.url, a.title, a.published_at, s.name, s.domain, "
            "(SELECT group_concat(name, ', ') FROM (SELECT au.name FROM article_authors aa "
            " JOIN authors au ON au.id = aa.author_id WHERE aa.article_id = a.id "
            " ORDER BY aa.position)), a.language, a.body "
            "FROM articles a JOIN sources s ON s.id = a.source_id ORDER BY a.id"
        )
        for row in rows:
            art_id, url, title, published, source, domain, authors, language, body = row
            # Stored as naive UTC text; give Datasette ISO 8601 with the offset spelled out.
            published_iso = datetime.fromisoformat(published).strftime("%Y-%m-%dT%H:%M:%S+00:00")
            record = {
                "id": art_id,
                "url": url,
                "title": title,
                "published_at": published_iso,
                "source_name": source,
                "source_domain": domain,
                "authors": authors or "",
                "language": language,
                "body": body,
            }
            articles_out.write(json.dumps(record, ensure_ascii=False) + "\n")
            count += 1
        for article_id, author in conn.execute(
            "SELECT aa.article_id, au.name FROM article_authors aa "
            "JOIN authors au ON au.id = aa.author_id ORDER BY aa.article_id, aa.position"
        ):
            line = json.dumps({"article_id": article_id, "author": author}, ensure_ascii=False)
            authors_out.write(line + "\n")
    return count


def build_datasette_db(our_db: Path, target: Path) -> tuple[kit.IngestResult, float]:
    """Load the JSONL with sqlite-utils (timed: insert + FTS), then add indexes and authors."""
    articles_jsonl = kit.BENCH_DATA / "datasette-articles.jsonl"
    authors_jsonl = kit.BENCH_DATA / "datasette-authors.jsonl"
    count = export_jsonl(our_db, articles_jsonl, authors_jsonl)
    database = kit.SqliteDatabase(target)
    database.reset()
    tool = str(BENCH_VENV / "bin" / "sqlite-utils")
    db = str(target)
    timed = [
        [tool, "insert", db, "articles", str(articles_jsonl), "--nl", "--pk", "id"],
        [tool, "enable-fts", db, "articles", "title", "body", "--fts5", "--create-triggers"],
    ]
    seconds, peak, peak_sum = 0.0, 0.0, 0.0
    for cmd in timed:
        measured = kit.run_measured(cmd)
        if measured.exit_code != 0:
            raise RuntimeError(f"{shlex.join(cmd)} exited {measured.exit_code}")
        seconds += measured.seconds
        peak = max(peak, measured.peak_rss_mb)
        peak_sum = max(peak_sum, measured.peak_rss_sum_mb)
    size = database.size_bytes()
    extra_start = time.perf_counter()
    extra = [
        [tool, "create-index", db, "articles", "published_at"],
        [tool, "create-index", db, "articles", "source_domain", "published_at"],
        [tool, "insert", db, "article_authors", str(authors_jsonl), "--nl"],
        [tool, "create-index", db, "article_authors", "author", "article_id"],
        [tool, "analyze", db],
    ]
    for cmd in extra:
        kit.check(cmd, timeout=3600)
    extra_seconds = time.perf_counter() - extra_start
    result = kit.IngestResult(
        "sqlite-utils → Datasette (JSONL, insert + FTS5)",
        count,
        seconds,
        peak,
        size,
        note="from pre-parsed JSONL exported from our database",
        peak_rss_sum_mb=peak_sum,
    )
    kit.log(f"sqlite-utils: {count} articles in {seconds:.1f} s; indexes {extra_seconds:.1f} s")
    return result, extra_seconds


def fts_matches(db: Path, word: str) -> int:
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
        phrase = '"' + word.replace('"', '""') + '"'
        row = conn.execute(
            "SELECT count(*) FROM articles_fts WHERE articles_fts MATCH ?", (phrase,)
        ).fetchone()
    return int(row[0])


def datasette_urls(base: str, facts: Facts, top_source: str, article_id: int) -> dict[str, str]:
    table = f"{base}/datasette/articles.json?_shape=array&{DATASETTE_COLUMNS}"
    newest = f"{table}&_sort_desc=published_at"
    first, last = month_bounds(facts.month)
    # Datasette's _where takes SQL text, not parameters: quote the name as a literal.
    literal = "'" + facts.author.replace("'", "''") + "'"
    author_sql = f"id in (select article_id from article_authors where author = {literal})"  # noqa: S608
    return {
        "newest": newest,
        "source": f"{newest}&" + qs({"source_domain": top_source}),
        "author": f"{newest}&" + qs({"_where": author_sql}),
        "month": f"{newest}&"
        + qs(
            {
                "published_at__gte": f"{first}T00:00:00",
                "published_at__lte": f"{last}T23:59:59+00:00",
            }
        ),
        "search_date": f"{newest}&" + qs({"_search": facts.word}),
        "search_rank": f"{table}&" + qs({"_search": facts.word}),
        "by_id": f"{base}/datasette/articles/{article_id}.json?_shape=array",
    }


def datasette_deep_url(base: str, pages: int) -> tuple[str | None, int]:
    """Follow Datasette's own keyset `_next` token as deep as our deep page went."""
    url = f"{base}/datasette/articles.json?{DATASETTE_COLUMNS}&_sort_desc=published_at"
    depth, current = 1, url
    with httpx.Client(timeout=30) as client:
        data = client.get(current).raise_for_status().json()
        while depth < pages and data.get("next"):
            current = f"{url}&" + qs({"_next": data["next"]})
            data = client.get(current).raise_for_status().json()
            depth += 1
    return current.replace("articles.json?", "articles.json?_shape=array&", 1), depth


def bench_datasette(
    db: Path,
    facts: Facts,
    top_source: str,
    article_id: int,
    deep_pages: int,
    wrk: kit.Wrk,
    replays: dict[str, workload.Replay] | None = None,
) -> tuple[ServerRun, int]:
    run = ServerRun("Datasette")
    port = kit.free_port(DATASETTE_PORT)
    base = f"http://{kit.HOST}:{port}"
    cmd = [str(BENCH_VENV / "bin" / "datasette"), "serve", "-i", str(db), "-h", kit.HOST]
    cmd += ["-p", str(port), "--setting", "default_page_size", "20"]
    cmd += ["--setting", "sql_time_limit_ms", "5000", "--setting", "num_sql_threads", "3"]
    depth = 0
    try:
        health = f"{base}/-/versions.json"
        with kit.serve(cmd, health, log_path=kit.log_path("datasette")) as proc:
            if replays:
                bench_distinct(run, base, replays, "datasette", wrk, proc.pid)
            run.urls = datasette_urls(base, facts, top_source, article_id)
            deep, depth = datasette_deep_url(base, deep_pages)
            if deep:
                run.urls["deep"] = deep
            for key, label in QUERIES:
                if key not in run.urls:
                    run.results[key] = kit.WrkResult(error="n/a")
                    continue
                run.results[key] = wrk.measure(run.urls[key])
                kit.log(f"Datasette: {label}: {fmt_result(run.results[key])}")
            run.peak_rss_mb = kit.group_peak_rss_mb(proc.pid)
    except (RuntimeError, httpx.HTTPError) as exc:
        run.error = str(exc)[:300]
        kit.log(f"Datasette failed: {run.error}")
    return run, depth


# --- report ----------------------------------------------------------------------------


def fmt_result(result: kit.WrkResult) -> str:
    if result.error:
        return f"error: {result.error}"
    return f"{fmt_rps(result)} req/s, p50 {fmt_ms(result.p50_ms)}, p99 {fmt_ms(result.p99_ms)}"


def fmt_rps(result: kit.WrkResult | None) -> str:
    if result is None:
        return "—"
    if result.error:
        return f"**{result.error}**"
    value = f"{result.requests_per_s:,.0f}" if result.requests_per_s is not None else "?"
    return value + (f" ({result.non_2xx:,} non-2xx)" if result.non_2xx else "")


def fmt_ms(value: float | None) -> str:
    if value is None:
        return "—"
    if value >= 1000:
        return f"{value / 1000:.2f} s"
    return f"{value:.1f} ms" if value >= 10 else f"{value:.2f} ms"


def query_table(runs: list[ServerRun], ours_main: ServerRun | None) -> str:
    header = ["query"]
    for run in runs:
        header += [f"{run.name} req/s"]
        if run is ours_main:
            header += ["p50"]
        header += ["p99"]
    datasette = next((r for r in runs if r.name == "Datasette"), None)
    uncached = next((r for r in runs if r.name.endswith("no response cache")), None)
    compared = [r for r in (ours_main, uncached) if r is not None] if datasette else []
    header += [f"{run.name} / Datasette" for run in compared]
    lines = ["| " + " | ".join(header) + " |", "|---|" + "---:|" * (len(header) - 1)]
    for key, label in QUERIES:
        cells = [label]
        for run in runs:
            result = run.results.get(key)
            if result is None and run.error:
                result = kit.WrkResult(error="server failed")
            cells.append(fmt_rps(result))
            ok = result is not None and not result.error
            if run is ours_main:
                cells.append(fmt_ms(result.p50_ms) if ok and result else "—")
            cells.append(fmt_ms(result.p99_ms) if ok and result else "—")
        for run in compared:
            assert datasette is not None
            cells.append(ratio(run.results.get(key), datasette.results.get(key)))
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def ratio(ours: kit.WrkResult | None, peer: kit.WrkResult | None) -> str:
    if not (ours and peer and ours.requests_per_s and peer.requests_per_s):
        return "—"
    if ours.error or peer.error:
        return "—"
    return f"{ours.requests_per_s / peer.requests_per_s:.2f}×"


def distinct_table(runs: list[ServerRun]) -> str:
    """The distinct-URL workload: each server's req/s, latency and CPU per request."""
    measured = [r for r in runs if r.distinct]
    if not measured:
        return ""
    ours = next((r for r in measured if r.name.startswith("ours SQLite")), None)
    postgres = next((r for r in measured if r.name.startswith("ours PostgreSQL")), None)
    datasette = next((r for r in measured if r.name == "Datasette"), None)
    header = ["query"]
    for run in measured:
        header += [f"{run.name} req/s", "p50", "p99", "CPU/req"]
    if ours and datasette:
        header.append(f"{ours.name} / Datasette")
    if ours and postgres:
        header.append("PostgreSQL p99 / SQLite p99")
    lines = ["| " + " | ".join(header) + " |", "|---|" + "---:|" * (len(header) - 1)]
    for kind, label in workload.KINDS:
        cells = [label]
        for run in measured:
            result = run.distinct.get(kind)
            if result is None or result.error:
                cells += [(result.error if result else None) or "—", "", "", ""]
                continue
            cpu = run.cpu_ms.get(kind)
            cells += [
                fmt_rps(result) + (f" ({result.non_2xx:,} non-2xx)" if result.non_2xx else ""),
                fmt_ms(result.p50_ms),
                fmt_ms(result.p99_ms),
                f"{cpu:.2f} ms" if cpu is not None else "—",
            ]
        if ours and datasette:
            cells.append(ratio(ours.distinct.get(kind), datasette.distinct.get(kind)))
        if ours and postgres:
            mine, theirs = ours.distinct.get(kind), postgres.distinct.get(kind)
            slower = "—"
            if mine and theirs and mine.p99_ms and theirs.p99_ms:
                slower = f"{theirs.p99_ms / mine.p99_ms:.2f}×"
            cells.append(slower)
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def ingest_table(results: list[kit.IngestResult]) -> str:
    lines = [
        "| backend | articles | seconds | articles/s | peak RSS | peak RSS, all processes "
        "| size on disk | per article |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        per = r.db_bytes / r.articles / 1024 if r.articles else 0
        rate = r.articles / r.seconds if r.seconds else 0
        total = f"{r.peak_rss_sum_mb:,.0f} MB" if r.peak_rss_sum_mb else "—"
        lines.append(
            f"| {r.backend} | {r.articles:,} | {r.seconds:.1f} | {rate:,.0f} | "
            f"{r.peak_rss_mb:,.0f} MB | {total} | {r.db_bytes / 2**20:,.1f} MB | {per:.1f} KB |"
        )
    return "\n".join(lines)


def distinct_section(runs: list[ServerRun], args: argparse.Namespace) -> list[str]:
    table = distinct_table(runs)
    if not table:
        return []
    return [
        "## Distinct URLs (never asked before)",
        "",
        f"For each kind, {args.distinct_urls:,} URLs built from random tuples of the archive "
        "(instants to the minute, sources, authors with 20 articles or more, words with "
        "100-4,000 matching articles; `scripts/workload.py`, seed "
        f"{args.seed}), the same tuples for our API and for Datasette, replayed by "
        f"`wrk -t1 -c{args.connections} -d{args.duration}s --latency` with a Lua script that "
        "walks the list from a random offset per connection: within a run no URL repeats, "
        "so every answer is computed (our response cache on, as shipped, misses). CPU/req "
        "is the server's own CPU time (user + system, all its processes) over the run, per "
        "request answered: what a request costs, whatever else the machine is doing.",
        "",
        table,
        "",
    ]


def write_report(
    path: Path,
    argv: Sequence[str],
    corpus_desc: str,
    files: int,
    facts: Facts,
    ingests: list[kit.IngestResult],
    runs: list[ServerRun],
    ours_main: ServerRun | None,
    notes: list[str],
    versions: dict[str, str],
    args: argparse.Namespace,
) -> str:
    command = shlex.join(["python", "scripts/bench.py", *argv])
    table = query_table(runs, ours_main)
    rss_lines = [
        f"| {r.name} | {f'{r.peak_rss_mb:,.0f} MB' if r.peak_rss_mb else '—'} |" for r in runs
    ]
    first, last = month_bounds(facts.month)
    parts = [
        "# Benchmarks: our API and Datasette on the same articles",
        "",
        "Written by `scripts/bench.py`; rerun it to refresh this page.",
        "",
        f"    {command}",
        "",
        f"Run on {datetime.now(UTC):%Y-%m-%d %H:%M} UTC.",
        "",
        "## Machine",
        "",
        *kit.machine(),
        *[f"- {name}: {version}" for name, version in versions.items()],
        "",
        "Servers and the load generator share the machine, so each figure includes wrk's "
        "own CPU use; compare columns with each other rather than with other machines.",
        "",
        "## Corpus",
        "",
        f"- {corpus_desc}: {files:,} files",
        f"- the queries use: author «{facts.author}» ({facts.author_articles:,} articles), "
        f"month {first} … {last} ({facts.month_articles:,} articles), search word «{facts.word}»",
        "",
        "## Ingest",
        "",
        ingest_table(ingests),
        "",
        "Our rows time `scripts/ingest.py --quiet` end to end (parse, lemmatise for search, "
        "write, migrate an empty database first); articles/s counts inserted articles. "
        "Peak RSS is the largest process's high-water resident set (VmHWM, read every "
        "0.2 s); the next column "
        "sums the resident sets of the whole process group (the ingest's worker processes "
        "included), sampled every 0.2 s, counting pages they share once per process. "
        "The sqlite-utils row loads "
        "already parsed JSON lines exported from our database, then builds its FTS5 index; "
        "it does not parse files or lemmatise.",
        "",
        *[f"- {r.backend}: {r.note}" for r in ingests if r.note],
        "",
        *distinct_section(runs, args),
        "## Queries",
        "",
        f"`wrk -t1 -c{args.connections} -d{args.duration}s --latency --timeout 10s URL`, "
        "one query at a time, after one warm-up request that must answer 200. Req/s is "
        "wrk's Requests/sec; p50 and p99 are from its latency distribution.",
        "",
        table,
        "",
        "Peak memory of each server (VmHWM summed over its processes):",
        "",
        "| server | peak RSS |",
        "|---|---:|",
        *rss_lines,
        "",
        "What each side does per request: ours answers the full JSON page, counts `total` "
        "matching articles and, with `q`, builds highlighted snippets; Datasette is asked "
        "for four columns with `_nocount=1`, `_shape=array`. Datasette's search is FTS5 "
        "on the raw words (no Russian lemmatisation), so it finds fewer articles for the "
        "same word; its «relevance» row is `_search` without a sort, which Datasette "
        "orders by primary key (its table views have no rank order). `_nofacet=1` and "
        "`_nosuggest=1` turn off the facet suggestions it would otherwise compute for "
        "every JSON page.",
        "",
        "## URLs",
        "",
    ]
    for run in runs:
        if not run.urls:
            continue
        parts += [f"{run.name}:", ""]
        parts += [f"- {label}: `{run.urls[key]}`" for key, label in QUERIES if key in run.urls]
        parts.append("")
    if notes:
        parts += ["## Notes", "", *[f"- {note}" for note in notes], ""]
    path.parent.mkdir(parents=True, exist_ok=True)
    # The hand-written analysis below the marker survives a rerun.
    kept = path.read_text().partition(ANALYSIS_MARKER) if path.exists() else ("", "", "")
    text = "\n".join(parts)
    if kept[1]:
        text += "\n" + kept[1] + kept[2]
    path.write_text(text)
    return table


# --- memory ----------------------------------------------------------------------------

MEMORY_URLS = 10_000
MEMORY_LIMIT = 100
MEMORY_EVERY = 0.5  # seconds between VmRSS samples
MEMORY_SQLITE = kit.SqliteDatabase(kit.BENCH_DATA / "memory.db")  # the URLs come from it
MEMORY_DATABASES: dict[str, kit.Database] = {
    "SQLite": MEMORY_SQLITE,
    "PostgreSQL": kit.PostgresDatabase("news_bench_memory"),
}
MEMORY_BEGIN = "<!-- memory: written by bench.py --memory -->"
MEMORY_END = "<!-- /memory -->"
MEMORY_HEADER = [
    "database",
    "RESPONSE_CACHE_BYTES",
    "seconds",
    "baseline",
    "peak",
    "plateau",
    "peak − uncached peak",
    "requests",
    "gzip answer (mean)",
]


@dataclass
class MemoryRun:
    """One worker's resident set under the distinct searches, in MB."""

    database: str
    budget: str  # RESPONSE_CACHE_BYTES as run: "default", or bytes
    seconds: int
    baseline: float = 0.0  # started, its first searches answered
    peak: float = 0.0
    plateau: float = 0.0  # median of the last quarter of the samples
    requests: int = 0
    entry_kb: float = 0.0  # mean gzip body of a sample of the answers
    error: str | None = None

    @property
    def key(self) -> tuple[str, str]:
        return self.database, fmt_budget(self.budget)

    def cells(self, uncached: "MemoryRun | None") -> list[str]:
        over = "—"
        if uncached is not None and uncached is not self and not self.error:
            over = f"{self.peak - uncached.peak:+.0f} MB"
        peak = f"**{self.error}**" if self.error else f"{self.peak:.0f} MB"
        return [
            self.database,
            fmt_budget(self.budget),
            str(self.seconds),
            f"{self.baseline:.0f} MB",
            peak,
            f"{self.plateau:.0f} MB",
            over,
            f"{self.requests:,}",
            f"{self.entry_kb:.1f} KB",
        ]

    @classmethod
    def from_cells(cls, cells: list[str]) -> "MemoryRun":
        """A row of the report's table read back (a later run keeps the rows it did not
        measure again)."""

        def mb(text: str) -> float:
            return float(text.removesuffix(" MB").removesuffix(" KB").replace(",", ""))

        budget = cells[1]
        if budget.endswith(" MB"):
            budget = str(round(mb(budget) * 1e6))
        elif budget == "off":
            budget = "0"
        peak, error = (mb(cells[4]), None) if cells[4].endswith(" MB") else (0.0, cells[4])
        return cls(
            cells[0],
            budget,
            int(cells[2]),
            mb(cells[3]),
            peak,
            mb(cells[5]),
            int(cells[7].split()[0].replace(",", "")),
            mb(cells[8]),
            error,
        )


def fmt_budget(budget: str) -> str:
    if not budget.isdigit():
        return budget
    return "off" if budget == "0" else f"{int(budget) / 1e6:g} MB"


GZIP_CLIENT = "Accept-Encoding: gzip"


def memory_run(
    database: str, url: str, budget: str, script: Path, urls: list[str], wrk: kit.Wrk
) -> MemoryRun:
    run = MemoryRun(database, budget, wrk.duration)
    env = {} if budget == "default" else {"RESPONSE_CACHE_BYTES": budget}
    name = f"memory {database} {budget}"
    try:
        log_path = kit.log_path(name)
        with kit.serve_api(url, "--log-level", "warning", env=env, log_path=log_path) as server:
            pid = server.process.pid  # no --workers: uvicorn serves in this process
            # What the answers weigh gzipped, as the cache keeps them: 20 of the URLs wrk
            # walks (a few are hits later in the run, a negligible share).
            sizes = []
            with httpx.Client(base_url=server.base, timeout=60) as client:
                for sample in urls[-20:]:
                    answer = client.get(sample, headers=wrk.header_map())
                    answer.raise_for_status()
                    sizes.append(int(answer.headers["content-length"]))  # as sent
            run.entry_kb = sum(sizes) / len(sizes) / 1024
            run.baseline = kit.rss_mb(pid)
            with kit.Sampler(lambda: kit.rss_mb(pid), every=MEMORY_EVERY) as rss:
                result = wrk.run(server.base + "/", script)
            values = [value for _, value in rss.samples]
            last = sorted(values[-max(1, len(values) // 4) :])
            run.peak, run.plateau = rss.peak, last[len(last) // 2]
            run.requests = round((result.requests_per_s or 0) * wrk.duration)
            if result.error or result.non_2xx:
                run.error = result.error or f"{result.non_2xx:,} non-2xx"
    except (RuntimeError, httpx.HTTPError) as exc:
        run.error = str(exc)[:300]
    kit.log(
        f"{name}: baseline {run.baseline:.0f} MB, peak {run.peak:.0f} MB, plateau "
        f"{run.plateau:.0f} MB, {run.requests:,} requests"
        + (f", error {run.error}" if run.error else "")
    )
    return run


def memory_table(runs: list[MemoryRun]) -> str:
    lines = ["| " + " | ".join(MEMORY_HEADER) + " |", "|---|---|" + "---:|" * 7]
    for run in runs:
        uncached = next((r for r in runs if r.database == run.database and r.budget == "0"), None)
        lines.append("| " + " | ".join(run.cells(uncached)) + " |")
    return "\n".join(lines)


def read_memory_section(text: str) -> tuple[list[MemoryRun], list[str]]:
    """The rows and the command lines of the report's memory section, if it has one."""
    if MEMORY_BEGIN not in text:
        return [], []
    section = text.partition(MEMORY_BEGIN)[2].partition(MEMORY_END)[0]
    runs, commands = [], []
    for line in section.splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if line.startswith("| ") and cells[0] in MEMORY_DATABASES:
            runs.append(MemoryRun.from_cells(cells))
        elif line.startswith("- `python scripts/bench.py"):
            commands.append(line)
    return runs, commands


def memory_section(runs: list[MemoryRun], commands: list[str], urls: int, files: int) -> str:
    order = list(MEMORY_DATABASES)
    runs = sorted(runs, key=lambda r: (order.index(r.database), _budget_order(r.budget)))
    return "\n".join(
        [
            MEMORY_BEGIN,
            "## Memory: one worker under distinct searches",
            "",
            "Written by `scripts/bench.py --memory`; the rows come from these runs (a run "
            "replaces the rows it measures again and keeps the others):",
            "",
            *commands,
            "",
            f"The archive: {files:,} generated article files (`scripts/generate_corpus.py "
            "--count 100000 --seed 42`, ingested by the same script). The machine:",
            "",
            *kit.machine(),
            "",
            "One uvicorn worker per row (as `make run` starts it, request log on), loaded by "
            f"`wrk -t1 -c16 -H '{GZIP_CLIENT}'` (as browsers and HTTP libraries ask) "
            f"walking {urls:,} distinct searches at `limit={MEMORY_LIMIT}` "
            "with `q` (scripts/workload.py's words with 100-4,000 matches, half newest first, "
            "half by relevance; each connection from its own offset, so few URLs repeat) "
            "for «seconds». "
            f"VmRSS of the worker read every {MEMORY_EVERY} s: baseline once it has answered "
            "its first 20 searches, peak the highest sample, plateau the median of the last "
            "quarter. «peak − uncached peak» is what the response cache costs over the same "
            "run with the cache off; the issue asks that it stay within the budget. «gzip "
            "answer» is the mean gzip body of 20 of the searches, what the cache keeps of "
            "each; the cache is full once «requests» × that passes the budget.",
            "",
            memory_table(runs),
            "",
            MEMORY_END,
        ]
    )


def _budget_order(budget: str) -> int:
    return -1 if budget == "default" else int(budget)


def write_memory_section(path: Path, section: str) -> None:
    """Replace the memory section of the report, or add it below the analysis marker."""
    text = path.read_text() if path.exists() else ""
    if MEMORY_BEGIN in text and MEMORY_END in text:
        before, _, rest = text.partition(MEMORY_BEGIN)
        text = before + section + rest.partition(MEMORY_END)[2]
    elif ANALYSIS_MARKER in text:
        before, marker, after = text.partition(ANALYSIS_MARKER)
        text = before + marker + "\n\n" + section + "\n" + after
    else:
        text += "\n" + ANALYSIS_MARKER + "\n\n" + section + "\n"
    path.write_text(text)


def main_memory(args: argparse.Namespace, argv: Sequence[str]) -> int:
    # Browsers and HTTP libraries ask for gzip, and the cache keeps what they take
    # (app.cache.responses): a client that asks for none would have it keep raw bodies.
    wrk = kit.Wrk(kit.ensure_wrk(), args.connections, args.duration, headers=(GZIP_CLIENT,))
    corpus, _ = prepare_corpus(args)
    files = kit.count_files(corpus)
    databases = {name: MEMORY_DATABASES[name] for name in args.database_list}
    for name, database in databases.items():
        if args.reuse and database.size_bytes() > 0:
            kit.log(f"{name}: reusing the database of an earlier run")
            continue
        database.reset()
        kit.ingest(name, database, corpus)
    if MEMORY_SQLITE.size_bytes() == 0:  # the URLs are drawn from the SQLite copy
        kit.ingest("SQLite", MEMORY_SQLITE, corpus)
    archive = workload.Archive.read(MEMORY_SQLITE.path)
    urls = workload.search_urls(archive, MEMORY_URLS, args.seed, MEMORY_LIMIT)
    script = workload.write_replay(urls, kit.BENCH_DATA / "memory", "searches")
    measured = [
        memory_run(name, database.url, budget, script, urls, wrk)
        for name, database in databases.items()
        for budget in args.budget_list
    ]
    out = (kit.ROOT / args.out).resolve() if not Path(args.out).is_absolute() else Path(args.out)
    kept, commands = read_memory_section(out.read_text() if out.exists() else "")
    new = {run.key for run in measured}
    runs = [run for run in kept if run.key not in new] + measured
    command = shlex.join(["python", "scripts/bench.py", *argv])
    commands.append(f"- `{command}` ({datetime.now(UTC):%Y-%m-%d %H:%M} UTC)")
    write_memory_section(out, memory_section(runs, commands, len(urls), files))
    print(memory_table(runs))
    kit.log(f"wrote the memory section of {out}")
    return 0


# --- main ------------------------------------------------------------------------------


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="bench.py", description=__doc__.split("\n\n")[0])
    source = parser.add_mutually_exclusive_group()
    source.add_argument("--size", type=int, default=100_000, help="generated articles (100000)")
    source.add_argument("--corpus", help="a folder of article files, or a .tar.xz of one")
    parser.add_argument("--seed", type=int, default=42, help="generator seed (42)")
    parser.add_argument("--word", help="search word (форум; россия with --corpus)")
    parser.add_argument("--duration", type=int, default=15, help="seconds per wrk run (15)")
    parser.add_argument("--connections", type=int, default=16, help="wrk connections (16)")
    parser.add_argument("--workers", default="1,2", help="uvicorn worker counts (1,2)")
    parser.add_argument("--skip-postgres", action="store_true")
    parser.add_argument("--skip-datasette", action="store_true")
    parser.add_argument(
        "--skip-uncached", action="store_true", help="no run with the response cache off"
    )
    parser.add_argument(
        "--distinct-urls",
        type=int,
        default=5000,
        help="URLs per kind in the distinct-URL workload (5000; 0: skip it)",
    )
    parser.add_argument("--out", default="docs/benchmarks.md", help="report path")
    parser.add_argument(
        "--memory", action="store_true", help="only the memory run (--duration per row)"
    )
    parser.add_argument(
        "--budgets",
        default="default,0,20000000,100000000",
        help="memory run: RESPONSE_CACHE_BYTES of each row (default: as shipped; 0: off)",
    )
    parser.add_argument(
        "--databases", default="SQLite,PostgreSQL", help="memory run: SQLite, PostgreSQL"
    )
    parser.add_argument(
        "--reuse",
        action="store_true",
        help="memory run: keep the databases an earlier memory run ingested",
    )
    args = parser.parse_args(argv)
    args.budget_list = [b.strip() for b in args.budgets.split(",") if b.strip()]
    if any(not (b == "default" or b.isdigit()) for b in args.budget_list):
        parser.error("--budgets: comma-separated byte counts, or default")
    args.database_list = [d.strip() for d in args.databases.split(",") if d.strip()]
    if args.skip_postgres and "PostgreSQL" in args.database_list:
        args.database_list.remove("PostgreSQL")
    if not set(args.database_list) <= set(MEMORY_DATABASES):
        parser.error(f"--databases: some of {', '.join(MEMORY_DATABASES)}")
    args.worker_counts = [int(w) for w in args.workers.split(",") if w.strip()]
    if not args.worker_counts or min(args.worker_counts) < 1:
        parser.error("--workers: comma-separated positive integers")
    if args.word is None:
        args.word = "россия" if args.corpus else "форум"
    return args


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    args = parse_args(argv)
    kit.BENCH_DATA.mkdir(exist_ok=True)
    if args.memory:
        return main_memory(args, argv)
    wrk = kit.Wrk(kit.ensure_wrk(), args.connections, args.duration)
    if not args.skip_datasette:
        ensure_bench_venv()
    versions = {"wrk": wrk.version()}
    if not args.skip_datasette:
        versions["Datasette"] = kit.tool_version(
            [str(BENCH_VENV / "bin" / "datasette"), "--version"]
        )
        versions["sqlite-utils"] = kit.tool_version(
            [str(BENCH_VENV / "bin" / "sqlite-utils"), "--version"]
        )
    corpus, corpus_desc = prepare_corpus(args)
    files = kit.count_files(corpus)
    kit.log(f"corpus: {corpus} ({files} files)")

    notes: list[str] = []
    sqlite = kit.SqliteDatabase(kit.BENCH_DATA / "bench.db")
    sqlite_db, sqlite_url = sqlite.path, sqlite.url
    sqlite.reset()
    ingests = [kit.ingest("ours, SQLite", sqlite, corpus)]
    if not args.skip_postgres:
        POSTGRES.reset()
        ingests.append(kit.ingest("ours, PostgreSQL", POSTGRES, corpus))
    facts = corpus_facts(sqlite_db, args.word)
    replays = None
    if args.distinct_urls:
        archive = workload.Archive.read(sqlite_db)
        replays = workload.write_lists(
            archive, kit.BENCH_DATA / "distinct", args.distinct_urls, args.seed
        )

    runs: list[ServerRun] = []
    ours_main: ServerRun | None = None
    deep_depth = 0
    for workers in args.worker_counts:
        label = f"ours SQLite {workers} worker{'s' if workers > 1 else ''}"
        distinct = replays if workers == 1 else None
        run, depth = bench_ours(label, sqlite_url, workers, facts, wrk, replays=distinct)
        runs.append(run)
        if ours_main is None or (workers == 1 and ours_main is not run):
            ours_main, deep_depth = run, depth
    if not args.skip_postgres:
        run, _ = bench_ours(
            "ours PostgreSQL 1 worker", POSTGRES.url, 1, facts, wrk, replays=replays
        )
        runs.append(run)
    if not args.skip_uncached:
        # Every request computed afresh: what a first visit to each URL costs.
        run, _ = bench_ours(
            "ours SQLite 1 worker, no response cache",
            sqlite_url,
            1,
            facts,
            wrk,
            {"RESPONSE_CACHE_BYTES": "0"},
        )
        runs.append(run)
    if ours_main is not None and deep_depth:
        page1, deep = ours_main.results.get("newest"), ours_main.results.get("deep")
        if page1 and deep and page1.p50_ms and deep.p50_ms:
            notes.append(
                f"Deep cursor: page {deep_depth:,} of 20 (via `next_cursor`) answered with "
                f"p50 {fmt_ms(deep.p50_ms)} against {fmt_ms(page1.p50_ms)} for page 1 "
                f"({ours_main.name})."
            )
        if deep_depth < DEEP_PAGES:
            notes.append(f"The corpus has only {deep_depth:,} pages of 20: that is the deep page.")

    if not args.skip_datasette:
        datasette_db = kit.BENCH_DATA / "datasette.db"
        load, extra_seconds = build_datasette_db(sqlite_db, datasette_db)
        ingests.append(load)
        notes.append(
            f"Datasette's copy also got indexes on published_at and (source_domain, "
            f"published_at) and an article_authors table ({extra_seconds:.1f} s, not counted)."
        )
        done = [r for r in runs if r.top_source is not None and r.article_id is not None]
        if not done:
            raise SystemExit("no run of our API got far enough to pick a source and an article")
        top_source, article_id = done[0].top_source or "", done[0].article_id or 0
        run, depth = bench_datasette(
            datasette_db, facts, top_source, article_id, deep_depth or 1, wrk, replays
        )
        notes.append(
            f"Datasette's search for «{facts.word}» matches "
            f"{fts_matches(datasette_db, facts.word):,} articles (FTS5, exact word forms)."
        )
        if depth:
            notes.append(f"Datasette's deep page is page {depth:,}, reached with its `_next`.")
        runs.append(run)

    for run in runs:
        if run.error:
            notes.append(f"{run.name} failed: {run.error}")
        for key, label in QUERIES:
            result = run.results.get(key)
            if result and result.error and result.error != "n/a":
                notes.append(f"{run.name}, {label}: {result.error}")
            elif result and result.non_2xx:
                notes.append(f"{run.name}, {label}: {result.non_2xx:,} non-2xx responses")
            elif result and result.socket_errors:
                notes.append(f"{run.name}, {label}: socket errors {result.socket_errors}")
            if result and result.rows == 0:
                notes.append(f"{run.name}, {label}: the answer was empty")
    found = ours_main.results.get("search_date") if ours_main else None
    if found and found.total is not None:
        notes.append(f"Our search for «{facts.word}» matches {found.total:,} articles.")

    out = (kit.ROOT / args.out).resolve() if not Path(args.out).is_absolute() else Path(args.out)
    table = write_report(
        out, argv, corpus_desc, files, facts, ingests, runs, ours_main, notes, versions, args
    )
    print(ingest_table(ingests))
    print()
    print(table)
    if notes:
        print("\n" + "\n".join(f"- {note}" for note in notes))
    kit.log(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
