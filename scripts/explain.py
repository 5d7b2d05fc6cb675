#!/usr/bin/env python
"""Print the query plan of each listing query on the database named by DATABASE_URL.

    DATABASE_URL=... python scripts/explain.py

Used to choose the indexes (docs/indexes.md): no listing should scan the whole table.
"""

import sys
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from app.config import get_settings
from app.databases import database_for
from app.db import make_engine
from app.models import Article, ArticleAuthor, Author, Source
from app.pagination import Pager, sort_order
from app.queries.articles import listing_columns
from app.queries.listing import ArticleFilters, plan_listing
from app.search.query import parse_query


def main() -> None:
    engine = make_engine(get_settings().database_url)
    with Session(engine) as session:
        top_author = session.scalar(
            select(Author.name)
            .join(ArticleAuthor)
            .group_by(Author.id, Author.name)
            .order_by(func.count().desc())
            .limit(1)
        )
        top_source = session.scalar(
            select(Source.domain)
            .join(Article)
            .group_by(Source.id, Source.domain)
            .order_by(func.count().desc())
            .limit(1)
        )
        cases = {
            "newest 20": ArticleFilters(),
            "one source": ArticleFilters(sources=[top_source or ""]),
            "one author": ArticleFilters(authors=[top_author or ""]),
            "date range": ArticleFilters(
                published_from=datetime(2019, 11, 1, tzinfo=UTC),
                published_to=datetime(2019, 11, 30, tzinfo=UTC),
            ),
            "language": ArticleFilters(languages=["en"]),
            "a word, newest first": ArticleFilters(search=parse_query("форум")),
            "a word in one source": ArticleFilters(
                search=parse_query("форум"), sources=[top_source or ""]
            ),
        }
        newest = Pager(sort_order("articles", "-published_at"), 20)
        prefix = database_for(engine).explain_prefix
        for name, filters in cases.items():
            listing = plan_listing(session, filters)
            assert listing is not None, name
            composite = listing.composite()
            stmt = newest.select(
                listing.apply(listing_columns()), listing.key_columns(), composite
            ).params(**(listing.params | newest.params(composite)))
            sql = str(stmt.compile(engine, compile_kwargs={"literal_binds": True}))
            print(f"## {name} ({listing.shape.search or 'no search'})\n")
            for row in session.execute(text(prefix + sql)):
                print("    " + " ".join(str(c) for c in row[-1:]))
            print()


if __name__ == "__main__":
    main()
