"""The OpenAPI document passes a real validator (openapi-spec-validator: the OpenAPI 3.1
schema and its rules), names every operation with a stable id, and gives every
parameter an example."""

import re
from typing import Any

from openapi_spec_validator import validate

from app.main import create_app

# What the TypeScript client and other generated clients are written against: renaming
# one breaks their code, so a change here is a deliberate one.
OPERATIONS = {
    ("get", "/api/v1/articles"): "listArticles",
    ("get", "/api/v1/articles/facets"): "facets",
    ("get", "/api/v1/articles/{article_id}"): "getArticle",
    ("get", "/api/v1/articles/export"): "export",
    ("get", "/api/v1/articles/feed.atom"): "atomFeed",
    ("get", "/api/v1/articles/feed.rss"): "rssFeed",
    ("get", "/api/v1/articles/{article_id}/similar"): "similarArticles",
    ("get", "/api/v1/stories"): "listStories",
    ("get", "/api/v1/stories/{story_id}"): "getStory",
    ("get", "/api/v1/sources"): "listSources",
    ("get", "/api/v1/sources/{source_id}"): "getSource",
    ("get", "/api/v1/authors"): "listAuthors",
    ("get", "/api/v1/authors/{author_id}"): "getAuthor",
    ("get", "/api/v1/changes"): "changes",
    ("get", "/api/v1/health"): "health",
}


def operations(document: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    return {
        (method, path): operation
        for path, item in document["paths"].items()
        for method, operation in item.items()
    }


def test_the_document_is_valid_openapi() -> None:
    document = create_app().openapi()
    assert document["openapi"].startswith("3.1")
    validate(document)  # raises, naming the first violation


def test_operation_ids_are_stable_and_unique() -> None:
    found = {key: op["operationId"] for key, op in operations(create_app().openapi()).items()}
    assert found == OPERATIONS
    assert all(re.fullmatch(r"[a-z][A-Za-z]*", name) for name in found.values())


def test_every_parameter_has_an_example() -> None:
    missing = [
        f"{method.upper()} {path}: {parameter['name']}"
        for (method, path), operation in operations(create_app().openapi()).items()
        for parameter in operation.get("parameters", [])
        if not (
            {"example", "examples"} & parameter.keys()
            or {"example", "examples"} & parameter.get("schema", {}).keys()
        )
    ]
    assert missing == [], f"parameters without an example: {missing}"
