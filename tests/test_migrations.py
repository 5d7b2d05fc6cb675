"""The schema is made by the migrations only, and they agree with the models."""

from datetime import UTC, datetime

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from fastapi.testclient import TestClient
from sqlalchemy import Engine, insert, inspect, text

from app.config import Settings
from app.db import Base, make_engine
from app.main import create_app
from app.migrate import (
    SchemaBehindError,
    alembic_config,
    current_revision,
    head_revision,
    include_name,
    upgrade_to_head,
)
from app.models import Article, Source


def test_models_and_migrations_agree(engine: Engine) -> None:
    with engine.connect() as conn:
        context = MigrationContext.configure(
            conn, opts={"compare_type": True, "include_name": include_name}
        )
        assert compare_metadata(context, Base.metadata) == []


def test_constraints_have_stable_names(engine: Engine) -> None:
    inspector = inspect(engine)
    assert inspector.get_pk_constraint("articles")["name"] == "pk_articles"
    assert {u["name"] for u in inspector.get_unique_constraints("articles")} == {"uq_articles_url"}
    assert {fk["name"] for fk in inspector.get_foreign_keys("article_authors")} == {
        "fk_article_authors_article_id_articles",
        "fk_article_authors_author_id_authors",
    }


def test_upgrade_is_idempotent_and_at_head(engine: Engine) -> None:
    upgrade_to_head(engine)
    assert current_revision(engine) == head_revision()


def test_api_refuses_to_start_on_an_unmigrated_database(backend: str, make_database) -> None:  # type: ignore[no-untyped-def]
    url = make_database(backend)
    app = create_app(Settings(database_url=url))
    with pytest.raises(SchemaBehindError, match="alembic upgrade head"), TestClient(app):
        pass


def test_api_refuses_to_start_on_a_schema_behind(backend: str, make_database) -> None:  # type: ignore[no-untyped-def]
    url = make_database(backend)
    engine = make_engine(url)
    upgrade_to_head(engine)
    with engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = 'older'"))
    engine.dispose()
    app = create_app(Settings(database_url=url))
    with pytest.raises(SchemaBehindError, match="older"), TestClient(app):
        pass


def test_articles_older_than_the_search_index_are_found(backend: str, make_database) -> None:  # type: ignore[no-untyped-def]
    """Migration 0002 indexes the articles already there, as the ingest would."""
    url = make_database(backend)
    engine = make_engine(url)
    cfg = alembic_config()
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "0001")
    now = datetime(2020, 1, 2, 3, 4, tzinfo=UTC)
    texts = {
        "https://a.ru/1": ("Форум в Омске", "Делегаты обсудили торговлю."),
        "https://a.ru/2": ("Погода", "В Томске прошёл форум учителей."),
        "https://a.ru/3": ("Погода", "Снег и ветер."),
    }
    with engine.begin() as conn:
        conn.execute(
            insert(Source),
            [{"id": 1, "name": "Известия", "name_key": "известия", "domain": "iz.ru"}],
        )
        conn.execute(
            insert(Article),
            [
                {
                    "url": url_,
                    "title": title,
                    "published_at": now,
                    "published_offset_minutes": 180,
                    "source_id": 1,
                    "language": "ru",
                    "word_count": 3,
                    "excerpt": body,
                    "body": body,
                    "content_hash": url_,
                    "ingested_at": now,
                    "updated_at": now,
                }
                for url_, (title, body) in texts.items()
            ],
        )
    upgrade_to_head(engine)
    engine.dispose()
    app = create_app(Settings(database_url=url))
    with TestClient(app) as client:
        found = client.get("/api/v1/articles", params={"q": "форумы"}).json()
        assert {item["url"] for item in found["items"]} == {"https://a.ru/1", "https://a.ru/2"}
        assert found["total"] == 2
        ranked = client.get("/api/v1/articles", params={"q": "форумы", "sort": "relevance"})
        assert ranked.json()["items"][0]["url"] == "https://a.ru/1"
