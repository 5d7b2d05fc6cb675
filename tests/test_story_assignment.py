"""Story assignment in a process of its own (app.ingest.stories, what the ingest CLI does)
decides exactly what grouping on the ingest's own connection decides, and is refused
when its transaction has changed what the other process would read.

The forking side runs in subprocesses: the test process has other threads, and the
ingest forks only a process with none (app.ingest.stories._may_fork)."""

import json
import os
import subprocess
import sys
from pathlib import Path

from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from app.databases import database_for
from app.ingest.stories import assign_pending
from tests.test_generate_corpus import gen
from tests.test_stories_api import write_events, write_third_forum_report

ROOT = Path(__file__).resolve().parent.parent

# Run in a process of its own: take the write lock, un-assign every article in this
# transaction only, and ask for the assignment as if nothing had changed.
UNCOMMITTED = """
import sys
from sqlalchemy import create_engine, text
from sqlalchemy.orm import Session
from app.databases import database_for
from app.ingest.stories import assign_pending, _may_fork
assert _may_fork()
with Session(create_engine(sys.argv[1])) as session, session.begin():
    connection = session.connection()
    database_for(connection).begin_writing(connection)
    connection.execute(text("UPDATE articles SET story_id = NULL"))
    try:
        assign_pending(connection, committed=True)
    except RuntimeError as exc:
        print(exc)
    session.rollback()
"""


def run_python(*args: str, url: str) -> str:
    done = subprocess.run(
        [sys.executable, *args],
        cwd=ROOT,
        env={**os.environ, "DATABASE_URL": url},
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    return done.stdout


def stories_of(engine: Engine) -> list[tuple[int, int]]:
    with engine.connect() as connection:
        rows = connection.execute(text("SELECT id, story_id FROM articles ORDER BY id"))
        return [(id_, story) for id_, story in rows]


def test_grouping_in_another_process_decides_as_on_this_connection(
    engine: Engine, corpus: Path, database_url: str
) -> None:
    gen.generate(400, corpus / "generated", seed=5, malformed_rate=0, duplicate_rate=0)
    write_events(corpus / "events")  # and a story of three reports among them
    write_third_forum_report(corpus / "events")
    out = run_python("scripts/ingest.py", "--json", str(corpus), url=database_url)
    assert json.loads(out.splitlines()[-1])["stories_assigned"] == 405
    elsewhere = stories_of(engine)
    assert len({story for _, story in elsewhere}) < len(elsewhere)
    with engine.begin() as connection:
        connection.execute(text("DELETE FROM stories"))
        connection.execute(text("UPDATE articles SET story_id = NULL"))
    with Session(engine) as session, session.begin():
        connection = session.connection()
        database_for(connection).begin_writing(connection)
        assert assign_pending(connection, committed=False).assigned == 405
    assert stories_of(engine) == elsewhere


def test_uncommitted_changes_are_refused_by_the_other_process(
    engine: Engine,
    corpus: Path,
    database_url: str,
    ingest,  # type: ignore[no-untyped-def]
) -> None:
    gen.generate(50, corpus, seed=6, malformed_rate=0, duplicate_rate=0)
    ingest(corpus)
    before = stories_of(engine)
    # The other process sees every article with its story: nothing to decide.
    out = run_python("-c", UNCOMMITTED, database_url, url=database_url)
    assert out.strip() == "50 articles to assign a story, 0 decided"
    assert stories_of(engine) == before
