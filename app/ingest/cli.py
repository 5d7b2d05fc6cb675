"""`python scripts/ingest.py [PATH ...]`: migrate the database named by DATABASE_URL, then load.

Rejected files go to stderr as `FILE: reason`. On a terminal a progress bar (rate, ETA)
runs on stderr; at the end stdout gets a summary table and the one-line summary that
scripts grep for, or with --json a single JSON object instead.

`--delete URL…` removes articles instead (a URL that names none goes to stderr as
`URL: reason`), and `--prune FOLDER` loads FOLDER, then removes the articles whose files
are gone from it (app.ingest.remove). `--restory` describes every article again and
assigns every story anew (app.ingest.stories.restory). Exit status 1 when anything was
rejected.
"""

import argparse
import json
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from rich.console import Console
from rich.markup import escape
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskProgressColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table

from app.config import get_settings
from app.db import make_engine
from app.ingest.loader import IngestReport, default_workers, ingest_paths, iter_article_files
from app.ingest.remove import Removal, delete_urls, prune
from app.ingest.stories import restory
from app.migrate import upgrade_to_head

PROGRESS_MIN_FILES = 200


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="ingest.py",
        description="Load article files (and *.txt under folders) into the database "
        "named by DATABASE_URL, migrating it to the current schema first.",
    )
    parser.add_argument("paths", nargs="*", help="files or folders (seeds)")
    parser.add_argument(
        "--delete",
        nargs="+",
        metavar="URL",
        help="remove the articles with these URLs instead of loading anything",
    )
    parser.add_argument(
        "--prune",
        metavar="FOLDER",
        help="load FOLDER, then remove the articles whose files are gone from it",
    )
    parser.add_argument(
        "--restory",
        action="store_true",
        help="compute every article's category and story again (after app/stories changed), "
        "instead of loading anything",
    )
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    parser.add_argument(
        "--json", action="store_true", help="print the summary as one JSON object on stdout"
    )
    parser.add_argument("--batch-size", type=int, default=500, help="articles per transaction")
    parser.add_argument(
        "--workers",
        type=int,
        default=default_workers(),
        help="processes that parse and analyse files (default: one per core)",
    )
    args = parser.parse_args(argv)
    if (args.delete or args.prune) and args.paths:
        parser.error("--delete and --prune take no other paths")
    if args.delete and args.prune:
        parser.error("--delete and --prune do not go together")
    if args.prune and not Path(args.prune).is_dir():
        parser.error(f"--prune: {args.prune} is not a folder")
    if args.restory and (args.paths or args.delete or args.prune):
        parser.error("--restory takes no paths, and goes with neither --delete nor --prune")
    if args.restory:
        return _restory(as_json=args.json)
    if args.delete:
        return _delete(args.delete, as_json=args.json)
    paths = [args.prune] if args.prune else args.paths or ["seeds"]

    err = Console(stderr=True, highlight=False)
    show_progress = not args.quiet and err.is_terminal
    engine = make_engine(get_settings().database_url)
    started = time.perf_counter()
    try:
        upgrade_to_head(engine)
        with _progress(err, paths, show_progress) as (advance, reject):
            report = ingest_paths(
                engine,
                paths,
                batch_size=args.batch_size,
                workers=args.workers,
                on_reject=reject,
                on_file=advance,
            )
        removal = prune(engine, args.prune) if args.prune else None
    finally:
        engine.dispose()
    seconds = time.perf_counter() - started
    if args.json:
        summary = summary_json(report, seconds)
        if removal is not None:
            summary["deleted"] = len(removal.deleted)
            summary["removed"] = [{"url": u, "file": f} for u, f in removal.deleted]
        print(json.dumps(summary, ensure_ascii=False))
    else:
        out = Console(highlight=False)
        for url, file in removal.deleted if removal else ():
            print(f"removed {url} ({file}: gone)")
        out.print(summary_table(report, seconds))
        deleted = f", deleted: {len(removal.deleted)}" if removal is not None else ""
        print(report.summary() + deleted)
    return 1 if report.rejected else 0


def _delete(urls: list[str], *, as_json: bool) -> int:
    """--delete: remove articles by URL; a URL that names none is rejected."""
    engine = make_engine(get_settings().database_url)
    started = time.perf_counter()
    try:
        upgrade_to_head(engine)
        removal = delete_urls(engine, urls)
    finally:
        engine.dispose()
    seconds = time.perf_counter() - started
    if as_json:
        print(json.dumps(removal_json(removal, seconds), ensure_ascii=False))
    else:
        for url, reason in removal.not_found:
            print(f"{url}: {reason}", file=sys.stderr, flush=True)
        print(removal_summary(removal))
    return 1 if removal.not_found else 0


def _restory(*, as_json: bool) -> int:
    engine = make_engine(get_settings().database_url)
    started = time.perf_counter()
    try:
        upgrade_to_head(engine)
        report = restory(engine)
    finally:
        engine.dispose()
    seconds = round(time.perf_counter() - started, 3)
    counts = {"described": report.described, "assigned": report.assigned}
    if as_json:
        print(json.dumps(counts | {"stories": report.stories, "seconds": seconds}))
    else:
        print(f"articles described: {report.described}, assigned: {report.assigned}")
    return 0


def removal_summary(removal: Removal) -> str:
    asked = len(removal.deleted) + len(removal.not_found)
    return f"urls: {asked}, deleted: {len(removal.deleted)}, not found: {len(removal.not_found)}"


def removal_json(removal: Removal, seconds: float) -> dict[str, object]:
    return {
        "urls": len(removal.deleted) + len(removal.not_found),
        "deleted": len(removal.deleted),
        "not_found": len(removal.not_found),
        "rejects": [{"url": url, "reason": reason} for url, reason in removal.not_found],
        "seconds": round(seconds, 3),
    }


@contextmanager
def _progress(
    err: Console, paths: Sequence[str], show: bool
) -> Iterator[tuple[Callable[[], None] | None, Callable[[str, str], None]]]:
    """(advance one file, report a rejected file); a bar only for big runs on a terminal."""
    total = sum(1 for _ in iter_article_files(paths)) if show else 0
    if total < PROGRESS_MIN_FILES:

        def reject_plain(path: str, reason: str) -> None:
            print(f"{path}: {reason}", file=sys.stderr, flush=True)

        yield None, reject_plain
        return
    columns = (
        TextColumn("ingest"),
        BarColumn(),
        TaskProgressColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[rate]} files/s"),
        TimeElapsedColumn(),
        TextColumn("ETA"),
        TimeRemainingColumn(),
    )
    # Refreshed by advance(), not by rich's thread: the story assignment forks only a
    # process with no other thread (app.ingest.stories).
    with Progress(*columns, console=err, auto_refresh=False) as bar:
        task = bar.add_task("ingest", total=total, rate="…")
        started = time.perf_counter()

        def advance() -> None:
            bar.advance(task)
            done = bar.tasks[0].completed
            if done % 100 == 0 or done == total:
                bar.update(task, rate=f"{done / (time.perf_counter() - started):,.0f}")
                bar.refresh()

        def reject(path: str, reason: str) -> None:
            bar.console.print(f"[red]{escape(path)}[/]: {escape(reason)}", soft_wrap=True)

        yield advance, reject


def summary_table(report: IngestReport, seconds: float) -> Table:
    table = Table(title="Ingest", title_justify="left")
    table.add_column("files read", justify="right")
    table.add_column("inserted", justify="right", style="green")
    table.add_column("updated", justify="right", style="cyan")
    table.add_column("unchanged", justify="right", style="dim")
    table.add_column("rejected", justify="right", style="red" if report.rejected else "dim")
    table.add_column("seconds", justify="right")
    table.add_column("files/s", justify="right")
    table.add_row(
        f"{report.read:,}",
        f"{report.inserted:,}",
        f"{report.updated:,}",
        f"{report.unchanged:,}",
        f"{len(report.rejected):,}",
        f"{seconds:,.1f}",
        f"{report.read / seconds:,.0f}" if seconds else "—",
    )
    return table


def summary_json(report: IngestReport, seconds: float) -> dict[str, object]:
    return {
        "files_read": report.read,
        "inserted": report.inserted,
        "updated": report.updated,
        "unchanged": report.unchanged,
        "rejected": len(report.rejected),
        "rejects": [{"file": path, "reason": reason} for path, reason in report.rejected],
        # Articles given a story after the batches (new, changed, or left pending before).
        "stories_assigned": report.stories.assigned,
        "seconds": round(seconds, 3),
    }
