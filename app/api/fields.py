"""`fields=id,title,…`: responses trimmed to the fields a client names.

The response models (app.schemas) still document every field; with `fields` an item
carries only those named, in the model's order. An unknown name is a 400 naming it.
"""

from dataclasses import fields
from typing import Annotated

from fastapi import Query

from app.errors import invalid_params
from app.schemas import Article, ArticleListItem, SimilarArticle, Story, StoryItem

LIST_FIELDS = tuple(field.name for field in fields(ArticleListItem))
DETAIL_FIELDS = tuple(field.name for field in fields(Article))
SIMILAR_FIELDS = tuple(field.name for field in fields(SimilarArticle) if field.name != "highlight")
STORY_FIELDS = tuple(field.name for field in fields(StoryItem))
STORY_DETAIL_FIELDS = tuple(field.name for field in fields(Story))


def _description(known: tuple[str, ...], extra: str = "", *, of: str = "article") -> str:
    example = "id,title,published_at,source" if of == "article" else "id,title,article_count"
    return (
        f"Comma-separated fields to include in each {of}, e.g. `{example}` "
        f"(all when left out): {', '.join(f'`{name}`' for name in known)}.{extra}"
    )


ListFields = Annotated[
    str | None,
    Query(
        max_length=500,
        description=_description(LIST_FIELDS, " `highlight` only with `q`."),
        examples=["id,title,published_at,source"],
    ),
]
DetailFields = Annotated[
    str | None,
    Query(
        max_length=500,
        description=_description(DETAIL_FIELDS),
        examples=["id,title,body"],
    ),
]

SimilarFields = Annotated[
    str | None,
    Query(
        max_length=500,
        description=_description(SIMILAR_FIELDS),
        examples=["id,title,similarity,same_story"],
    ),
]
StoryFields = Annotated[
    str | None,
    Query(
        max_length=500,
        description=_description(STORY_FIELDS, of="story"),
        examples=["id,title,article_count,source_count"],
    ),
]
StoryDetailFields = Annotated[
    str | None,
    Query(
        max_length=500,
        description=_description(STORY_DETAIL_FIELDS, of="story"),
        examples=["id,title,articles"],
    ),
]


def parse_fields(
    value: str | None, known: tuple[str, ...], *, search: bool = True
) -> set[str] | None:
    """The field names asked for (None: all), or a 400 naming each unknown one.

    search: whether the response has highlights (a listing with `q`).
    """
    if value is None:
        return None
    names = [name.strip() for name in value.split(",") if name.strip()]
    if not names:
        raise invalid_params(("fields", "names no field; leave it out for every field"))
    errors = []
    for name in dict.fromkeys(names):
        if name not in known:
            errors.append(("fields", f"unknown field {name[:40]!r}; known: {', '.join(known)}"))
        elif name == "highlight" and not search:
            errors.append(("fields", "highlight is only there with a search: give q"))
    if errors:
        raise invalid_params(*errors)
    return set(names)
