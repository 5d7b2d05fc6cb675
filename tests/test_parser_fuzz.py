"""The parser and the ingest under hypothesis: arbitrary bytes and mutated valid articles
never crash them; each file either loads or is rejected with a reason."""

from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, func, select, text

from app.databases import database_for
from app.databases.postgres import PG_TSVECTOR_BUDGET
from app.ingest import parser
from app.ingest.loader import ingest_paths
from app.ingest.parser import ParsedArticle, ParseError, parse_article
from app.models import Article, Author, Source
from tests.conftest import TABLES
from tests.factories import article_text, write_article

FUZZ = settings(max_examples=400, deadline=None, derandomize=True)


def check_parse(data: bytes) -> ParsedArticle | None:
    """Parse data; the only failure allowed is ParseError, with a reason to report."""
    try:
        article = parse_article(data)
    except ParseError as exc:
        assert str(exc).strip()
        return None
    # What the ingest and the database will need of it holds too.
    assert article.title and article.url
    assert article.published_at.astimezone(UTC).tzinfo is UTC
    assert len(article.url) <= parser.MAX_URL_CHARS
    assert len(article.source_name) <= parser.MAX_NAME_CHARS
    assert len(article.source_domain) <= parser.MAX_DOMAIN_CHARS
    assert all(0 < len(name) <= parser.MAX_NAME_CHARS for name in article.authors)
    assert "\x00" not in article.body + article.title
    article.content_hash()
    for dialect in ("sqlite", "postgresql"):
        database_for(dialect).index_entry(article.title, article.body)
    return article


@FUZZ
@given(st.binary(max_size=2000))
def test_arbitrary_bytes(data: bytes) -> None:
    check_parse(data)


OFFSETS = st.integers(min_value=-23 * 60 - 59, max_value=23 * 60 + 59).map(
    lambda minutes: timezone(timedelta(minutes=minutes))
)
# The calendar's edges get their own share: an instant near them may have no UTC form.
EDGES = st.one_of(
    st.datetimes(max_value=datetime(1, 1, 2)), st.datetimes(min_value=datetime(9999, 12, 30))
)
DATES = st.one_of(
    st.datetimes(timezones=OFFSETS).map(datetime.isoformat),
    EDGES.flatmap(lambda d: OFFSETS.map(lambda tz: d.replace(tzinfo=tz).isoformat())),
    st.dates().map(str),
    st.text(max_size=30),
)
CHARS = st.characters(exclude_categories=("Cs",), exclude_characters="\n\r")
LINE = st.text(CHARS, min_size=1, max_size=60)
# Names and URLs just under and over the widths of their columns.
LONG = st.integers(480, 520).map(lambda n: "я" * n)
NAMES = st.one_of(LINE, LINE, LINE, LONG)
URLS = st.one_of(
    st.builds("https://{}.ru/{}".format, st.text("abc.-", min_size=1), LINE),
    st.builds("https://{}.ru/".format, st.integers(240, 260).map("d".__mul__)),
    st.integers(2030, 2060).map(lambda n: "https://long.ru/" + "p" * (n - 16)),
    st.text(CHARS, max_size=80).map("http://".__add__),
    LINE,
)
ARTICLES = st.builds(
    article_text,
    title=LINE,
    published=st.one_of(st.none(), DATES),
    authors=st.one_of(st.none(), st.lists(NAMES, max_size=3)),
    source=st.one_of(st.none(), NAMES),
    url=URLS,
    paragraphs=st.lists(
        st.text(st.characters(exclude_categories=("Cs",)), max_size=200), max_size=5
    ),
    photo=st.one_of(st.none(), LINE),
).map(str.encode)


@st.composite
def mutated(draw: st.DrawFn) -> bytes:
    """A valid-looking article, then a few byte-level edits: flips, inserts, cuts, repeats."""
    data = bytearray(draw(ARTICLES))
    for _ in range(draw(st.integers(0, 4))):
        at = draw(st.integers(0, len(data)))
        edit = draw(st.sampled_from(["flip", "insert", "delete", "repeat", "truncate"]))
        if edit == "flip" and at < len(data):
            data[at] ^= 1 << draw(st.integers(0, 7))
        elif edit == "insert":
            data[at:at] = draw(
                st.one_of(
                    st.binary(max_size=8),
                    st.sampled_from([b"\r", b"\n", b"**", b"# ", b"\xef\xbb\xbf", b"\xc0\xaf"]),
                )
            )
        elif edit == "delete":
            del data[at : at + draw(st.integers(1, 20))]
        elif edit == "repeat":
            data[at:at] = data[at : at + draw(st.integers(1, 80))]
        else:
            del data[at:]
    return bytes(data)


@FUZZ
@given(mutated())
def test_mutated_articles(data: bytes) -> None:
    check_parse(data)


@FUZZ
@given(ARTICLES)
def test_generated_articles_round_trip(data: bytes) -> None:
    article = check_parse(data)
    if article is not None:
        # Parsing is stable: the same bytes, the same article (and so the same hash).
        assert parse_article(data).content_hash() == article.content_hash()


def test_column_widths_match_the_parser_limits() -> None:
    assert Article.__table__.c.url.type.length == parser.MAX_URL_CHARS  # type: ignore[attr-defined]
    assert Source.__table__.c.name.type.length == parser.MAX_NAME_CHARS  # type: ignore[attr-defined]
    assert Source.__table__.c.domain.type.length == parser.MAX_DOMAIN_CHARS  # type: ignore[attr-defined]
    assert Author.__table__.c.name.type.length == parser.MAX_NAME_CHARS  # type: ignore[attr-defined]


# Each of these once crashed the ingest (an OverflowError, a ValueError, or a PostgreSQL
# error that failed the whole batch); now each is rejected alone, with its reason.
REJECTED = {
    "early.txt": dict(published="0001-01-01T00:00:00+05:00"),
    "late.txt": dict(published="9999-12-31T23:59:00-05:00"),
    "long_url.txt": dict(url="https://a.ru/" + "x" * 2100),
    "long_source.txt": dict(source="И" * 501),
    "long_author.txt": dict(authors=["А" * 501]),
    "long_domain.txt": dict(url="https://" + "a" * 300 + ".ru/1"),
    "ipv6.txt": dict(url="http://[::1/1"),
}


def test_edge_files_are_rejected_alone(engine: Engine, corpus: Path) -> None:
    for name, fields in REJECTED.items():
        write_article(corpus, name, **fields)
    write_article(corpus, "good.txt", url="https://good.ru/1")
    # A body of 120,000 distinct words: more than a PostgreSQL tsvector holds.
    words = [f"слово{i}x{i * 7919 % 100003}" for i in range(120_000)]
    paragraphs = [" ".join(words[i : i + 1000]) for i in range(0, len(words), 1000)]
    write_article(corpus, "huge.txt", url="https://huge.ru/1", paragraphs=paragraphs)
    report = ingest_paths(engine, [corpus])
    assert sorted(Path(path).name for path, _ in report.rejected) == sorted(REJECTED)
    assert all(reason for _, reason in report.rejected)
    assert report.inserted == 2
    with engine.connect() as conn:
        assert conn.scalar(select(func.count()).select_from(Article)) == 2
    assert (
        len(database_for("postgresql").index_entry("t", " ".join(words))[0])
        < 2 * PG_TSVECTOR_BUDGET
    )


def _empty(engine: Engine) -> None:
    with engine.begin() as conn:
        for table in TABLES:
            conn.execute(text(f"DELETE FROM {table}"))


@settings(
    max_examples=15,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(files=st.lists(st.one_of(mutated(), ARTICLES, st.binary(max_size=300)), max_size=8))
def test_ingest_loads_or_rejects_every_file(
    engine: Engine, tmp_path_factory: pytest.TempPathFactory, files: list[bytes]
) -> None:
    _empty(engine)
    folder = tmp_path_factory.mktemp("fuzzed")
    for i, data in enumerate(files):
        (folder / f"{i:03d}.txt").write_bytes(data)
    report = ingest_paths(engine, [folder])
    assert report.read == len(files)
    rejected = {Path(path).name for path, _ in report.rejected}
    assert all(reason for _, reason in report.rejected)
    expected_urls = set()
    for i, data in enumerate(files):
        article = check_parse(data)
        assert (article is None) == (f"{i:03d}.txt" in rejected)
        if article is not None:
            expected_urls.add(article.url)
    with engine.connect() as conn:
        stored = set(conn.scalars(select(Article.url)))
    assert stored == expected_urls
    assert report.inserted + report.updated + report.unchanged + len(rejected) == len(files)
