"""An article's category and signature, from its URL, title and body (pure).

Category: the section many news URLs carry (…/sport/…, economy.example.ru) is a strong
vote; the hand-written lexicon of app.stories.lexicon, counted over the title (weighted
up) and the body, votes too; the highest score wins, and an article with no evidence is
"society" (most news is). Signature: the article's distinctive terms (common words of
news prose dropped), title and lead terms weighted up, strongest first, as
"term:weight …" under SIGNATURE_BYTES. Both only count terms: no model, no I/O.
"""

import math
import re
from collections import Counter
from dataclasses import dataclass
from functools import lru_cache
from operator import itemgetter
from typing import Final

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
    host = url.partition("//")[2].partition("/")[0]
    return _words_of_host(host.rpartition("@")[2].partition(":")[0].lower())


@lru_cache(maxsize=4096)
def _words_of_host(host: str) -> frozenset[str]:
    return frozenset(re.split(r"[.\-]", host))


def url_section(url: str) -> str | None:
    """The category a URL's section names (path folders, then host labels), if any."""
    host, _, path = url.lower().partition("//")[2].partition("/")
    folders = path.partition("?")[0].partition("#")[0].rpartition("/")[0]  # not the slug
    for word in _URL_TOKEN.findall(folders):
        if found := URL_SECTIONS.get(word) or _section_of_parts(word):
            return found
    # sport.example.ru, championat.com
    for label in host.rpartition("@")[2].partition(":")[0].split(".")[:-1]:
        if found := URL_SECTIONS.get(label):
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
    """The lexicon's votes (title words TITLE_VOTE times, body words up to BODY_CAP
    times) plus the URL section's; the highest wins, ties to society, then the earlier."""
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


# 1 + ln(count) for a body count (0 for none); counts beyond the table count as its last.
_LOG: Final = tuple(1.0 + math.log(count) if count else 0.0 for count in range(1024))


_NUMBER: Final = re.compile(r"[1-9][0-9]{1,3}")  # 10 … 9999: amounts, counts, years


def signature(
    title_terms: list[str],
    body_terms: list[str],
    body_counts: Counter[str],
    skip: frozenset[str] = frozenset(),
) -> str:
    """ "term:weight …", strongest first (ties by term), at most SIGNATURE_BYTES.

    A term's score: 1 + ln(count in the body), LEAD_WEIGHT times that in the lead, plus
    TITLE_WEIGHT for each time in the title. Common words, the site's own name, single
    letters, ids and times ("00", "18t16") are left out.
    """
    title = Counter(title_terms)
    lead = set(body_terms[:LEAD_TERMS])
    log, body, heading = _LOG, body_counts.get, title.get
    most = len(log) - 1
    scores: dict[str, float] = {}
    # Terms once in the body and in neither the title nor the lead score the least (1):
    # they are only looked at when the others are too few.
    first = lead.union(title, [term for term, count in body_counts.items() if count > 1])
    for terms in (first, body_counts.keys() - first):
        pool = terms - COMMON - skip if skip else terms - COMMON
        scores.update(
            {
                term: log[min(body(term, 0), most)] * (LEAD_WEIGHT if term in lead else 1.0)
                + TITLE_WEIGHT * heading(term, 0)
                for term in pool
                if len(term) > 1 and (term.isalpha() or _NUMBER.fullmatch(term))
            }
        )
        if len(scores) >= SIGNATURE_TERMS:
            break
    if not scores:
        return ""
    # The SIGNATURE_TERMS best, by score then term (a set's order is not the same in
    # every process: the order here must not come from it).
    if len(scores) > SIGNATURE_TERMS:
        least = sorted(scores.values(), reverse=True)[SIGNATURE_TERMS - 1]
        scores = {term: score for term, score in scores.items() if score >= least}
    ranked = sorted(sorted(scores.items()), key=itemgetter(1), reverse=True)[:SIGNATURE_TERMS]
    scale = MAX_WEIGHT / ranked[0][1]
    text = " ".join([f"{term}:{max(1, round(scale * score))}" for term, score in ranked])
    data = text.encode()
    if len(data) <= SIGNATURE_BYTES:
        return text
    return data[: max(0, data.rfind(b" ", 0, SIGNATURE_BYTES + 1))].decode()
