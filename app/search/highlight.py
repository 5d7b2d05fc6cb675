"""Highlights: matched words wrapped in <mark>, everything else HTML-escaped."""

from html import escape
from itertools import islice

from app.search.analyzer import spans

SNIPPET_WORDS = 30
MAX_TOKENS = 3000


def _render(text: str, hits: list[tuple[int, int]], start: int, end: int) -> str:
    out: list[str] = []
    pos = start
    for hit_start, hit_end in hits:
        if hit_start < start or hit_end > end:
            continue
        out.append(escape(text[pos:hit_start]))
        out.append(f"<mark>{escape(text[hit_start:hit_end])}</mark>")
        pos = hit_end
    out.append(escape(text[pos:end]))
    return "".join(out)


def highlight_title(title: str, wanted: frozenset[str]) -> str:
    hits = [(s, e) for s, e, term in spans(title) if term in wanted]
    return _render(title, hits, 0, len(title))


def highlight_snippet(body: str, wanted: frozenset[str], words: int = SNIPPET_WORDS) -> str:
    """About `words` words of body around the densest run of matches (the start if none)."""
    body = " ".join(body.split("\n\n"))  # paragraphs run on in a snippet
    # Long bodies: the snippet comes from the first MAX_TOKENS words, which bounds the work.
    tokens = list(islice(spans(body), MAX_TOKENS))
    if not tokens:
        return escape(body[:300])
    matched = [i for i, (_, _, term) in enumerate(tokens) if term in wanted]
    first = 0
    if matched:
        # The window of `words` tokens holding the most matches, opening a few words early.
        best, best_count, j = matched[0], 0, 0
        for i, start_index in enumerate(matched):
            while matched[j] < start_index - words + 1:
                j += 1
            if (count := i - j + 1) > best_count:
                best, best_count = matched[j], count
        first = max(0, best - 5)
    last = min(len(tokens), first + words) - 1
    start = 0 if first == 0 else tokens[first][0]
    complete = last == len(tokens) - 1 and len(tokens) < MAX_TOKENS
    end = len(body) if complete else tokens[last][1]
    hits = [(s, e) for s, e, term in tokens[first : last + 1] if term in wanted]
    text = _render(body, hits, start, end)
    return ("…" if start > 0 else "") + text.strip() + ("…" if end < len(body) else "")
