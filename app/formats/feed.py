"""The newest articles as an Atom 1.0 (RFC 4287) or RSS 2.0 feed, made with feedgen.

An entry's id is the article's URL (the archive's key for an article: stable across
re-ingests and databases), its link the original article, its summary the excerpt, its
authors the byline and its source the outlet. published is the publisher's stated time,
with their offset; updated is the same, or the time a later ingest changed the article.
RSS carries the byline as dc:creator, since its own author element needs an e-mail.
"""

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from feedgen.feed import FeedGenerator

from app.schemas import ArticleRecord

FeedKind = Literal["atom", "rss"]
MEDIA_TYPES: dict[FeedKind, str] = {
    "atom": "application/atom+xml; charset=utf-8",
    "rss": "application/rss+xml; charset=utf-8",
}
# Characters XML 1.0 cannot carry at all (lxml refuses them): C0 controls but tab, LF and
# CR, lone surrogates, U+FFFE and U+FFFF.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


@dataclass
class FeedInfo:
    id: str  # the feed's own URL
    title: str
    description: str
    self_url: str
    alternate_url: str  # the same articles as JSON
    updated: datetime  # when there are no entries to take it from


def _text(value: str) -> str:
    return _NOT_XML.sub("", value)


def entry_updated(item: ArticleRecord) -> datetime:
    if item.updated_at > item.ingested_at:  # changed by a later ingest
        return item.updated_at.astimezone(item.published_at.tzinfo)
    return item.published_at


def render(kind: FeedKind, info: FeedInfo, items: Sequence[ArticleRecord]) -> bytes:
    """The feed document; items newest first."""
    feed = FeedGenerator()
    if kind == "rss":
        feed.load_extension("dc")
    feed.id(_text(info.id))
    feed.title(_text(info.title))
    feed.subtitle(_text(info.description))  # RSS: the channel's description
    feed.author({"name": "News archive"})  # for entries without a byline
    feed.link(href=info.self_url, rel="self", type=MEDIA_TYPES[kind].split(";")[0])
    # Last: feedgen makes the last link the RSS channel's <link>.
    feed.link(href=info.alternate_url, rel="alternate", type="application/json")
    feed.generator("news-archive")
    updates = [entry_updated(item) for item in items]
    feed.updated(max(updates, default=info.updated))
    for item, updated in zip(items, updates, strict=True):
        entry = feed.add_entry(order="append")
        entry.id(_text(item.url))
        entry.guid(_text(item.url), permalink=True)
        entry.title(_text(item.title))
        entry.link(href=_text(item.url), rel="alternate")
        entry.published(item.published_at)
        entry.updated(updated)
        for author in item.authors:
            entry.author({"name": _text(author.name)})
            if kind == "rss":
                entry.dc.dc_creator(_text(author.name), replace=False)
        source = item.source
        entry.source(url=f"https://{source.domain}/", title=_text(source.name))
        entry.summary(_text(item.excerpt))
    document: bytes = feed.atom_str() if kind == "atom" else feed.rss_str()
    return document
