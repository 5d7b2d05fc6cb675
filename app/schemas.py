"""Pydantic models of the API's responses (the public contract; see /docs)."""

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, PlainSerializer, WithJsonSchema

# RFC 3339 with the offset the value carries (pydantic would turn +00:00 into "Z";
# we show the publisher's own spelling of the offset).
Timestamp = Annotated[
    datetime,
    PlainSerializer(lambda value: value.isoformat(), return_type=str),
    WithJsonSchema({"type": "string", "format": "date-time"}),
]

Language = Literal["ru", "en", "other"]


class SourceRef(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int = Field(examples=[1])
    name: str = Field(examples=["ФедералПресс"])
    domain: str = Field(examples=["fedpress.ru"])


class AuthorRef(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int = Field(examples=[1])
    name: str = Field(examples=["Екатерина Сумина"])


def _fields_may_be_left_out(schema: dict[str, Any]) -> None:
    schema.pop("required", None)
    schema["description"] = (
        "Every field is present unless the request's `fields` parameter names only some."
    )


class ArticleItem(BaseModel):
    # `fields=` trims articles, so the schema lists every property but requires none.
    model_config = ConfigDict(json_schema_extra=_fields_may_be_left_out)

    id: int = Field(examples=[1])
    url: str = Field(examples=["https://fedpress.ru/news/55/economy/2359002"])
    title: str = Field(examples=["В Омске стартовал российско-казахстанский форум"])
    published_at: Timestamp = Field(
        description="RFC 3339, in the publisher's own UTC offset.",
        examples=["2019-11-06T12:26:00+03:00"],
    )
    authors: list[AuthorRef] = Field(description="In byline order; may be empty.")
    source: SourceRef
    language: Language = Field(examples=["ru"])
    word_count: int = Field(examples=[273])
    excerpt: str = Field(
        description="The first ~300 characters of the body, cut at a word boundary.",
        examples=["ОМСК, 6 ноября, ФедералПресс. В Омске открылся форум…"],
    )


class Highlight(BaseModel):
    title: str = Field(
        description="The title, HTML-escaped, matched words in <mark>.",
        examples=["<mark>Форум</mark> в Омске"],
    )
    snippet: str = Field(
        description="About 30 words of the body around the best match, HTML-escaped, "
        "matched words in <mark>.",
        examples=[
            "…В Омске открылся <mark>форум</mark> сотрудничества России и <mark>Казахстана</mark>…"
        ],
    )


class ArticleListItem(ArticleItem):
    highlight: Highlight | None = Field(
        default=None, description="Present when the listing is a search (`q`)."
    )


class Article(ArticleItem):
    body: str = Field(description="Paragraphs joined by a blank line.")
    paragraphs: list[str]
    photo_credit: str | None = Field(examples=["пресс-служба правительства Омской области"])
    ingested_at: Timestamp
    updated_at: Timestamp


class ArticlePage(BaseModel):
    items: list[ArticleListItem]
    total: int = Field(description="Articles matching the filters, over all pages.")
    limit: int = Field(examples=[20])
    next_cursor: str | None = Field(
        description="Pass as `cursor` for the next page; null on the last page."
    )


class SourceStats(SourceRef):
    article_count: int = Field(examples=[144])
    first_published_at: Timestamp | None = Field(examples=["2019-11-01T12:00:00+00:00"])
    last_published_at: Timestamp | None = Field(examples=["2019-11-18T23:59:00+00:00"])


class SourceList(BaseModel):
    items: list[SourceStats]
    total: int


class AuthorStats(AuthorRef):
    article_count: int = Field(examples=[12])


class AuthorPage(BaseModel):
    items: list[AuthorStats]
    total: int
    limit: int
    next_cursor: str | None


class Health(BaseModel):
    status: Literal["ok"] = "ok"
    database: Literal["ok"] = "ok"


class SourceCount(SourceRef):
    count: int = Field(examples=[12])


class AuthorCount(AuthorRef):
    count: int = Field(examples=[3])


class LanguageCount(BaseModel):
    value: Language
    count: int = Field(examples=[120])


class Bucket(BaseModel):
    start: Timestamp = Field(
        description="Start of the UTC day, week (Monday), month or year.",
        examples=["2019-11-01T00:00:00+00:00"],
    )
    count: int = Field(examples=[42])


class Histogram(BaseModel):
    interval: Literal["day", "week", "month", "year"]
    buckets: list[Bucket] = Field(description="Oldest first; empty buckets are left out.")


class Facets(BaseModel):
    total: int = Field(description="Articles matching the filters (and q).")
    sources: list[SourceCount] = Field(description="Top sources by count (facet_limit).")
    authors: list[AuthorCount] = Field(description="Top authors by count (facet_limit).")
    languages: list[LanguageCount]
    published_at: Histogram
