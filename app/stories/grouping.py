"""Stories from a date-ordered stream of articles (pure)."""

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final

WINDOW: Final = timedelta(hours=36)  # articles of one story are at most this far apart


@dataclass(frozen=True, slots=True)
class Member:
    """One article as grouping sees it. story_id None: still to be assigned."""

    article_id: int
    published_at: datetime
    source_id: int
    signature: str
    story_id: int | None


def assign(members: Iterable[Member]) -> Iterator[tuple[int, int]]:
    """(article_id, story_id) for each member without a story, in stream order.

    members come ordered by (published_at, article_id) and cover every article within
    WINDOW of each unassigned one (those with a story as well). An unassigned member joins
    the story of its best match within WINDOW (earlier or later, assigned before it in
    this stream or already stored), or starts a story whose id is its own article id.
    Memory holds only the members within WINDOW. Deterministic: the same stream gives the
    same answer.
    """
    # PLACEHOLDER until the real grouping lands: every article its own story.
    for member in members:
        if member.story_id is None:
            yield member.article_id, member.article_id


def similarity(a: str, b: str) -> float:
    """How close two signatures are, 0 (nothing shared) to 1 (the same)."""
    left, right = set(a.split()), set(b.split())
    return len(left & right) / len(left | right) if left | right else 0.0


def key_terms(signature: str, limit: int = 10) -> list[str]:
    """The signature's most distinctive terms, strongest first (to find candidates)."""
    return signature.split()[:limit]
