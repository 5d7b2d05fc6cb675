"""What the API answers: typed rows, from the queries through the formats to the client.

Each shape is a plain dataclass. The query functions (app.queries) build them from their
rows, the exports and feeds (app.formats) read their attributes, the routes send them as
JSON, and FastAPI documents them in the OpenAPI schema (the `Field` annotations give the
descriptions and examples). One class per idea: a renamed field is a type error
everywhere it is used, not a silently missing dict key.
"""

from dataclasses import dataclass, field
from datetime import datetime
from typing import Annotated, Any, Literal, get_args

from pydantic import ConfigDict, Field, PlainSerializer, TypeAdapter, WithJsonSchema

from app.stories.topics import CATEGORIES

# RFC 3339 with the offset the value carries (pydantic would turn +00:00 into "Z";
# we show the publisher's own spelling of the offset).
Timestamp = Annotated[
    datetime,
    PlainSerializer(lambda value: value.isoformat(), return_type=str),
    WithJsonSchema({"type": "string", "format": "date-time"}),
]

Language = Literal["ru", "en", "other"]
# app.stories.topics.CATEGORIES, spelled out for the type checker (checked below).
Category = Literal[
    "society", "economy", "technology", "sports", "entertainment", "science", "other"
]
assert get_args(Category) == CATEGORIES
Interval = Literal["day", "week", "month", "year"]


@dataclass(slots=True)
class SourceRef:
    id: Annotated[int, Field(examples=[1])]
    name: Annotated[str, Field(examples=["ФедералПресс"])]
    domain: Annotated[str, Field(examples=["fedpress.ru"])]


@dataclass(slots=True)
class AuthorRef:
    id: Annotated[int, Field(examples=[1])]
    name: Annotated[str, Field(examples=["Екатерина Сумина"])]


def _fields_may_be_left_out(schema: dict[str, Any]) -> None:
    schema.pop("required", None)
    schema["description"] = (
        "Every field is present unless the request's `fields` parameter names only some."
    )


# `fields=` trims articles, so their schemas list every property but require none.
_TRIMMABLE = ConfigDict(json_schema_extra=_fields_may_be_left_out)


@dataclass(slots=True)
class Highlight:
    title: Annotated[
        str,
        Field(
            description="The title, HTML-escaped, matched words in <mark>.",
            examples=["<mark>Форум</mark> в Омске"],
        ),
    ]
    snippet: Annotated[
        str,
        Field(
            description="About 30 words of the body around the best match, HTML-escaped, "
            "matched words in <mark>.",
            examples=[
                "…В Омске открылся <mark>форум</mark> сотрудничества России и "
                "<mark>Казахстана</mark>…"
            ],
        ),
    ]


@dataclass(slots=True)
class ArticleItem:
    """The fields every article answer has: a listing's item, an export's row."""

    __pydantic_config__ = _TRIMMABLE

    id: Annotated[int, Field(examples=[1])]
    url: Annotated[str, Field(examples=["https://fedpress.ru/news/55/economy/2359002"])]
    title: Annotated[str, Field(examples=["В Омске стартовал российско-казахстанский форум"])]
    published_at: Annotated[
        Timestamp,
        Field(
            description="RFC 3339, in the publisher's own UTC offset.",
            examples=["2019-11-06T12:26:00+03:00"],
        ),
    ]
    authors: Annotated[list[AuthorRef], Field(description="In byline order; may be empty.")]
    source: SourceRef
    language: Annotated[Language, Field(examples=["ru"])]
    word_count: Annotated[int, Field(examples=[273])]
    excerpt: Annotated[
        str,
        Field(
            description="The first ~300 characters of the body, cut at a word boundary.",
            examples=["ОМСК, 6 ноября, ФедералПресс. В Омске открылся форум…"],
        ),
    ]
    category: Annotated[
        Category,
        Field(description="What the article is about, decided at ingest.", examples=["economy"]),
    ]
    story_id: Annotated[
        int | None,
        Field(
            description="The story (GET /stories/{id}): the articles of every source that "
            "report the same event. Null only while the ingest has not yet assigned it.",
            examples=[1],
        ),
    ]


@dataclass(slots=True)
class ArticleListItem(ArticleItem):
    __pydantic_config__ = _TRIMMABLE

    highlight: Annotated[
        Highlight | None, Field(description="Present when the listing is a search (`q`).")
    ] = None


@dataclass(slots=True)
class ArticleRecord(ArticleItem):
    """An article's every field but `paragraphs`: an export's row, a feed's entry."""

    __pydantic_config__ = _TRIMMABLE

    body: Annotated[str, Field(description="Paragraphs joined by a blank line.")]
    photo_credit: Annotated[
        str | None, Field(examples=["пресс-служба правительства Омской области"])
    ]
    ingested_at: Timestamp
    updated_at: Timestamp


@dataclass(slots=True)
class Article(ArticleRecord):
    """One article with its full body (GET /articles/{id})."""

    __pydantic_config__ = _TRIMMABLE

    paragraphs: Annotated[list[str], Field(description="The body's paragraphs.")] = field(
        default_factory=list
    )


@dataclass(slots=True)
class ArticlePage:
    items: list[ArticleListItem]
    total: Annotated[
        int,
        Field(
            description="Articles matching the filters, over all pages: exact unless "
            "`total_exact` is false."
        ),
    ]
    total_exact: Annotated[
        bool,
        Field(
            description="false when `total` is an estimate: only for a search (`q`) "
            "combined with author, source or language filters, when counting would read "
            "more than 5,000 articles; the estimate scales the share found in the first "
            "5,000 to all of them. Every other total is exact."
        ),
    ]
    limit: Annotated[int, Field(examples=[20])]
    next_cursor: Annotated[
        str | None,
        Field(description="Pass as `cursor` for the next page; null on the last page."),
    ]


@dataclass(slots=True)
class Change:
    """An article's last change: its current fields, or a tombstone (`deleted`)."""

    id: Annotated[int, Field(description="The article's id.", examples=[1])]
    url: Annotated[str, Field(examples=["https://fedpress.ru/news/55/economy/2359002"])]
    deleted: Annotated[
        bool, Field(description="True: the article was removed from the archive (a tombstone).")
    ]
    article: Annotated[
        ArticleRecord | None,
        Field(
            description="The article as it is now (as /articles/{id} without `paragraphs`); "
            "null when deleted."
        ),
    ]


@dataclass(slots=True)
class ChangePage:
    items: Annotated[
        list[Change],
        Field(description="In commit order: each article once, at its last change."),
    ]
    next: Annotated[
        str,
        Field(
            description="Pass as `since` to get the changes after these; when `has_more` is "
            "false, poll with it later.",
            examples=["5f0c9e1a2b3d4c6e.1842"],
        ),
    ]
    has_more: Annotated[
        bool, Field(description="More changes are waiting past `next`: ask again at once.")
    ]


@dataclass(slots=True)
class SourceStats(SourceRef):
    article_count: Annotated[int, Field(examples=[144])]
    first_published_at: Annotated[Timestamp | None, Field(examples=["2019-11-01T12:00:00+00:00"])]
    last_published_at: Annotated[Timestamp | None, Field(examples=["2019-11-18T23:59:00+00:00"])]


@dataclass(slots=True)
class SourceList:
    items: list[SourceStats]
    total: int


@dataclass(slots=True)
class AuthorStats(AuthorRef):
    article_count: Annotated[int, Field(examples=[12])]


@dataclass(slots=True)
class AuthorPage:
    items: list[AuthorStats]
    total: int
    limit: int
    next_cursor: str | None


@dataclass(slots=True)
class DatabaseHealth:
    """One database the API uses, as the last check found it (DATABASE_URL is "primary",
    DATABASE_READ_URLS are "replica-1", … in their order)."""

    name: Annotated[str, Field(examples=["replica-1"])]
    role: Literal["primary", "replica"]
    status: Annotated[
        Literal["ok", "down", "lagging"],
        Field(description="lagging: further behind the primary than MAX_REPLICA_LAG_S."),
    ]
    reads: Annotated[bool, Field(description="Reads go to it now.")]
    lag_s: Annotated[
        float | None, Field(description="Replicas: seconds behind the primary.", examples=[0.0])
    ] = None


@dataclass(slots=True)
class Health:
    status: Literal["ok"] = "ok"
    database: Annotated[
        Literal["ok"], Field(description="The database that serves reads answers.")
    ] = "ok"
    databases: list[DatabaseHealth] = field(default_factory=list)


@dataclass(slots=True)
class SourceCount(SourceRef):
    count: Annotated[int, Field(examples=[12])]


@dataclass(slots=True)
class AuthorCount(AuthorRef):
    count: Annotated[int, Field(examples=[3])]


@dataclass(slots=True)
class LanguageCount:
    value: Language
    count: Annotated[int, Field(examples=[120])]


@dataclass(slots=True)
class Bucket:
    start: Annotated[
        Timestamp,
        Field(
            description="Start of the UTC day, week (Monday), month or year.",
            examples=["2019-11-01T00:00:00+00:00"],
        ),
    ]
    count: Annotated[int, Field(examples=[42])]


@dataclass(slots=True)
class Histogram:
    interval: Interval
    buckets: Annotated[list[Bucket], Field(description="Oldest first; empty buckets are left out.")]


@dataclass(slots=True)
class CategoryCount:
    value: Category
    count: Annotated[int, Field(examples=[120])]


@dataclass(slots=True)
class Facets:
    total: Annotated[int, Field(description="Articles matching the filters (and q).")]
    sources: Annotated[list[SourceCount], Field(description="Top sources by count (facet_limit).")]
    authors: Annotated[list[AuthorCount], Field(description="Top authors by count (facet_limit).")]
    languages: list[LanguageCount]
    categories: Annotated[list[CategoryCount], Field(description="Most articles first.")]
    published_at: Histogram


@dataclass(slots=True)
class StoryArticle:
    """An article of a story, as a story's card lists it."""

    id: Annotated[int, Field(examples=[12])]
    title: Annotated[str, Field(examples=["В Омске стартовал российско-казахстанский форум"])]
    source: SourceRef
    url: Annotated[str, Field(examples=["https://fedpress.ru/news/55/economy/2359002"])]
    published_at: Annotated[
        Timestamp,
        Field(
            description="RFC 3339, in the publisher's own UTC offset.",
            examples=["2019-11-06T12:26:00+03:00"],
        ),
    ]


@dataclass(slots=True)
class StoryItem:
    """A story: the articles of every source that report the same event."""

    __pydantic_config__ = _TRIMMABLE

    id: Annotated[
        int,
        Field(description="The id of the article that started the story.", examples=[12]),
    ]
    title: Annotated[
        str,
        Field(
            description="The title of its first report.",
            examples=["В Омске стартовал российско-казахстанский форум"],
        ),
    ]
    category: Annotated[
        Category, Field(description="The most common among its articles.", examples=["economy"])
    ]
    language: Annotated[Language, Field(examples=["ru"])]
    article_count: Annotated[int, Field(examples=[12])]
    source_count: Annotated[int, Field(description="Distinct sources.", examples=[7])]
    first_published_at: Annotated[
        Timestamp,
        Field(description="Its first article (UTC).", examples=["2019-11-06T09:26:00+00:00"]),
    ]
    last_published_at: Annotated[
        Timestamp,
        Field(description="Its last article (UTC).", examples=["2019-11-07T08:00:00+00:00"]),
    ]
    top_articles: Annotated[
        list[StoryArticle],
        Field(description="A few of its articles: the first report, then the newest."),
    ]


@dataclass(slots=True)
class StoryPage:
    items: list[StoryItem]
    total: Annotated[int, Field(description="Stories matching the filters, over all pages.")]
    limit: Annotated[int, Field(examples=[20])]
    next_cursor: Annotated[
        str | None,
        Field(description="Pass as `cursor` for the next page; null on the last page."),
    ]


@dataclass(slots=True)
class Story(StoryItem):
    """A story with all its articles (GET /stories/{id})."""

    __pydantic_config__ = _TRIMMABLE

    articles: Annotated[
        list[ArticleListItem], Field(description="Every article of the story, newest first.")
    ] = field(default_factory=list)


@dataclass(slots=True)
class SimilarArticle(ArticleListItem):
    """An article close in content to the one asked about."""

    __pydantic_config__ = _TRIMMABLE

    similarity: Annotated[
        float,
        Field(
            description="How close its signature is to the article's, 0 (nothing shared) to 1.",
            examples=[0.42],
        ),
    ] = 0.0
    same_story: Annotated[
        bool, Field(description="It belongs to the article's own story.", examples=[True])
    ] = False


@dataclass(slots=True)
class SimilarArticles:
    items: Annotated[
        list[SimilarArticle],
        Field(
            description="The articles of its own story first (closest first), then others "
            "by similarity."
        ),
    ]


_adapters: dict[type[Any], TypeAdapter[Any]] = {}


def to_json(body: object, include: Any = None) -> bytes:
    """The JSON of a schema dataclass, with only the fields `include` names (pydantic's
    include form: a set of names, or {"items": {"__all__": names}, …}) if given."""
    adapter = _adapters.get(type(body))
    if adapter is None:
        adapter = _adapters[type(body)] = TypeAdapter(type(body))
    return adapter.dump_json(body, include=include)
