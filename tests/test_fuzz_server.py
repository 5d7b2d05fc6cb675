"""The long fuzz through a real uvicorn, as users serve the app: schemathesis' own CLI with
every check on (`st run --checks all`, 2 workers), over several thousand articles from
scripts/generate_corpus.py, for each seed in FUZZ_SEEDS, on SQLite and PostgreSQL.

This is what the in-process fuzz (tests/test_fuzz_api.py) cannot see: what uvicorn
answers by itself (a request its parser refuses), concurrent requests, the response cache
and gzip as served, and schemathesis' stateful phase and its checks of the request
schemas (tests/schemathesis.toml, tests/fuzz_hooks.py). Each run must end with no
schemathesis failure (uvicorn's plain-text answer to a request its parser refused was one:
a content type the document does not declare), and the server's log with no error.

Only `make fuzz` runs it (it sets FUZZ_SEEDS); `make test` skips it. Each run writes its
schemathesis output, the server's log and a summary under FUZZ_SERVER_REPORT.
"""

import json
import os
import re
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from app.config import ROOT
from app.db import make_engine
from app.ingest.loader import ingest_paths
from app.migrate import upgrade_to_head
from tests.servers import uvicorn_server
from tests.test_generate_corpus import gen

SEEDS = [int(seed) for seed in os.environ.get("FUZZ_SEEDS", "").split(",") if seed.strip()]
ARTICLES = int(os.environ.get("FUZZ_ARTICLES", "3000"))
# Each seed on each backend fuzzes for this long: schemathesis repeats its fuzzing and
# stateful phases, with new data, until the time is spent.
RUN_SECONDS = int(os.environ.get("FUZZ_RUN_SECONDS", "180"))
REPORT = ROOT / os.environ.get("FUZZ_SERVER_REPORT", "fuzz-server")
SCHEMATHESIS = Path(sys.executable).parent / "schemathesis"

pytestmark = pytest.mark.skipif(not SEEDS, reason="the long fuzz: `make fuzz` sets FUZZ_SEEDS")

ACCESS = re.compile(r" app\.access (?P<method>\S+) (?P<path>[^?\s]+)\S* (?P<status>\d{3}) ")
REFUSED = "Invalid HTTP request received."  # uvicorn's warning; app.server answers it


def operation_of(path: str, templates: list[str]) -> str:
    """The document's path for a path as requested ("(other)": /openapi.json, probes)."""
    for template in sorted(templates, key=lambda t: t.count("{")):  # literal paths first
        if re.fullmatch(re.sub(r"\{[^}]+\}", "[^/]+", template), path):
            return template
    return "(other)"


def read_log(log: Path, templates: list[str]) -> dict[str, Any]:
    """Requests the app answered, by operation and by status; parser refusals; errors."""
    operations: Counter[str] = Counter()
    statuses: Counter[str] = Counter()
    refused = 0
    errors: list[str] = []
    for line in log.read_text(errors="replace").splitlines():
        if match := ACCESS.search(line):
            operations[f"{match['method']} {operation_of(match['path'], templates)}"] += 1
            statuses[match["status"]] += 1
        elif REFUSED in line:
            refused += 1
        elif re.search(r"\b(ERROR|CRITICAL)\b|Traceback", line):
            errors.append(line[:500])
    return {
        "requests": dict(sorted(operations.items())),
        "statuses": dict(sorted(statuses.items())),
        "refused_by_the_parser": refused,
        "errors": errors,
    }


summaries: list[dict[str, Any]] = []


@pytest.fixture(scope="module")
def report() -> Iterator[Path]:
    """The report folder; summary.json there adds up the runs at the end."""
    REPORT.mkdir(exist_ok=True)
    yield REPORT
    total: dict[str, Any] = {"runs": [], "requests": Counter(), "statuses": Counter()}
    for summary in summaries:
        run = {k: v for k, v in summary.items() if k not in ("requests", "statuses")}
        total["runs"].append(run | {"requests": sum(summary["requests"].values())})
        total["requests"].update(summary["requests"])
        total["statuses"].update(summary["statuses"])
    (REPORT / "summary.json").write_text(json.dumps(total, indent=1, ensure_ascii=False))


@pytest.mark.parametrize("seed", SEEDS)
def test_schemathesis_with_every_check_finds_nothing(
    backend: str, make_database: Any, tmp_path: Path, report: Path, seed: int
) -> None:
    url: str = make_database(backend)
    engine = make_engine(url)
    upgrade_to_head(engine)
    corpus = gen.generate(ARTICLES, tmp_path / "corpus", seed=seed)
    loaded = ingest_paths(engine, [tmp_path / "corpus"])
    engine.dispose()
    assert len(loaded.rejected) == corpus.malformed

    name = f"{backend}-seed{seed}"
    log = report / f"{name}-server.log"
    log.unlink(missing_ok=True)
    started = time.monotonic()
    # Served as the Makefile serves it (tests.servers), the response cache on.
    with uvicorn_server(url, env={"CURSOR_SECRET": "fuzz"}, log=log) as base:
        templates = list(httpx.get(f"{base}/openapi.json").json()["paths"])
        command = [
            str(SCHEMATHESIS),
            f"--config-file={ROOT / 'tests' / 'schemathesis.toml'}",
            "run",
            f"{base}/openapi.json",
            "--checks=all",
            "--workers=2",
            f"--seed={seed}",
            f"--max-time={RUN_SECONDS}",
            "--continue-on-failure",
            "--no-color",
            "--report=ndjson",
            f"--report-ndjson-path={report / f'{name}.ndjson'}",
        ]
        try:
            # The phase under way when the time is up finishes; 5 minutes more is a hang.
            run = subprocess.run(
                command, cwd=ROOT, capture_output=True, text=True, timeout=RUN_SECONDS + 300
            )
        except subprocess.TimeoutExpired:
            pytest.fail(f"{name}: schemathesis still ran 5 minutes past its {RUN_SECONDS} s")
    output = run.stdout + run.stderr
    (report / f"{name}.txt").write_text(output)
    generated = re.search(r"(\d+) generated", output)
    summary = {
        "backend": backend,
        "seed": seed,
        "articles": corpus.articles,
        "seconds": round(time.monotonic() - started),
        "test_cases": int(generated[1]) if generated else None,
        "exit_code": run.returncode,
        **read_log(log, templates),
    }
    (report / f"{name}.json").write_text(json.dumps(summary, indent=1, ensure_ascii=False))
    summaries.append(summary)
    assert run.returncode == 0, f"{name}: see {report / f'{name}.txt'}\n" + output[-6000:]
    assert not summary["errors"], summary["errors"][:20]
