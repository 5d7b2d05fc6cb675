"""Request line and header limits, and requests the HTTP parser refuses, through a real
uvicorn as `make run` and the Docker image start it: over-long targets and headers are a
414 / 431 problem (app.limits, or app.server when the parser gives up on their length),
anything else the parser refuses a 400 problem (app.server), never uvicorn's plain text;
the server serves on."""

import contextlib
import json
import socket
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from app.config import ROOT
from app.db import make_engine
from app.migrate import upgrade_to_head
from tests.servers import HTTP, uvicorn_server

MAX_HEAD_BYTES = 16384


# How make run and the Docker image start it (app.server's httptools protocol: httptools
# cannot parse a URL of 64 KiB or more), and its h11 protocol with h11's bound on a head
# that arrives in pieces set to the same size as app.limits'.
PARSERS = {
    "httptools": [HTTP],
    "h11": ["--http=app.server:H11Protocol", f"--h11-max-incomplete-event-size={MAX_HEAD_BYTES}"],
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
    """The answer to head. The server may answer and close before it has read the whole
    of a huge head, so the answer is read even when sending is cut short."""
    answer = b""
    with socket.create_connection(address, timeout=10) as conn:
        with contextlib.suppress(ConnectionResetError, BrokenPipeError):
            conn.sendall(head)
        with contextlib.suppress(ConnectionResetError):
            while chunk := conn.recv(65536):
                answer += chunk
                if b"\r\n\r\n" in answer and answer.endswith(b"}"):
                    break
    return answer


def problem_of(answer: bytes, status: int) -> dict[str, Any]:
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 %d" % status), answer[:300]
    assert b"content-type: application/problem+json" in head.lower()
    problem: dict[str, Any] = json.loads(body)
    assert problem["status"] == status
    return problem


# 70,000: the 105 KB feed.rss request of the long fuzz (docs/reliability.md) was a
# uvicorn plain-text 400, as httptools refuses a URL of 64 KiB or more.
@pytest.mark.parametrize("size", [9_000, 15_000, 70_000, 200_000])
def test_an_over_long_request_target_is_a_414(server: tuple[str, int], size: int) -> None:
    target = b"/api/v1/articles/feed.rss?q=" + b"a" * size
    answer = raw_request(server, b"GET " + target + b" HTTP/1.1\r\nHost: t\r\n\r\n")
    problem = problem_of(answer, 414)
    assert problem["type"] == "/problems/uri-too-long"
    assert "8192" in problem["detail"]


@pytest.mark.parametrize("count", [20, 100])
def test_over_long_headers_are_a_431(server: tuple[str, int], count: int) -> None:
    headers = b"".join(b"X-Pad-%d: %s\r\n" % (i, b"x" * 1000) for i in range(count))
    answer = raw_request(server, b"GET /api/v1/health HTTP/1.1\r\nHost: t\r\n" + headers + b"\r\n")
    problem = problem_of(answer, 431)
    assert problem["type"] == "/problems/headers-too-large"
    assert "16384" in problem["detail"]


@pytest.mark.parametrize(
    "head",
    [
        b"GET /api/v1/health HTTP/1.1\r\nHost: t\r\nX-Nul: a\x00b\r\n\r\n",  # NUL in a value
        b"GET /api/v1/articles?q=a b HTTP/1.1\r\nHost: t\r\n\r\n",  # a space in the target
        b"GET /api/v1/articles?q=\x01 HTTP/1.1\r\nHost: t\r\n\r\n",  # a control character
        b"G@T /api/v1/health HTTP/1.1\r\nHost: t\r\n\r\n",  # not a method
        b"did you expect an HTTP request?\r\n\r\n",
    ],
    ids=["nul-in-header", "space-in-target", "control-in-target", "bad-method", "not-http"],
)
def test_what_the_parser_refuses_is_a_400_problem(server: tuple[str, int], head: bytes) -> None:
    problem = problem_of(raw_request(server, head), 400)
    assert problem["type"] == "/problems/invalid-request"
    assert problem["detail"].startswith("The request is not valid HTTP/1.1: ")
    assert "bytearray" not in problem["detail"]  # h11 quotes the bytes it refused


def test_within_the_limits_the_app_answers(server: tuple[str, int]) -> None:
    host, port = server
    response = httpx.get(f"http://{host}:{port}/api/v1/articles", params={"q": "a" * 7000})
    assert response.status_code == 400
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["errors"][0]["name"] == "q"
    # The refused requests above left the server serving.
    assert httpx.get(f"http://{host}:{port}/api/v1/health").status_code == 200


def test_the_makefile_and_the_image_serve_with_this_protocol() -> None:
    protocol = HTTP.removeprefix("--http=")
    makefile = (ROOT / "Makefile").read_text()
    assert f"--http {protocol}" in makefile
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert f'"--http", "{protocol}"' in dockerfile
    readme = (ROOT / "README.md").read_text()
    assert f"uvicorn app.main:app --http {protocol}" in readme
