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
from app.ingest import stories as ingest_stories
from app.ingest.stories import assign_pending, refresh_stories
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


def stories_table(engine: Engine) -> list[tuple[object, ...]]:
    with engine.connect() as connection:
        return [tuple(row) for row in connection.execute(text("SELECT * FROM stories ORDER BY id"))]


def recounted(engine: Engine) -> list[tuple[object, ...]]:
    """The stories table as refresh_stories() makes it from every article (rolled back)."""
    with engine.connect() as connection, connection.begin() as transaction:
        ids = connection.scalars(text("SELECT DISTINCT story_id FROM articles")).all()
        refresh_stories(connection, ids)
        rows = connection.execute(text("SELECT * FROM stories ORDER BY id"))
        found = [tuple(row) for row in rows]
        transaction.rollback()
    return found


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
    # The stories written as grouping went are those a recount from the articles gives.
    table = stories_table(engine)
    assert len(table) == len({story for _, story in elsewhere})
    assert table == recounted(engine)
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


def test_stories_written_while_grouping_runs_are_complete(
    engine: Engine,
    corpus: Path,
    ingest,
    monkeypatch,  # type: ignore[no-untyped-def]
) -> None:
    """Stories are written as soon as no later decision can join them (every WRITE
    decisions): small writes here, so that most are written before grouping ends, and
    one story grows across several of them."""
    gen.generate(300, corpus / "generated", seed=7, malformed_rate=0, duplicate_rate=0)
    write_events(corpus / "events")
    write_third_forum_report(corpus / "events")
    ingest(corpus)
    first = stories_of(engine)
    with engine.begin() as connection:
        connection.execute(text("DELETE FROM stories"))
        connection.execute(text("UPDATE articles SET story_id = NULL"))
    monkeypatch.setattr(ingest_stories, "WRITE", 7)
    with Session(engine) as session, session.begin():
        connection = session.connection()
        database_for(connection).begin_writing(connection)
        report = assign_pending(connection, committed=False)
    assert report.assigned == len(first) == 305
    assert report.stories == len({story for _, story in first})
    assert stories_of(engine) == first
    assert stories_table(engine) == recounted(engine)
