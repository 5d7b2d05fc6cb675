"""Injection and escaping: hostile text in every text parameter, and article text that
tries to break out of the JSON and of the highlights' HTML."""

import html
import re
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from fastapi.testclient import TestClient
from hypothesis import given, settings
from hypothesis import strategies as st

from app.search.highlight import highlight_snippet, highlight_title
from app.search.query import QueryError, parse_query
from tests.factories import write_article

HOSTILE = [
    "' OR '1'='1",
    "'; DROP TABLE articles; --",
    '" OR ""="',
    "1) OR (1=1",
    "\\",
    "%",
    "_",
    "%_%\\%",
    "форум*",
    "NEAR(форум омск)",
    "title:форум",
    "{title body}: форум",
    "^форум",
    "форум:*",
    "!форум & омск | (x <-> y)",
    "'форум':A",
    '"',
    '"""',
    "-",
    "OR",
    "AND NOT OR",
    "\x00",
    "форум\x00омск",
    "\x01\x02\x1b[31m",
    "\u202eevil\u202c",
    "مرحبا",
    "е\u0301",
    "Z\u0351\u0352\u0353\u0354\u0355\u0356",
    "\ufeff\u200b\u200d",
    "😀\U0010ffff",
    "<script>alert(1)</script>",
]
# Raw query-string bytes: overlong UTF-8 ("/" and "." as two bytes), an encoded surrogate,
# a lone continuation byte; the server must decode them leniently, never crash.
RAW = ["%C0%AF", "%C0%AE%C0%AE%2F", "%ED%A0%80", "%80", "%F4%90%80%80", "%"]
TEXT_PARAMS = [
    ("/api/v1/articles", "q"),
    ("/api/v1/articles", "author"),
    ("/api/v1/articles", "source"),
    ("/api/v1/articles", "language"),
    ("/api/v1/articles", "from"),
    ("/api/v1/articles", "to"),
    ("/api/v1/articles", "cursor"),
    ("/api/v1/articles", "sort"),
    ("/api/v1/articles/facets", "q"),
    ("/api/v1/articles/facets", "author"),
    ("/api/v1/articles/facets", "interval"),
    ("/api/v1/authors", "q"),
    ("/api/v1/authors", "source"),
    ("/api/v1/authors", "cursor"),
]


@pytest.fixture
def hostile_archive(client: TestClient, corpus: Path, ingest) -> TestClient:  # type: ignore[no-untyped-def]
    write_article(corpus, "plain.txt", title="Форум в Омске", url="https://a.ru/1")
    write_article(
        corpus,
        "html.txt",
        title='<script>alert("x")</script> форум & <b>Омск</b>',
        authors=["O'Brien", 'Иван "Ваня" <i>Петров</i>'],
        source="<img src=x onerror=alert(1)>",
        url="https://b.ru/2?a=1&b='<2>'",
        paragraphs=[
            "Форум <script>document.cookie</script> & \"кавычки\" 'апостроф'",
            "</mark><mark>форум</mark> &amp; &lt;",
        ],
    )
    write_article(
        corpus,
        "rtl.txt",
        title="مرحبا форум \u202eevil\u202c е\u0301",
        authors=["Z\u0351\u0352o"],
        url="https://c.ru/3",
        paragraphs=["\ufeffзеро\u200bширина форум 😀"],
    )
    assert not ingest(corpus).rejected
    return client


def _assert_answered(response: Any, path: str, param: str) -> None:
    assert response.status_code in (200, 400), (path, param, response.status_code, response.text)
    if response.status_code == 400:
        assert response.headers["content-type"] == "application/problem+json"
        assert param in [e["name"] for e in response.json()["errors"]]
    else:
        assert response.headers["content-type"] == "application/json"
        response.json()


@pytest.mark.parametrize(("path", "param"), TEXT_PARAMS)
def test_hostile_text_in_every_parameter(
    hostile_archive: TestClient, path: str, param: str
) -> None:
    for value in HOSTILE:
        response = hostile_archive.get(path, params={param: value})
        _assert_answered(response, path, param)
        if "\x00" in value:
            assert response.status_code == 400, (path, param, value)
    for raw in RAW:
        _assert_answered(hostile_archive.get(f"{path}?{param}={raw}"), path, param)
    # Nothing was injected: the archive is whole and unfiltered listings see all of it.
    assert hostile_archive.get("/api/v1/articles").json()["total"] == 3


@pytest.mark.parametrize(
    "value",
    ["' OR '1'='1", "%", "_", "%' OR name LIKE '%", "\\", "*"],
)
def test_sql_metacharacters_match_literally(hostile_archive: TestClient, value: str) -> None:
    for param in ("author", "source"):
        body = hostile_archive.get("/api/v1/articles", params={param: value}).json()
        assert body["total"] == 0, (param, value)
    assert hostile_archive.get("/api/v1/authors", params={"q": value}).json()["total"] == 0


def test_names_with_quotes_and_markup_are_found_exactly(hostile_archive: TestClient) -> None:
    for author in ("O'Brien", 'Иван "Ваня" <i>Петров</i>'):
        body = hostile_archive.get("/api/v1/articles", params={"author": author}).json()
        assert body["total"] == 1, author
        assert author in [a["name"] for a in body["items"][0]["authors"]]
    source = "<img src=x onerror=alert(1)>"
    assert hostile_archive.get("/api/v1/articles", params={"source": source}).json()["total"] == 1


def test_fts_operators_are_words_not_syntax(hostile_archive: TestClient) -> None:
    # Each of these, read as FTS5 or tsquery syntax, would match differently or fail;
    # read as a search box, each is the word форум.
    plain = hostile_archive.get("/api/v1/articles", params={"q": "форум"}).json()
    assert plain["total"] == 3
    for q in ("форум*", "форум:*", "^форум", "'форум'", "{форум}", "!форум"):
        body = hostile_archive.get("/api/v1/articles", params={"q": q}).json()
        assert body["total"] == plain["total"], q


def test_json_round_trips_unusual_text(hostile_archive: TestClient) -> None:
    items = hostile_archive.get("/api/v1/articles", params={"q": "форум"}).json()["items"]
    titles = {item["title"] for item in items}
    assert "مرحبا форум \u202eevil\u202c е\u0301" in titles
    assert '<script>alert("x")</script> форум & <b>Омск</b>' in titles
    rtl = next(i for i in items if i["url"] == "https://c.ru/3")
    article = hostile_archive.get(f"/api/v1/articles/{rtl['id']}").json()
    assert article["body"] == "\ufeffзеро\u200bширина форум 😀"
    assert article["authors"][0]["name"] == "Z\u0351\u0352o"


MARK = re.compile(r"</?mark>")


def _unmarked(highlight: str) -> str:
    """The highlight without its <mark> tags: only escaped text may remain."""
    plain = MARK.sub("", highlight)
    assert "<" not in plain and ">" not in plain, highlight
    return html.unescape(plain)


def test_highlights_never_carry_article_html(hostile_archive: TestClient) -> None:
    for q in ("форум", "script", "mark", "омск", "b", "amp lt"):
        body = hostile_archive.get("/api/v1/articles", params={"q": q}).json()
        for item in body["items"]:
            title = item["highlight"]["title"]
            assert _unmarked(title) == item["title"], (q, title)
            snippet = _unmarked(item["highlight"]["snippet"]).strip("…")
            assert "<script>" not in item["highlight"]["snippet"]
            full = hostile_archive.get(f"/api/v1/articles/{item['id']}").json()["body"]
            assert snippet in " ".join(full.split("\n\n")), (q, snippet)
    body = hostile_archive.get("/api/v1/articles", params={"q": "script"}).json()
    [item] = body["items"]
    assert item["highlight"]["title"].startswith("&lt;<mark>script</mark>&gt;")


WORDS = st.sampled_from(["форум", "Омск", "script", "mark", "amp", "b", "lt", "ёлка"])
TEXT = st.lists(
    st.one_of(WORDS, st.text(max_size=8), st.sampled_from(["<", ">", "&", '"', "'", "</mark>"])),
    max_size=40,
).map(" ".join)


@settings(max_examples=300, deadline=None, derandomize=True)
@given(text=TEXT, query=st.lists(WORDS, min_size=1, max_size=3))
def test_highlight_is_the_escaped_text_with_marks(text: str, query: list[str]) -> None:
    try:
        wanted = parse_query(" ".join(query)).positive_terms
    except QueryError:
        return
    assert _unmarked(highlight_title(text, wanted)) == text
    snippet = _unmarked(highlight_snippet(text, wanted))
    assert snippet.strip("…") in " ".join(text.split("\n\n"))


def test_percent_encoded_names_are_not_decoded_twice(hostile_archive: TestClient) -> None:
    # %27 arrives as a literal "%27" name, not as a quote.
    once = quote("%27 OR 1=1", safe="")
    response = hostile_archive.get(f"/api/v1/articles?author={once}")
    assert response.status_code == 200
    assert response.json()["total"] == 0
