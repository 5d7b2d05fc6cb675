"""Stories from a date-ordered stream of articles (pure).

Each article's signature (app.stories.topics) is a short list of weighted terms. Within
the window the terms are weighted again by how rare they are among the window's own
articles (inverse document frequency, smoothed by BACKGROUND pseudo-articles so that a
small window behaves like a large one where nothing repeats), and two articles are as
close as the cosine of those vectors. An article joins the story of its closest article
within WINDOW when that cosine reaches THRESHOLD (single link), else it starts its own.
"""

import math
from collections import Counter, deque
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from itertools import islice
from operator import itemgetter
from typing import Final

WINDOW: Final = timedelta(hours=36)  # articles of one story are at most this far apart
# A story spans at most this from its first article to its last: without it, a daily
# report (a rate, the weather) would chain day by day into one story of months.
MAX_SPAN: Final = timedelta(hours=48)
THRESHOLD: Final = 0.3  # the least cosine at which an article joins another's story
BACKGROUND: Final = 1000  # pseudo-articles (sharing no term) added to the window's count
CANDIDATE_POSTINGS: Final = 20  # entries of one term looked at for candidates (the latest)
CANDIDATE_TERMS: Final = 6  # the strongest terms of an article find its candidates
SPAN_SWEEP: Final = 10_000  # members read between two sweeps of the spans of past stories
CANDIDATES: Final = 10  # candidates scored exactly, the most promising first


@dataclass(frozen=True, slots=True)
class Member:
    """One article as grouping sees it. story_id None: still to be assigned."""

    article_id: int
    published_at: datetime
    source_id: int
    signature: str
    story_id: int | None
    # When the stored story it belongs to began, if the caller knows (else its members in
    # the stream tell): what MAX_SPAN is measured from.
    story_first: datetime | None = None


def parse(signature: str) -> dict[str, float]:
    """term → weight of a signature ("term:weight …"; a bare term weighs 1)."""
    parts = signature.replace(":", " ").split()
    terms, weights = parts[0::2], parts[1::2]
    if signature.count(":") == len(weights) == len(terms) == len(set(terms)):
        try:  # the signatures of app.stories.topics: every part "term:digit"
            found = dict(zip(terms, map(float, weights), strict=True))
            if not found or min(found.values()) > 0:
                return found
        except ValueError:
            pass
    found = {}
    for part in signature.split():
        term, _, weight = part.partition(":")
        try:
            value = float(weight) if weight else 1.0
        except ValueError:
            value = 1.0
        if term and value > 0:
            found[term] = max(value, found.get(term, 0.0))
    return found


def _normalised(weights: dict[str, float]) -> dict[str, float]:
    norm = math.sqrt(sum(w * w for w in weights.values()))
    return {t: w / norm for t, w in weights.items()} if norm else {}


def _dot(a: dict[str, float], b: dict[str, float]) -> float:
    if len(a) > len(b):
        a, b = b, a
    common = a.keys() & b.keys()
    if len(common) <= 2:  # x + y == y + x: the set's order cannot change the sum
        return sum([a[t] * b[t] for t in common])
    # In a's order, not the set's: a set of strings iterates in an order that changes with
    # each process's hash seed, and a sum of three floats in another order may differ in
    # its last bit.
    return sum([w * b[t] for t, w in a.items() if t in common])


@dataclass(slots=True, eq=False)
class _Entry:
    member: Member
    weights: dict[str, float]
    story: int | None
    vector: dict[str, float] | None = field(default=None)


class _Window:
    """The members in memory, their terms' document frequencies, and the postings of the
    assigned ones (term → entries with that term and a story, in the order they got it)."""

    def __init__(self) -> None:
        self.entries: deque[_Entry] = deque()
        # term → {entry: its weight in the entry's vector, None until that is fixed}
        self.postings: dict[str, dict[_Entry, float | None]] = {}
        self.df: Counter[str] = Counter()
        self.spans: dict[int, tuple[datetime, datetime]] = {}  # story → (first, last) seen

    def add(self, entry: _Entry) -> None:
        self.entries.append(entry)
        self.df.update(entry.weights.keys())
        if entry.story is not None:
            self.index(entry)

    def index(self, entry: _Entry) -> None:
        """Make an entry with a story a candidate for the others."""
        assert entry.story is not None
        when = entry.member.published_at
        first = min(when, entry.member.story_first or when)
        if (span := self.spans.get(entry.story)) is not None:
            first, last = min(first, span[0]), max(when, span[1])
        else:
            last = when
        self.spans[entry.story] = (first, last)
        postings = self.postings
        vector = entry.vector
        for term, weight in entry.weights.items():
            if (posting := postings.get(term)) is None:
                posting = postings[term] = {}
            # entry.weights is the vector once that is fixed (see vector()), or its terms
            posting[entry] = None if vector is None else vector.get(term, weight)

    def within_span(self, story: int | None, when: datetime) -> bool:
        """Would a story still span at most MAX_SPAN with an article of this date?"""
        span = self.spans.get(story) if story is not None else None
        return span is None or max(span[1], when) - min(span[0], when) <= MAX_SPAN

    def forget_spans(self, before: datetime) -> None:
        """Drop the spans of stories no article in memory can still join."""
        self.spans = {k: v for k, v in self.spans.items() if v[1] >= before}

    def drop_oldest(self) -> None:
        entry = self.entries.popleft()
        df, postings = self.df, self.postings
        for term in entry.weights:
            if df[term] > 1:
                df[term] -= 1
            else:
                del df[term]
            if (posting := postings.get(term)) is not None:
                posting.pop(entry, None)
                if not posting:
                    del postings[term]

    def vector(self, entry: _Entry) -> dict[str, float]:
        """The entry's idf-weighted unit vector, fixed the first time it is needed."""
        if entry.vector is None:
            total = len(self.entries) + BACKGROUND
            df = self.df
            vector = _normalised(
                {t: w * math.log(total / (df[t] + 1)) for t, w in entry.weights.items()}
            )
            if len(vector) == len(entry.weights):
                entry.weights = vector  # the same terms: keep one dict, not two
            entry.vector = vector
        return entry.vector

    def best_story(self, entry: _Entry) -> int | None:
        """The story of the closest assigned entry within WINDOW, if close enough.

        Candidates are the assigned entries sharing one of the entry's CANDIDATE_TERMS
        strongest terms (of a common term, its latest CANDIDATE_POSTINGS entries); the
        CANDIDATES of them with the highest partial score get their exact cosine, ties to
        the lowest article id.
        """
        vector = self.vector(entry)
        cap = CANDIDATE_POSTINGS
        postings = self.postings
        partial: dict[_Entry, float] = {}
        get = partial.get
        strongest = sorted(vector.items(), key=itemgetter(1), reverse=True)[:CANDIDATE_TERMS]
        for term, weight in strongest:
            posting = postings.get(term)
            if posting is None:
                continue
            # A common term: only its latest entries (a big story is found through them).
            items = posting.items()
            for other, known in items if len(posting) <= cap else islice(reversed(items), cap):
                if known is None:
                    known = posting[other] = self.vector(other)[term]
                partial[other] = get(other, 0.0) + weight * known
        when = entry.member.published_at
        ranked = sorted(partial.items(), key=itemgetter(1), reverse=True)[:CANDIDATES]
        best: tuple[float, int] | None = None
        story = None
        spans = self.spans
        for other, _ in ranked:
            if abs(other.member.published_at - when) > WINDOW:
                continue
            # within_span(), inlined: this loop runs ten times an article
            span = spans.get(other.story) if other.story is not None else None
            if span is not None and max(span[1], when) - min(span[0], when) > MAX_SPAN:
                continue
            score = _dot(vector, other.vector or {})
            if score >= THRESHOLD and (best is None or (score, -other.member.article_id) > best):
                best = (score, -other.member.article_id)
                story = other.story
        return story


def assign(members: Iterable[Member]) -> Iterator[tuple[int, int]]:
    """(article_id, story_id) for each member without a story, in stream order.

    members come ordered by (published_at, article_id) and cover every article within
    WINDOW of each unassigned one (those with a story as well). An unassigned member joins
    the story of its best match within WINDOW (earlier or later, assigned before it in
    this stream or already stored), or starts a story whose id is its own article id.
    Memory holds only the members within WINDOW. Deterministic: the same stream gives the
    same answer.
    """
    window = _Window()
    pending: deque[_Entry] = deque()  # unassigned members whose later WINDOW is not all read

    def decide(entry: _Entry) -> tuple[int, int]:
        story = window.best_story(entry)
        entry.story = entry.member.article_id if story is None else story
        window.index(entry)
        return entry.member.article_id, entry.story

    def forget(before: datetime) -> None:
        while window.entries and window.entries[0].member.published_at < before:
            window.drop_oldest()

    for seen, member in enumerate(members, 1):
        if seen % SPAN_SWEEP == 0:  # spans of stories long past: memory stays bounded
            window.forget_spans(member.published_at - 2 * WINDOW - MAX_SPAN)
        when = member.published_at
        while pending and pending[0].member.published_at + WINDOW < when:
            yield decide(pending.popleft())
        forget((pending[0].member.published_at if pending else when) - WINDOW)
        entry = _Entry(member, parse(member.signature), member.story_id)
        window.add(entry)
        if member.story_id is None:
            pending.append(entry)
    while pending:
        yield decide(pending.popleft())


def similarity(a: str, b: str) -> float:
    """How close two signatures are, 0 (nothing shared) to 1 (the same)."""
    return min(1.0, _dot(_normalised(parse(a)), _normalised(parse(b))))


def key_terms(signature: str, limit: int = 10) -> list[str]:
    """The signature's most distinctive terms, strongest first (to find candidates)."""
    weights = parse(signature)
    return sorted(weights, key=lambda term: (-weights[term], term))[:limit]
