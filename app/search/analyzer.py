"""Text to search terms: the one definition both backends index and query with.

A term is a word (letters and digits) lower-cased, with ё folded to е, reduced to its
dictionary form: Russian words by the pymorphy3 lemmatiser (форумы, форумом → форум;
Казахстана, Казахстаном → казахстан, which Snowball stems apart), Latin-script words by
the Snowball English stemmer, anything else as it is. Documents and queries go through
the same function, so SQLite and PostgreSQL see the same terms.
"""

import re
import sys
from collections.abc import Iterator
from functools import cache

import pymorphy3
import Stemmer

WORD = re.compile(r"[^\W_]+")
MAX_TERM_CHARS = 64  # longer "words" (hashes, base64) are not searchable text
# Bytes of word → term pairs a process keeps: the ingest's (about 250,000 word forms, most
# of a large corpus's vocabulary); an API worker sets its own (WORD_CACHE_BYTES).
CACHE_BYTES = 64_000_000
ENTRY_BYTES = 100  # a pair's share of the dict's table, beyond its two strings (measured)
_CYRILLIC = re.compile(r"[а-яё]")
_LATIN = re.compile(r"^[a-z0-9]+$")


@cache
def _morph() -> pymorphy3.MorphAnalyzer:
    return pymorphy3.MorphAnalyzer(lang="ru")


@cache
def _english() -> Stemmer.Stemmer:
    return Stemmer.Stemmer("english")


def _term(word: str) -> str:
    """The term of one lower-cased word; "" for a word too long to be one."""
    if len(word) > MAX_TERM_CHARS:
        return ""
    word = word.replace("ё", "е")
    if _CYRILLIC.search(word):
        lemma: str = _morph().parse(word)[0].normal_form
        return lemma.replace("ё", "е")
    if _LATIN.match(word) and not word.isdigit():
        stem: str = _english().stemWord(word)
        return stem
    return word


class _TermCache(dict[str, str]):
    """word → term, within a budget of bytes. Most words of a text were seen before, and a
    dict lookup mapped over the words runs at C speed, which the ingest needs (a few
    hundred words an article): so a hit does no bookkeeping, a miss counts what it adds
    (both strings and the slot), and a full cache starts over rather than evicting in
    order."""

    def __init__(self, budget: int) -> None:
        super().__init__()
        self.budget = budget
        self.used = 0

    def __missing__(self, word: str) -> str:
        term = _term(word)
        cost = sys.getsizeof(word) + sys.getsizeof(term) + ENTRY_BYTES
        if self.used + cost > self.budget:
            self.empty()
        if cost <= self.budget:
            self[word] = term
            self.used += cost
        return term

    def empty(self) -> None:
        self.clear()
        self.used = 0


_terms = _TermCache(CACHE_BYTES)


def set_cache_bytes(budget: int) -> None:
    """This process's budget for word → term pairs (0: none kept)."""
    _terms.empty()
    _terms.budget = budget


def cache_used_bytes() -> int:
    """What the kept pairs cost, as the budget counts them."""
    return _terms.used


def normalize(word: str) -> str:
    """The search term of one word (as matched by WORD), "" if it is not searchable."""
    return _terms[word.lower()]


def terms(text: str) -> list[str]:
    return [t for t in map(_terms.__getitem__, WORD.findall(text.lower())) if t]


def word_terms(text: str) -> list[str]:
    """The term of each WORD match in text, in order ("" for an unsearchable word)."""
    return list(map(_terms.__getitem__, map(str.lower, WORD.findall(text))))


def surface_forms(term: str) -> frozenset[str] | None:
    """Every lower-cased word form (ё as е) whose term may be this one: the forms of each
    Russian paradigm with this dictionary form. None for a term that is not a Russian
    lemma (an English stem, a number), whose forms cannot be listed.

    A word among them is only a match if term() of it is the term (one form can belong to
    several paradigms); a word outside them never is, as the analyzer's lemma of any word
    is the dictionary form of one of its paradigms.
    """
    if not _CYRILLIC.search(term):
        return None
    forms = {
        form.word.replace("ё", "е")
        for parse in _morph().parse(term)
        if parse.normal_form.replace("ё", "е") == term
        for form in parse.lexeme
    }
    return frozenset(forms | {term}) if forms else None


def spans(text: str) -> Iterator[tuple[int, int, str]]:
    """(start, end, term) of every searchable word in text, for highlighting."""
    for match in WORD.finditer(text):
        term = _terms[match[0].lower()]
        if term:
            yield match.start(), match.end(), term
