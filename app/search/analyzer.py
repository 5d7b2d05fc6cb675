"""Text to search terms: the one definition both backends index and query with.

A term is a word (letters and digits) lower-cased, with ё folded to е, reduced to its
dictionary form: Russian words by the pymorphy3 lemmatiser (форумы, форумом → форум;
Казахстана, Казахстаном → казахстан, which Snowball stems apart), Latin-script words by
the Snowball English stemmer, anything else as it is. Documents and queries go through
the same function, so SQLite and PostgreSQL see the same terms.
"""

import re
from collections.abc import Iterator
from functools import cache, lru_cache

import pymorphy3
import Stemmer

WORD = re.compile(r"[^\W_]+")
MAX_TERM_CHARS = 64  # longer "words" (hashes, base64) are not searchable text
_CYRILLIC = re.compile(r"[а-яё]")
_LATIN = re.compile(r"^[a-z0-9]+$")


@cache
def _morph() -> pymorphy3.MorphAnalyzer:
    return pymorphy3.MorphAnalyzer(lang="ru")


@cache
def _english() -> Stemmer.Stemmer:
    return Stemmer.Stemmer("english")


@lru_cache(maxsize=500_000)
def normalize(word: str) -> str:
    """The search term of one word (as matched by WORD)."""
    word = word.lower().replace("ё", "е")
    if _CYRILLIC.search(word):
        lemma: str = _morph().parse(word)[0].normal_form
        return lemma.replace("ё", "е")
    if _LATIN.match(word) and not word.isdigit():
        stem: str = _english().stemWord(word)
        return stem
    return word


def terms(text: str) -> list[str]:
    return [normalize(m[0]) for m in WORD.finditer(text) if len(m[0]) <= MAX_TERM_CHARS]


def spans(text: str) -> Iterator[tuple[int, int, str]]:
    """(start, end, term) of every word in text, for highlighting."""
    for match in WORD.finditer(text):
        if len(match[0]) <= MAX_TERM_CHARS:
            yield match.start(), match.end(), normalize(match[0])
