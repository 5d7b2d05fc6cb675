"""Highlights: matched words wrapped in <mark>, everything else HTML-escaped."""

from html import escape
from itertools import islice

from app.search.analyzer import WORD, spans, word_terms

SNIPPET_WORDS = 30


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
    """About `words` words of body around the densest run of matches (the start if none).

    Terms come from one C-speed pass over the body; only the words of the chosen window
    are then located and rendered, which keeps a page of long articles cheap.
    """
    body = " ".join(body.split("\n\n"))  # paragraphs run on in a snippet
    terms = word_terms(body)
    if not terms:
        return escape(body[:300])
    matched = [i for i, term in enumerate(terms) if term in wanted]
    first = 0
    if matched:
        # The window of `words` words holding the most matches, opening a few words early.
        best, best_count, j = matched[0], 0, 0
        for i, start_index in enumerate(matched):
            while matched[j] < start_index - words + 1:
                j += 1
            if (count := i - j + 1) > best_count:
                best, best_count = matched[j], count
        first = max(0, best - 5)
    last = min(len(terms), first + words) - 1
    window = list(islice(WORD.finditer(body), first, last + 1))
    start = 0 if first == 0 else window[0].start()
    end = len(body) if last == len(terms) - 1 else window[-1].end()
    hits = [
        (m.start(), m.end())
        for m, term in zip(window, terms[first : last + 1], strict=True)
        if term in wanted
    ]
    text = _render(body, hits, start, end)
    return ("…" if start > 0 else "") + text.strip() + ("…" if end < len(body) else "")
