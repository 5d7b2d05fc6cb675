"""The article file format, parsed exactly (no database)."""

from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

from app.ingest.parser import ParseError, make_excerpt, parse_article
from tests.factories import article_text

REFERENCE = Path(__file__).resolve().parent.parent / "seeds" / "000_1062a2f1da82aa94.txt"


def test_reference_article_field_by_field() -> None:
    article = parse_article(REFERENCE.read_bytes())
    assert article.title == (
        "«Важна кооперация с предприятиями Казахстана». "
        "В Омске стартовал российско-казахстанский форум"
    )
    assert article.published_at == datetime(2019, 11, 6, 9, 26, tzinfo=UTC)
    assert article.published_at.isoformat() == "2019-11-06T09:26:00+00:00"
    assert article.authors == ["Екатерина Сумина"]
    assert article.source_name == "ФедералПресс"
    assert article.source_domain == "fedpress.ru"
    assert article.url == "https://fedpress.ru/news/55/economy/2359002"
    assert len(article.paragraphs) == 9
    assert article.paragraphs[0].startswith("ОМСК, 6 ноября, ФедералПресс. В Омске открылся")
    assert article.paragraphs[-1].startswith("Ранее «ФедералПресс» сообщал")
    assert all(p == p.strip() and p for p in article.paragraphs)
    assert article.photo_credit == "пресс-служба правительства Омской области"
    assert "Фото" not in article.body
    assert article.body == "\n\n".join(article.paragraphs)
    assert article.language == "ru"
    assert 250 < article.word_count < 300


def test_crlf_bom_and_trailing_spaces_parse_the_same() -> None:
    plain = parse_article(REFERENCE.read_bytes())
    text = REFERENCE.read_text(encoding="utf-8")
    variant = "\ufeff" + "\r\n".join(line + "   " for line in text.split("\n"))
    assert parse_article(variant.encode("utf-8")) == plain


def test_several_authors_in_byline_order_and_no_author() -> None:
    several = parse_article(article_text(authors=["Анна Петрова", "Иван Сидоров"]).encode())
    assert several.authors == ["Анна Петрова", "Иван Сидоров"]
    assert parse_article(article_text(authors=None).encode()).authors == []


def test_offset_is_kept() -> None:
    article = parse_article(article_text(published="2019-11-07T02:59:00+03:00").encode())
    assert article.published_at.utcoffset() == timedelta(hours=3)
    assert article.published_at.astimezone(UTC) == datetime(2019, 11, 6, 23, 59, tzinfo=UTC)
    assert article.offset_minutes == 180
    assert article.published_at.tzinfo == timezone(timedelta(hours=3))


def test_language_by_script() -> None:
    english = article_text(title="Markets rally", paragraphs=["Stocks rose on Monday."])
    assert parse_article(english.encode()).language == "en"
    assert parse_article(article_text(title="123", paragraphs=["42 %"]).encode()).language == (
        "other"
    )


def test_www_is_not_part_of_the_domain() -> None:
    article = parse_article(article_text(url="https://www.Example.com/a").encode())
    assert article.source_domain == "example.com"


def test_excerpt_cuts_at_a_word_boundary() -> None:
    text = "слово " * 100
    excerpt = make_excerpt(text.strip())
    assert len(excerpt) <= 301
    assert excerpt.endswith("слово…")
    assert make_excerpt("коротко") == "коротко"


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"", "empty file"),
        (b"   \n\n  ", "empty file"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "binary"),
        ("# Заголовок".encode("cp1251"), "not UTF-8"),
        (article_text(title="").encode(), "title"),
        (article_text().replace("# ", "", 1).encode(), "no title"),
        (article_text(published=None).encode(), "Published at"),
        (article_text(published="вчера вечером").encode(), "unparseable date"),
        (article_text(published="").encode(), "date"),
        (article_text(source=None).encode(), "Original"),
        (article_text(url="not a url").encode(), "invalid article URL"),
    ],
)
def test_bad_files_are_rejected_with_a_reason(data: bytes, reason: str) -> None:
    with pytest.raises(ParseError, match=reason):
        parse_article(data)
