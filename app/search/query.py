"""The search-box query language (websearch style), parsed once here into a SearchQuery;
each database compiles it to its own match expression (app.databases).

    форумы Казахстана        every word must match (in any of its forms)
    "российско-казахстанский форум"   a phrase: these words, adjacent, in this order
    Омск OR Томск            either (OR binds tighter than the implicit AND)
    форум -Омск              exclude articles with the word

Parsing is lenient: unbalanced quotes close at the end, stray operators and punctuation
are ignored. A query left with no word to look for is a QueryError (a 400 naming `q`).
"""

import re
from dataclasses import dataclass

from app.search.analyzer import terms

MAX_QUERY_CHARS = 500
MAX_CLAUSES = 32
_TOKEN = re.compile(r'(-?)"([^"]*)"?|(\S+)')


class QueryError(ValueError):
    pass


@dataclass(frozen=True)
class Phrase:
    terms: tuple[str, ...]  # one term: a word


@dataclass(frozen=True)
class Clause:
    alternatives: tuple[Phrase, ...]  # any of them (OR)
    negated: bool = False


@dataclass(frozen=True)
class SearchQuery:
    clauses: tuple[Clause, ...]

    @property
    def positive_terms(self) -> frozenset[str]:
        """Terms a matching article contains, for highlighting."""
        return frozenset(
            term
            for clause in self.clauses
            if not clause.negated
            for phrase in clause.alternatives
            for term in phrase.terms
        )


def parse_query(q: str) -> SearchQuery:
    if len(q) > MAX_QUERY_CHARS:
        raise QueryError(f"may be at most {MAX_QUERY_CHARS} characters")
    # Each item: (negated, phrase) or the OR operator.
    items: list[tuple[bool, Phrase] | str] = []
    for match in _TOKEN.finditer(q):
        quoted_neg, quoted, bare = match.groups()
        if bare is not None:
            if bare == "OR":
                items.append("OR")
                continue
            negated = bare.startswith("-") and len(bare) > 1
            words = terms(bare[1:] if negated else bare)
        else:
            negated, words = bool(quoted_neg), terms(quoted)
        if words:
            items.append((negated, Phrase(tuple(words))))

    clauses: list[Clause] = []
    pending_or = False
    for item in items:
        if item == "OR":
            pending_or = bool(clauses) and not clauses[-1].negated
            continue
        assert not isinstance(item, str)
        negated, phrase = item
        if pending_or and not negated:
            last = clauses[-1]
            clauses[-1] = Clause((*last.alternatives, phrase))
        else:
            clauses.append(Clause((phrase,), negated))
        pending_or = False

    if not clauses:
        raise QueryError("has no words to search for")
    if all(c.negated for c in clauses):
        raise QueryError("needs at least one word to find, not only words to exclude")
    if len(clauses) > MAX_CLAUSES:
        raise QueryError(f"may have at most {MAX_CLAUSES} words or phrases")
    return SearchQuery(tuple(clauses))
