"""The search's own caches in the API process are bounded in bytes too (issue 15): the
analyzer's word → term pairs (WORD_CACHE_BYTES) and the highlights' word-form locators.
A budget far below what one page needs changes no answer, only how often work is redone."""

from typing import Any
from urllib.parse import quote

from app.search import analyzer, highlight
from tests.test_search_plans import archive  # noqa: F401 - the fixture

URLS = [
    f"/api/v1/articles?limit=100&q={quote('форум')}&sort=relevance",
    f"/api/v1/articles?limit=100&q={quote('новости')}",
    f"/api/v1/articles?limit=50&q={quote('номер форумы')}&fields=id,highlight",
    f"/api/v1/articles/facets?q={quote('подробности')}",
]


def test_a_tight_word_cache_stays_within_its_budget_and_changes_no_answer(
    archive: Any,  # noqa: F811
) -> None:
    with archive(response_cache_bytes=0) as roomy:
        expected = [roomy.get(url).json() for url in URLS]
        needed = analyzer.cache_used_bytes()
    assert all(page.get("items") or page.get("sources") for page in expected)
    assert needed > 1000, "these pages should lemmatise a few words"
    for budget in (needed // 4, 0):
        with archive(response_cache_bytes=0, word_cache_bytes=budget) as tight:
            assert [tight.get(url).json() for url in URLS] == expected
            assert analyzer.cache_used_bytes() <= budget
    assert highlight._locators.used <= highlight.LOCATOR_CACHE_BYTES


def test_the_word_cache_counts_what_it_keeps() -> None:
    analyzer.set_cache_bytes(10_000)
    try:
        words = [f"форум{i}" for i in range(200)]
        assert [analyzer.normalize(w) for w in words] == [analyzer._term(w) for w in words]
        # Full, it started over: it keeps some pairs, never more than the budget.
        assert 0 < analyzer.cache_used_bytes() <= 10_000
        assert 0 < len(analyzer._terms) < len(words)
    finally:
        analyzer.set_cache_bytes(analyzer.CACHE_BYTES)
