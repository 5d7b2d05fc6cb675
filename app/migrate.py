"""Bring a database to the current schema, or tell whether it is there.

The ingest migrates (so a new DATABASE_URL just works); the API server only checks and
refuses to start on a schema that is behind.
"""

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine

from app.config import ROOT
from app.databases import DATABASES

# Search objects are made by migration 0002 and managed by app.databases, not the models.
# FTS5 adds shadow tables named after its own (articles_fts_data…), hence prefixes.
SEARCH_TABLE_PREFIXES = tuple(db.index_table for db in DATABASES.values())


def include_name(name: str | None, type_: str, parent_names: object) -> bool:
    """Autogenerate filter: leave the search index's tables out of the model comparison."""
    return not (type_ == "table" and name is not None and name.startswith(SEARCH_TABLE_PREFIXES))


def alembic_config() -> Config:
    cfg = Config(str(ROOT / "alembic.ini"))
    cfg.set_main_option("script_location", str(ROOT / "migrations"))
    cfg.attributes["configure_logging"] = False
    return cfg


def upgrade_to_head(engine: Engine) -> None:
    cfg = alembic_config()
    with engine.begin() as connection:
        cfg.attributes["connection"] = connection
        command.upgrade(cfg, "head")


def head_revision() -> str | None:
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


class SchemaBehindError(RuntimeError):
    pass


def check_schema_current(engine: Engine) -> None:
    """Raise SchemaBehindError with a message that says how to fix it."""
    current, head = current_revision(engine), head_revision()
    if current != head:
        state = "empty (no schema)" if current is None else f"at revision {current}"
        raise SchemaBehindError(
            f"The database {engine.url.render_as_string(hide_password=True)} is {state}, "
            f"but this code needs revision {head}. Run `python scripts/ingest.py` "
            "(it migrates before loading) or `alembic upgrade head`, then start the API again."
        )
