"""`python scripts/ingest.py [PATH ...]`: migrate the database named by DATABASE_URL, then load."""

import argparse
import sys
from collections.abc import Sequence
from typing import Any

from tqdm import tqdm

from app.config import get_settings
from app.db import make_engine
from app.ingest.loader import default_workers, ingest_paths, iter_article_files
from app.migrate import upgrade_to_head

PROGRESS_MIN_FILES = 200


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="ingest.py",
        description="Load article files (and *.txt under folders) into the database "
        "named by DATABASE_URL, migrating it to the current schema first.",
    )
    parser.add_argument("paths", nargs="*", default=["seeds"], help="files or folders (seeds)")
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    parser.add_argument("--batch-size", type=int, default=500, help="articles per transaction")
    parser.add_argument(
        "--workers",
        type=int,
        default=default_workers(),
        help="processes that parse and analyse files (default: one per core)",
    )
    args = parser.parse_args(argv)

    settings = get_settings()
    engine = make_engine(settings.database_url)
    try:
        upgrade_to_head(engine)
        bar: tqdm[Any] | None = None
        if not args.quiet and sys.stderr.isatty():
            total = sum(1 for _ in iter_article_files(args.paths))
            if total >= PROGRESS_MIN_FILES:
                bar = tqdm(total=total, unit="file", desc="ingest", file=sys.stderr)

        def reject(path: str, reason: str) -> None:
            (bar.write if bar else lambda m: print(m, file=sys.stderr))(f"{path}: {reason}")

        report = ingest_paths(
            engine,
            args.paths,
            batch_size=args.batch_size,
            workers=args.workers,
            on_reject=reject,
            on_file=bar.update if bar else None,
        )
        if bar:
            bar.close()
    finally:
        engine.dispose()
    print(report.summary())
    return 1 if report.rejected else 0
