"""Request line and header limits, through a real uvicorn as `make run` and the Docker
image start it: over-long targets and headers are a 414 / 431 problem (app.limits), and
a head too large for the HTTP parser a plain 400 from uvicorn; the server serves on."""

import json
import socket
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from app.db import make_engine
from app.migrate import upgrade_to_head
from tests.servers import uvicorn_server

MAX_HEAD_BYTES = 16384


# How make run and the Docker image start it (httptools, whose parser has its own fixed
# bound on a head), and h11 with its bound set to the same size.
PARSERS = {
    "httptools": ["--http=httptools"],
    "h11": ["--http=h11", f"--h11-max-incomplete-event-size={MAX_HEAD_BYTES}"],
}


@pytest.fixture(scope="module", params=sorted(PARSERS))
def server(make_database: Any, request: pytest.FixtureRequest) -> Iterator[tuple[str, int]]:
    url: str = make_database("sqlite")
    engine = make_engine(url)
    upgrade_to_head(engine)
    engine.dispose()
    with uvicorn_server(url, *PARSERS[request.param]) as base:
        parts = urlsplit(base)
        yield parts.hostname or "", parts.port or 0


def raw_request(address: tuple[str, int], head: bytes) -> bytes:
    """The answer to head; uvicorn may reset the connection while a huge head is sent."""
    answer = b""
    with socket.create_connection(address, timeout=10) as conn:
        try:
            conn.sendall(head)
            while chunk := conn.recv(65536):
                answer += chunk
                if b"\r\n\r\n" in answer and answer.endswith(b"}"):
                    break
        except ConnectionResetError:
            pass
    return answer


def refused_by_the_parser(answer: bytes) -> bool:
    return answer == b"" or answer.startswith(b"HTTP/1.1 400")


def problem_of(answer: bytes, status: int) -> dict[str, Any]:
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 %d" % status), answer[:300]
    assert b"content-type: application/problem+json" in head.lower()
    problem: dict[str, Any] = json.loads(body)
    assert problem["status"] == status
    return problem


@pytest.mark.parametrize("size", [9_000, 15_000, 200_000])
def test_an_over_long_request_target_is_a_414(server: tuple[str, int], size: int) -> None:
    target = b"/api/v1/articles?q=" + b"a" * size
    answer = raw_request(server, b"GET " + target + b" HTTP/1.1\r\nHost: t\r\n\r\n")
    if refused_by_the_parser(answer):
        assert size > MAX_HEAD_BYTES  # refused by the parser while it came in pieces
    else:
        assert problem_of(answer, 414)["type"] == "/problems/uri-too-long"


@pytest.mark.parametrize("count", [20, 100])
def test_over_long_headers_are_a_431(server: tuple[str, int], count: int) -> None:
    headers = b"".join(b"X-Pad-%d: %s\r\n" % (i, b"x" * 1000) for i in range(count))
    answer = raw_request(server, b"GET /api/v1/health HTTP/1.1\r\nHost: t\r\n" + headers + b"\r\n")
    if refused_by_the_parser(answer):
        assert count * 1000 > MAX_HEAD_BYTES
    else:
        assert problem_of(answer, 431)["type"] == "/problems/headers-too-large"


def test_within_the_limits_the_app_answers(server: tuple[str, int]) -> None:
    host, port = server
    response = httpx.get(f"http://{host}:{port}/api/v1/articles", params={"q": "a" * 7000})
    assert response.status_code == 400
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["errors"][0]["name"] == "q"
    # The refused requests above left the server serving.
    assert httpx.get(f"http://{host}:{port}/api/v1/health").status_code == 200
