"""Story assignment in a process of its own (app.ingest.stories, what the ingest does)
decides exactly what grouping on the ingest's own connection decides, and is refused
when its transaction has changed what the other process would read."""

from pathlib import Path

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from app.databases import database_for
from app.ingest.stories import assign_pending
from tests.test_generate_corpus import gen
from tests.test_stories_api import write_events, write_third_forum_report


def stories_of(engine: Engine) -> list[tuple[int, int]]:
    with engine.connect() as connection:
        rows = connection.execute(text("SELECT id, story_id FROM articles ORDER BY id"))
        return [(id_, story) for id_, story in rows]


def unassign(engine: Engine) -> None:
    with engine.begin() as connection:
        connection.execute(text("DELETE FROM stories"))
        connection.execute(text("UPDATE articles SET story_id = NULL"))


def test_grouping_in_another_process_decides_as_on_this_connection(
    engine: Engine,
    corpus: Path,
    ingest,  # type: ignore[no-untyped-def]
) -> None:
    gen.generate(400, corpus / "generated", seed=5, malformed_rate=0, duplicate_rate=0)
    write_events(corpus / "events")  # and a story of three reports among them
    write_third_forum_report(corpus / "events")
    report = ingest(corpus)
    assert report.stories.assigned == report.inserted == 405
    elsewhere = stories_of(engine)
    assert len({story for _, story in elsewhere}) < len(elsewhere)
    unassign(engine)
    with Session(engine) as session, session.begin():
        connection = session.connection()
        database_for(connection).begin_writing(connection)
        assert assign_pending(connection, committed=False).assigned == 405
    assert stories_of(engine) == elsewhere


def test_uncommitted_changes_keep_grouping_on_this_connection(
    engine: Engine,
    corpus: Path,
    ingest,  # type: ignore[no-untyped-def]
) -> None:
    gen.generate(50, corpus, seed=6, malformed_rate=0, duplicate_rate=0)
    ingest(corpus)
    before = stories_of(engine)
    with Session(engine) as session, session.begin():
        connection = session.connection()
        database_for(connection).begin_writing(connection)
        connection.execute(text("UPDATE articles SET story_id = NULL"))
        # Another process sees every article with its story: nothing it would decide.
        with pytest.raises(RuntimeError, match="50 articles to assign a story, 0 decided"):
            assign_pending(connection, committed=True)
        session.rollback()
    assert stories_of(engine) == before
