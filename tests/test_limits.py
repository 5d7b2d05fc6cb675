"""Limits that protect the server: each over-size input is a 400 problem naming it, and a
query that runs too long is cancelled by the statement timeout (504), not left running."""

import time
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from fastapi import Request
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import text

from app.config import Settings
from app.main import create_app
from app.pagination import encode_cursor
from tests.test_errors import problem

LONG_NAME = "я" * 501


def repeat(name: str, value: str, times: int) -> str:
    return "&".join(f"{name}={value}" for _ in range(times))


@pytest.mark.parametrize(
    ("path", "query", "param"),
    [
        ("/api/v1/articles", "q=" + "форум " * 101, "q"),
        ("/api/v1/articles/facets", "q=" + "x" * 501, "q"),
        ("/api/v1/articles", "q=" + " ".join(f"слово{i}" for i in range(33)), "q"),
        ("/api/v1/articles", repeat("author", "a", 51), "author"),
        ("/api/v1/articles", repeat("source", "s", 51), "source"),
        ("/api/v1/articles", repeat("language", "ru", 51), "language"),
        ("/api/v1/articles", repeat("author_id", "1", 51), "author_id"),
        ("/api/v1/articles/facets", repeat("source_id", "1", 51), "source_id"),
        ("/api/v1/authors", repeat("source", "s", 51), "source"),
        ("/api/v1/articles", f"author={LONG_NAME}", "author"),
        ("/api/v1/articles", f"source={LONG_NAME}", "source"),
        ("/api/v1/authors", f"source={LONG_NAME}", "source"),
        ("/api/v1/authors", "q=" + "я" * 201, "q"),
        ("/api/v1/articles", "from=" + "2019-11-01" * 7, "from"),
        ("/api/v1/articles", "limit=101", "limit"),
        ("/api/v1/authors", "limit=1000000", "limit"),
        ("/api/v1/articles", "page=501&limit=20", "page"),
        ("/api/v1/articles", "page=99999999999999999999", "page"),
        ("/api/v1/articles", "cursor=" + "a" * 513, "cursor"),
        ("/api/v1/authors", "cursor=" + "a." * 200, "cursor"),
        ("/api/v1/articles/facets", "facet_limit=101", "facet_limit"),
        ("/api/v1/articles/facets", "facet_limit=0", "facet_limit"),
        ("/api/v1/articles/facets", "interval=century", "interval"),
        ("/api/v1/articles/99999999999", "", "article_id"),
        ("/api/v1/sources/0", "", "source_id"),
    ],
)
def test_oversize_input_is_a_400_naming_it(
    client: TestClient, path: str, query: str, param: str
) -> None:
    body = problem(client.get(f"{path}?{query}"), 400)
    assert param in [e["name"] for e in body["errors"]], body


def test_a_tampered_cursor_of_the_right_size_is_rejected(client: TestClient) -> None:
    cursor = encode_cursor("test-secret", "name", ["a" * 300, 1])
    assert len(cursor) <= 512
    assert client.get(f"/api/v1/authors?cursor={cursor}").status_code == 200
    flipped = cursor[:10] + ("A" if cursor[10] != "A" else "B") + cursor[11:]
    assert problem(client.get(f"/api/v1/authors?cursor={flipped}"), 400)["errors"][0]["name"] == (
        "cursor"
    )


# Counts to a billion: minutes of work on either backend, in plain SQL both speak.
PATHOLOGICAL = (
    "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 1000000000) "
    "SELECT count(*) FROM c"
)


@pytest.fixture
def slow_client(database_url: str) -> Iterator[TestClient]:
    """An app with a 300 ms statement timeout and one extra route that runs a runaway query.

    No public parameter can make a query run for minutes on a test-sized database, so the
    route stands in for the pathological search; it runs through the app's own sessions,
    engine and error handlers like every route.
    """
    settings = Settings(
        database_url=database_url,
        cursor_secret="test-secret",
        statement_timeout_ms=300,
        response_cache_bytes=0,
    )
    app = create_app(settings)

    def runaway(request: Request) -> dict[str, Any]:
        with request.app.state.sessionmaker() as session:
            return {"count": session.execute(text(PATHOLOGICAL)).scalar()}

    app.add_api_route("/api/v1/runaway", runaway)
    with TestClient(app, raise_server_exceptions=False) as test_client:
        yield test_client


def test_statement_timeout_cancels_a_runaway_query(slow_client: TestClient) -> None:
    started = time.monotonic()
    response = slow_client.get("/api/v1/runaway")
    elapsed = time.monotonic() - started
    body = problem(response, 504)
    assert body["type"] == "/problems/query-timeout"
    assert elapsed < 5, elapsed  # cancelled near the 300 ms deadline, not run to the end
    # The connection and the worker are fine: the next requests are served at once.
    for _ in range(3):
        assert slow_client.get("/api/v1/articles").status_code == 200
        assert slow_client.get("/api/v1/health").status_code == 200


def test_statement_timeout_is_documented(client: TestClient) -> None:
    schema = client.get("/openapi.json").json()
    for path, methods in schema["paths"].items():
        if path.endswith("/health"):
            continue
        responses = methods["get"]["responses"]
        assert {"503", "504"} <= responses.keys(), path
        assert "application/problem+json" in responses["504"]["content"], path


@pytest.mark.parametrize(
    ("query", "status"),
    [
        # Once 500s: the end of 9999-12-31 plus a day, and instants with no UTC form.
        ("to=9999-12-31", 200),
        ("from=0001-01-01", 200),
        ("from=0001-01-01T00:00:00%2B05:00", 400),
        ("to=9999-12-31T23:00:00-05:00", 400),
        ("from=9999-12-31T23:59:59.999999", 200),
    ],
)
def test_dates_at_the_ends_of_the_calendar(client: TestClient, query: str, status: int) -> None:
    for path in ("/api/v1/articles", "/api/v1/articles/facets"):
        response = client.get(f"{path}?{query}")
        assert response.status_code == status, (path, query, response.text)


OFFSETS = st.integers(-23 * 60 - 59, 23 * 60 + 59).map(lambda m: timezone(timedelta(minutes=m)))


@settings(
    max_examples=150,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    instant=st.one_of(
        st.datetimes(timezones=OFFSETS).map(datetime.isoformat),
        st.datetimes().map(datetime.isoformat),
        st.dates().map(str),
    ),
    bound=st.sampled_from(["from", "to"]),
)
def test_any_iso_instant_is_answered(client: TestClient, instant: str, bound: str) -> None:
    response = client.get("/api/v1/articles", params={bound: instant})
    assert response.status_code in (200, 400), (instant, response.text)
