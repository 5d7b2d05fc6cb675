"""Schemathesis hooks for the long fuzz through a real uvicorn (tests/test_fuzz_server.py).

tests/schemathesis.toml lets `positive_data_acceptance` take a 400 for a request that
the document's schemas allow: some rules can only be said in the parameters' descriptions
(page or cursor, not both; a cursor is one we signed; relevance needs q; q needs a word;
a date in `from`). The check below makes that exact: such a 400 must name only those
rules. A schema-valid request rejected for any other reason is a failure, as it would be
without the setting.

The filter drops requests that schemathesis means as schema-violating but that are valid
once sent: a repeatable name (`author=…`, an array of strings) given a number, an object
or a list of numbers goes out as text, which is a one-name list of names. Schemathesis
4.32 allows for that with numbers and plain strings (its `_query_as_sent`) but not with
arrays, so it would expect a rejection of a valid request.
"""

import re
from typing import Any

import schemathesis

REPEATABLE = r"(author|author_id|source|source_id|language)"

# (parameter, reason) pairs, as regular expressions over the problem's `errors`: the
# rules the document states in words but not in its schemas.
PROSE_RULES = [
    ("page", r"use either page or cursor, not both"),
    ("page", r"page × limit may not exceed 10000;"),
    ("cursor", r"invalid or tampered cursor;|invalid cursor$|this cursor belongs to sort="),
    ("sort", r"relevance needs a search: give q$"),
    ("q", r"has no words to search for$|needs at least one word to find"),
    ("q", r"may have at most \d+ words or phrases$"),
    (
        "from|to|updated_since",
        r".* is not a date \(YYYY-MM-DD\) or an ISO 8601 datetime$|.* is out of range$",
    ),
    ("to", r"is before `from`$"),
    ("fields", r"unknown field |names no field;|highlight is only there with a search"),
    (REPEATABLE, r"may repeat at most 50 times$"),
    ("bom", r"only for format=csv$"),
    (".*", r"may not contain NUL \(U\+0000\) characters$"),
]


def _names_only(schema: dict[str, Any]) -> bool:
    items = schema.get("items", {})
    return (
        schema.get("type") == "array" and isinstance(items, dict) and items.get("type") == "string"
    )


@schemathesis.hook
def filter_query(ctx: Any, query: dict[str, Any] | None) -> bool:
    """False for a request with a repeatable name that is not a list of strings."""
    if not query or ctx.operation is None:
        return True
    for parameter in ctx.operation.query:
        value = query.get(parameter.name)
        if value is None or not _names_only(parameter.definition.get("schema", {})):
            continue
        if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
            return False
    return True


def _is_prose_rule(error: dict[str, Any]) -> bool:
    name, reason = str(error.get("name")), str(error.get("reason"))
    return any(
        re.fullmatch(names, name) and re.match(reasons, reason) for names, reasons in PROSE_RULES
    )


@schemathesis.check
def valid_data_is_rejected_only_by_prose_rules(ctx: Any, response: Any, case: Any) -> None:
    """A schema-valid request answered 400 breaks only rules the document states in words."""
    meta = case.meta
    if meta is None or not meta.generation.mode.is_positive or response.status_code != 400:
        return
    problem = response.json()
    errors = problem.get("errors") or [{"name": None, "reason": problem.get("detail")}]
    others = [error for error in errors if not _is_prose_rule(error)]
    if others:
        raise AssertionError(f"A schema-valid request was rejected: {others}")
