"""Parse one article file of the seeds/ format into a record. Pure: no database, no I/O.

The layout, line by line (blank lines between header lines are optional)::

    # <title>
    Published at: **<ISO 8601 timestamp with offset>**
    Author: **<name>[, <name>…]**          (optional)
    Original: [<source name>](<article URL>)
    <body: one paragraph per non-blank line, often indented>
    Фото: <photo credit>                   (optional, last paragraph)
"""

import hashlib
import json
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from urllib.parse import urlsplit

EXCERPT_CHARS = 300
PHOTO_PREFIX = "Фото:"
# The widths of the columns these go into (app.models): longer would fail the whole batch
# on PostgreSQL, so such a file is rejected on its own instead.
MAX_URL_CHARS = 2048
MAX_NAME_CHARS = 500
MAX_DOMAIN_CHARS = 255

_PUBLISHED = re.compile(r"^Published at:\s*\*\*(?P<value>.*?)\*\*\s*$")
_AUTHOR = re.compile(r"^Author:\s*\*\*(?P<value>.*?)\*\*\s*$")
_ORIGINAL = re.compile(r"^Original:\s*\[(?P<name>.*)\]\((?P<url>.*)\)\s*$")
_WORD = re.compile(r"\w+(?:[-'’]\w+)*")
# Letters are counted on UTF-8 bytes with bytes.translate, at C speed: U+0400–U+04FF
# (Cyrillic) are exactly the characters whose lead byte is D0–D3, and a lead byte never
# occurs inside another character.
_NOT_CYRILLIC_LEAD = bytes(b for b in range(256) if not 0xD0 <= b <= 0xD3)
_NOT_LATIN = bytes(b for b in range(256) if not (chr(b).isascii() and chr(b).isalpha()))


class ParseError(ValueError):
    """The file is not an article; the message says why, for `FILE: reason` reports."""


@dataclass(frozen=True)
class ParsedArticle:
    title: str
    published_at: datetime  # aware, with the publisher's own offset
    authors: list[str]
    source_name: str
    source_domain: str
    url: str
    paragraphs: list[str]
    photo_credit: str | None
    language: str = field(init=False)
    word_count: int = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "language", detect_language(self.title, self.paragraphs))
        object.__setattr__(self, "word_count", sum(count_words(p) for p in self.paragraphs))

    @property
    def body(self) -> str:
        return "\n\n".join(self.paragraphs)

    @property
    def excerpt(self) -> str:
        return make_excerpt(" ".join(self.paragraphs))

    @property
    def offset_minutes(self) -> int:
        offset = self.published_at.utcoffset()
        assert offset is not None
        return int(offset.total_seconds()) // 60

    def content_hash(self) -> str:
        """A digest of everything the file says, to skip rewriting unchanged articles."""
        data = [
            self.title,
            self.published_at.isoformat(),
            self.authors,
            self.source_name,
            self.source_domain,
            self.url,
            self.paragraphs,
            self.photo_credit,
        ]
        raw = json.dumps(data, ensure_ascii=False)
        return hashlib.sha256(raw.encode()).hexdigest()


def count_words(text: str) -> int:
    return len(_WORD.findall(text))


def detect_language(title: str, paragraphs: list[str]) -> str:
    """ru, en or other, by which script most letters are in."""
    sample = (title + " " + " ".join(paragraphs[:5]))[:2000].encode()
    cyrillic = len(sample.translate(None, _NOT_CYRILLIC_LEAD))
    latin = len(sample.translate(None, _NOT_LATIN))
    if cyrillic == 0 and latin == 0:
        return "other"
    return "ru" if cyrillic >= latin else "en"


def make_excerpt(text: str, limit: int = EXCERPT_CHARS) -> str:
    """The first ~limit characters, cut at a word boundary, with an ellipsis if cut."""
    if len(text) <= limit:
        return text
    cut = text[:limit]
    space = cut.rfind(" ")
    if space > limit // 2:
        cut = cut[:space]
    return cut.rstrip(" ,;:—-–") + "…"


def parse_datetime(value: str) -> datetime:
    """ISO 8601 with offset, to the second; a timestamp without offset is taken as UTC."""
    text = value.strip()
    if not text:
        raise ParseError("empty 'Published at' date")
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise ParseError(f"unparseable date {text[:60]!r} in 'Published at'") from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    # Kept to the second: the search index orders articles by a key of whole seconds
    # (app.search.keys), and news are stamped to the minute anyway.
    parsed = parsed.replace(microsecond=0)
    try:
        # Stored in UTC: an instant that has none (0001-01-01T00:00+05:00) cannot be kept.
        parsed.astimezone(UTC)
    except OverflowError:
        raise ParseError(f"date {text[:60]!r} in 'Published at' is out of range") from None
    return parsed


def source_domain(url: str) -> str:
    invalid = ParseError(f"invalid article URL {url[:100]!r} in 'Original'")
    if len(url) > MAX_URL_CHARS:
        raise ParseError(f"article URL longer than {MAX_URL_CHARS} characters in 'Original'")
    try:
        parts = urlsplit(url)
        host = (parts.hostname or "").lower()
    except ValueError:  # such as an unclosed IPv6 bracket
        raise invalid from None
    if parts.scheme not in ("http", "https") or not host or "." not in host:
        raise invalid
    domain = host.removeprefix("www.")
    if len(domain) > MAX_DOMAIN_CHARS:
        raise ParseError(f"domain longer than {MAX_DOMAIN_CHARS} characters in 'Original'")
    return domain


def decode(data: bytes) -> str:
    if b"\x00" in data:
        raise ParseError("binary file (contains NUL bytes)")
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ParseError(f"not UTF-8 (invalid byte at offset {exc.start})") from None
    if not text.strip():
        raise ParseError("empty file")
    return text


def parse_article(data: bytes) -> ParsedArticle:
    """Parse the bytes of one file, or raise ParseError naming what is wrong."""
    lines = [line.rstrip() for line in decode(data).replace("\r\n", "\n").split("\n")]
    lines = [line.replace("\r", "") for line in lines]
    pos = 0
    while pos < len(lines) and not lines[pos].strip():
        pos += 1
    first = lines[pos].strip()
    if not first.startswith("#") or first.startswith("##"):
        raise ParseError("no title: the first line must be '# <title>'")
    title = first.lstrip("#").strip()
    if not title:
        raise ParseError("empty title")
    pos += 1

    published: datetime | None = None
    authors: list[str] = []
    original: re.Match[str] | None = None
    while pos < len(lines) and original is None:
        line = lines[pos].strip()
        pos += 1
        if not line:
            continue
        if match := _PUBLISHED.match(line):
            published = parse_datetime(match["value"])
        elif match := _AUTHOR.match(line):
            authors = split_authors(match["value"])
        elif match := _ORIGINAL.match(line):
            original = match
        elif line.startswith(("Published at:", "Original:")):
            raise ParseError(f"malformed header line {line[:80]!r}")
        else:
            break
    if published is None:
        raise ParseError("no 'Published at: **<date>**' line")
    if original is None:
        raise ParseError("no 'Original: [<source>](<url>)' line")

    url = original["url"].strip()
    domain = source_domain(url)
    source_name = original["name"].strip() or domain
    if len(source_name) > MAX_NAME_CHARS:
        raise ParseError(f"source name longer than {MAX_NAME_CHARS} characters in 'Original'")
    if any(len(name) > MAX_NAME_CHARS for name in authors):
        raise ParseError(f"author name longer than {MAX_NAME_CHARS} characters in 'Author'")

    paragraphs = [line.strip() for line in lines[pos:] if line.strip()]
    photo_credit = None
    if paragraphs and paragraphs[-1].startswith(PHOTO_PREFIX):
        photo_credit = paragraphs.pop()[len(PHOTO_PREFIX) :].strip() or None

    return ParsedArticle(
        title=title,
        published_at=published,
        authors=authors,
        source_name=source_name,
        source_domain=domain,
        url=url,
        paragraphs=paragraphs,
        photo_credit=photo_credit,
    )


def split_authors(value: str) -> list[str]:
    names: list[str] = []
    for name in value.split(","):
        name = " ".join(name.split())
        if name and name not in names:
            names.append(name)
    return names
