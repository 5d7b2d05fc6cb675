"""Highlights: matched words wrapped in <mark>, everything else HTML-escaped.

A snippet is about 30 words of the body around its densest run of matches. Finding the
matches would mean the term of every word of the body (a regex pass and a dictionary look
up per word: most of a search page's time). For Russian terms the body is instead
searched for the word forms the terms can have (app.search.analyzer.surface_forms): a
regular expression finds the words that start with a term's stem, and only those that are
one of its forms reach the analyser; the words of the chosen window are then checked one
by one. Anything else (English stems, numbers, a body where no listed form is found) takes
the full pass.
"""

import re
import sys
from dataclasses import dataclass
from html import escape
from itertools import islice

from app.cache.lru import LRU
from app.search.analyzer import WORD, normalize, spans, surface_forms, word_terms

SNIPPET_WORDS = 30
LEAD_WORDS = 5  # words shown before the first match of the window
CHARS_PER_WORD = 7  # a Russian word and its space, on average: the window's width in text


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


@dataclass(frozen=True, slots=True)
class _Locator:
    forms: frozenset[str]  # every word form the wanted terms have (lower-cased, ё as е)
    pattern: re.Pattern[str]  # whole words that may be one of them


MIN_STEM = 3  # a shorter shared stem would make every word a candidate anyway


# The locators of recent searches, per process: a search's next pages and its other
# clients reuse its locator (building one lists every form of each term).
LOCATOR_CACHE_BYTES = 4_000_000
PATTERN_BYTES_PER_CHAR = 40  # a compiled pattern's size per character of its source (measured)


def _locator_cost(wanted: frozenset[str], locator: "_Locator | None") -> int:
    cost = sys.getsizeof(wanted) + sum(map(sys.getsizeof, wanted)) + 200
    if locator is not None:
        cost += sys.getsizeof(locator.forms) + sum(map(sys.getsizeof, locator.forms))
        cost += PATTERN_BYTES_PER_CHAR * len(locator.pattern.pattern) + 1000
    return cost


_locators: "LRU[frozenset[str], _Locator | None]" = LRU(
    LOCATOR_CACHE_BYTES, _locator_cost, LOCATOR_CACHE_BYTES // 20
)


def _locator(wanted: frozenset[str]) -> _Locator | None:
    return _locators.get_or_put(wanted, lambda: _new_locator(wanted))


def _new_locator(wanted: frozenset[str]) -> _Locator | None:
    """What finds the words of these terms in text lower-cased with ё as е; None if some
    term's forms cannot be listed. A term's forms share a stem, so the pattern finds whole
    words starting with one of the stems, which the regex engine rejects at most positions
    at once, and only those are looked up among the forms. (A pattern of every form would
    find them as fast, but compiling it costs milliseconds per query.) A paradigm whose
    forms share no stem (быть: есть, был, буду) makes every word a candidate."""
    forms: set[str] = set()
    stems: set[str] = set()
    for term in wanted:
        found = surface_forms(term)
        if found is None:
            return None
        forms |= found
        stems.add(_common_prefix(found))
    if not stems:
        return None
    if min(map(len, stems)) < MIN_STEM:
        return _Locator(frozenset(forms), WORD)
    alternatives = "|".join(map(re.escape, sorted(stems)))
    return _Locator(frozenset(forms), re.compile(rf"(?<![^\W_])(?:{alternatives})[^\W_]*"))


def _common_prefix(words: frozenset[str]) -> str:
    first, last = min(words), max(words)  # the sorted ends share what all share
    size = 0
    while size < len(first) and first[size] == last[size]:
        size += 1
    return first[:size]


def highlight_snippet(body: str, wanted: frozenset[str], words: int = SNIPPET_WORDS) -> str:
    """About `words` words of body around the densest run of matches (the start if none)."""
    body = " ".join(body.split("\n\n"))  # paragraphs run on in a snippet
    locator = _locator(wanted)
    if locator is not None:
        hits = [start for start, _ in _located(body, wanted, locator)]
        if hits:
            return _snippet_near(body, wanted, hits, words)
    return _scanned_snippet(body, wanted, words)


def _located(text: str, wanted: frozenset[str], locator: _Locator) -> list[tuple[int, int]]:
    """(start, length) of every word of text whose term is wanted: the candidate words
    that are one of the forms, each checked by the analyser (one form can belong to
    several paradigms), never every word of text."""
    folded = text.lower().replace("ё", "е")  # the same length: offsets carry over
    forms = locator.forms
    return [
        (found.start(), len(found[0]))
        for found in locator.pattern.finditer(folded)
        if found[0] in forms and normalize(found[0]) in wanted
    ]


def _snippet_near(body: str, wanted: frozenset[str], hits: list[int], words: int) -> str:
    """The window of `words` words opening a few words before the densest run of hits
    (character offsets of matched words). Every word of the window is checked for its
    mark: a paradigm's listed forms can miss a word the analyser gives its term (a
    surname's predicted paradigm), which the locator then does not see."""
    width = words * CHARS_PER_WORD
    best, best_count, j = hits[0], 0, 0
    for i, start in enumerate(hits):
        while hits[j] < start - width:
            j += 1
        if (count := i - j + 1) > best_count:
            best, best_count = hits[j], count
    reach = max(0, best - 2 * LEAD_WORDS * CHARS_PER_WORD)
    lead = list(WORD.finditer(body, reach, best))[-LEAD_WORDS:]
    first = 0 if reach == 0 and len(lead) < LEAD_WORDS else (lead[0].start() if lead else best)
    window = list(islice(WORD.finditer(body, first), words))
    start = 0 if first == 0 else window[0].start()
    end = window[-1].end()
    if len(window) < words or WORD.search(body, end) is None:
        end = len(body)
    marks = [(m.start(), m.end()) for m in window if normalize(m[0]) in wanted]
    text = _render(body, marks, start, end)
    return ("…" if start > 0 else "") + text.strip() + ("…" if end < len(body) else "")


def _scanned_snippet(body: str, wanted: frozenset[str], words: int) -> str:
    """highlight_snippet() by the term of every word of the body."""
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
