"""An article's category and signature, from its URL, title and body (pure).

Category: the section many news URLs carry (…/sport/…, economy.example.ru) is a strong
vote; the hand-written lexicon of app.stories.lexicon, counted over the title (weighted
up) and the body, votes too; the highest score wins, and an article with no evidence is
"society" (most news is). Signature: the article's distinctive terms (common words of
news prose dropped), title and lead terms weighted up, strongest first, as
"term:weight …" under SIGNATURE_BYTES. Both only count terms: no model, no I/O.
"""

import heapq
import math
import re
from collections import Counter
from dataclasses import dataclass
from typing import Final
from urllib.parse import urlsplit

from app.stories.lexicon import CATEGORY_WORDS, COMMON, URL_SECTIONS

CATEGORIES: Final = (
    "society",
    "economy",
    "technology",
    "sports",
    "entertainment",
    "science",
    "other",
)
DEFAULT_CATEGORY: Final = "society"

SIGNATURE_BYTES: Final = 300  # the stored signature's size limit (UTF-8)
SIGNATURE_TERMS: Final = 24  # at most this many terms
MAX_WEIGHT: Final = 9  # weights are stored as one digit, 1 … 9
TITLE_WEIGHT: Final = 3.0  # a title occurrence counts as this many body ones
LEAD_TERMS: Final = 60  # the first body terms (the lead) count LEAD_WEIGHT times
LEAD_WEIGHT: Final = 2.0

URL_WEIGHT: Final = 6.0  # a URL section's vote, against the lexicon's
URL_SHARE: Final = 0.5  # …or this share of the lexicon's total, if more
TITLE_VOTE: Final = 3  # a lexicon word in the title counts this many times
BODY_CAP: Final = 3  # a body word counts at most this many times

_URL_TOKEN = re.compile(r"[a-z0-9_\-]+")


@dataclass(frozen=True, slots=True)
class Topic:
    """What the ingest stores per article: its category, and its signature serialised
    as text (opaque to everyone but app.stories; compared by grouping.similarity)."""

    category: str
    signature: str


def describe(url: str, title_terms: list[str], body_terms: list[str]) -> Topic:
    """The topic of an article from its URL and the analyzer's terms of its title and
    body (app.search.analyzer.terms): deterministic, offline."""
    body_counts = Counter(body_terms)
    return Topic(
        category(url, title_terms, body_counts),
        signature(title_terms, body_terms, body_counts, _host_words(url)),
    )


def _host_words(url: str) -> frozenset[str]:
    """The words of a URL's host (sport, 1prime, front): a site's name in its own pages
    would make all its articles look alike."""
    return frozenset(re.split(r"[.\-]", (urlsplit(url).hostname or "").lower()))


def url_section(url: str) -> str | None:
    """The category a URL's section names (path folders, then host labels), if any."""
    parts = urlsplit(url.lower())
    folders = parts.path.split("/")[:-1]  # the last part is the article's own slug
    hosts = (parts.hostname or "").split(".")[:-1]  # sport.example.ru, championat.com
    for token in folders:
        for word in _URL_TOKEN.findall(token):
            if found := URL_SECTIONS.get(word) or _section_of_parts(word):
                return found
    for token in hosts:
        if found := URL_SECTIONS.get(token):
            return found
    return None


def _section_of_parts(word: str) -> str | None:
    for part in re.split(r"[-_]", word) if "-" in word or "_" in word else ():
        if found := URL_SECTIONS.get(part):
            return found
    return None


def _lexicon() -> dict[str, tuple[tuple[int, int], ...]]:
    """term → ((category's index in CATEGORIES, weight), …): one lookup a term."""
    found: dict[str, list[tuple[int, int]]] = {}
    for name, words in CATEGORY_WORDS.items():
        for term, weight in words.items():
            found.setdefault(term, []).append((CATEGORIES.index(name), weight))
    return {term: tuple(votes) for term, votes in found.items()}


_LEXICON: Final = _lexicon()
_DEFAULT: Final = CATEGORIES.index(DEFAULT_CATEGORY)


def category(url: str, title_terms: list[str], body_counts: Counter[str]) -> str:
    scores = [0.0] * len(CATEGORIES)
    lexicon = _LEXICON
    for term in title_terms:
        for index, weight in lexicon.get(term, ()):
            scores[index] += TITLE_VOTE * weight
    for term in body_counts.keys() & lexicon.keys():
        count = min(body_counts[term], BODY_CAP)
        for index, weight in lexicon[term]:
            scores[index] += weight * count
    if section := url_section(url):
        scores[CATEGORIES.index(section)] += max(URL_WEIGHT, URL_SHARE * sum(scores))
    best = max(range(len(CATEGORIES)), key=lambda i: (scores[i], i == _DEFAULT, -i))
    return CATEGORIES[best] if scores[best] > 0 else DEFAULT_CATEGORY


_LOG: Final = tuple(1.0 + math.log(count) if count else 0.0 for count in range(64))


def _useful(term: str, skip: frozenset[str]) -> bool:
    """Not a common word, a site's name, a letter, an id or a time ("00", "18t16")."""
    return (
        len(term) > 1
        and term not in COMMON
        and term not in skip
        and (term.isalpha() or _NUMBER.fullmatch(term) is not None)
    )


_NUMBER: Final = re.compile(r"[1-9][0-9]{1,3}")  # 10 … 9999: amounts, counts, years


def signature(
    title_terms: list[str],
    body_terms: list[str],
    body_counts: Counter[str],
    skip: frozenset[str] = frozenset(),
) -> str:
    """ "term:weight …", strongest first (ties by term), at most SIGNATURE_BYTES."""
    log = _LOG
    scores = {
        term: log[count] if count < 64 else 1.0 + math.log(count)
        for term, count in body_counts.items()
        if _useful(term, skip)
    }
    for term in set(body_terms[:LEAD_TERMS]) & scores.keys():
        scores[term] *= LEAD_WEIGHT
    for term in title_terms:
        if _useful(term, skip):
            scores[term] = scores.get(term, 0.0) + TITLE_WEIGHT
    if not scores:
        return ""
    ranked = heapq.nsmallest(SIGNATURE_TERMS, scores.items(), key=lambda item: (-item[1], item[0]))
    top = ranked[0][1]
    parts: list[str] = []
    size = -1
    for term, score in ranked:
        part = f"{term}:{max(1, min(MAX_WEIGHT, round(MAX_WEIGHT * score / top)))}"
        size += len(part.encode()) + 1
        if size > SIGNATURE_BYTES:
            break
        parts.append(part)
    return " ".join(parts)
