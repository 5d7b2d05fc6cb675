"""An article's category and signature, from its URL, title and body (pure)."""

from dataclasses import dataclass
from typing import Final

CATEGORIES: Final = (
    "society",
    "economy",
    "technology",
    "sports",
    "entertainment",
    "science",
    "other",
)


@dataclass(frozen=True, slots=True)
class Topic:
    """What the ingest stores per article: its category, and its signature serialised
    as text (opaque to everyone but app.stories; compared by grouping.similarity)."""

    category: str
    signature: str


def describe(url: str, title_terms: list[str], body_terms: list[str]) -> Topic:
    """The topic of an article from its URL and the analyzer's terms of its title and
    body (app.search.analyzer.terms): deterministic, offline."""
    # PLACEHOLDER until the classifier and signatures land.
    return Topic("other", " ".join(dict.fromkeys(title_terms + body_terms[:50])))
