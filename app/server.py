"""What the HTTP server answers by itself, before the app sees a request: problems too.

uvicorn answers a request its HTTP parser refuses with a plain-text 400 ("Invalid HTTP
request received.") that never reaches the app's error handlers, so it matches neither
the OpenAPI document nor the API's one error format. These protocols are uvicorn's own,
except that such a refusal is an RFC 9457 problem like every other error:

* a request target too long for the parser (httptools cannot parse a URL of 64 KiB or
  more; h11 refuses a head over --h11-max-incomplete-event-size that arrives in pieces):
  414, as app.limits answers a shorter one that is still over its limit;
* headers too long for the parser (h11, as above): 431, likewise;
* anything else the parser refuses (not HTTP/1.1, a NUL in a header…): 400
  `/problems/invalid-request`, with the parser's reason.

Serve with `uvicorn app.main:app --http app.server:HttpToolsProtocol` (the Makefile and
the Docker image do), or `--http app.server:H11Protocol`.
"""

import json
import sys
from http import HTTPStatus

import h11
import httptools
from uvicorn.protocols.http import h11_impl, httptools_impl

from app.errors import PROBLEM_JSON, ApiError, problem_body
from app.limits import MAX_HEADER_BYTES, MAX_TARGET_BYTES, headers_too_large, uri_too_long


def refusal(reason: str, *, target: int = 0, head: int = 0) -> ApiError:
    """The problem for a request the parser refused: target and head are the bytes of the
    request target and of the head it had read when it gave up on their length (else 0)."""
    if target > MAX_TARGET_BYTES:
        return uri_too_long(f"The request target is {target} bytes or more")
    if head > MAX_HEADER_BYTES:
        return headers_too_large(f"The request head is {head} bytes or more")
    # The parser's reason without the bytes that h11 quotes after it ("…: bytearray(b'…')").
    reason = reason.split(": bytearray(", 1)[0].rstrip(".")[:200]
    detail = f"The request is not valid HTTP/1.1: {reason}."
    return ApiError(400, "invalid-request", "Invalid request", detail)


def _raw_response(error: ApiError, default_headers: list[tuple[bytes, bytes]]) -> bytes:
    """The whole answer, which closes the connection: after a refusal the parser cannot
    tell where the next request would begin."""
    body = json.dumps(problem_body(error, None), separators=(",", ":")).encode()
    phrase = HTTPStatus(error.status).phrase
    head = [f"HTTP/1.1 {error.status} {phrase}".encode()]
    head += [name + b": " + value for name, value in default_headers]
    head += [
        b"content-type: " + PROBLEM_JSON.encode(),
        b"content-length: %d" % len(body),
        b"connection: close",
    ]
    return b"\r\n".join(head) + b"\r\n\r\n" + body


class HttpToolsProtocol(httptools_impl.HttpToolsProtocol):
    def send_400_response(self, msg: str) -> None:
        # Called while the parser's error is handled: the error says what was wrong.
        exc = sys.exception()
        # uvicorn parses the URL in a parser callback, whose error comes as the context.
        cause = exc.__context__ if isinstance(exc, httptools.HttpParserCallbackError) else exc
        target = 0
        if isinstance(cause, httptools.HttpParserInvalidURLError):
            # httptools parses a URL with 16-bit offsets: a long one is refused whole.
            target = len(getattr(self, "url", b""))  # set as each request begins
        error = refusal(str(cause or msg), target=target)
        self.transport.write(_raw_response(error, self.server_state.default_headers))
        self.transport.close()


class H11Protocol(h11_impl.H11Protocol):
    def send_400_response(self, msg: str) -> None:
        exc = sys.exception()
        target = head = 0
        if isinstance(exc, h11.RemoteProtocolError) and exc.error_status_hint == 431:
            # h11 gave up on a head that did not end within its bound: did the request
            # line never end, or the headers after it?
            buffered = self.conn.trailing_data[0]
            line, crlf, _ = buffered.partition(b"\r\n")
            parts = line.split(b" ")
            line_target = len(parts[1]) if len(parts) > 1 else len(line)
            if not crlf or line_target > MAX_TARGET_BYTES:
                target = max(line_target, MAX_TARGET_BYTES + 1)
            else:
                head = len(buffered)
        error = refusal(str(exc or msg), target=target, head=head)
        self.transport.write(_raw_response(error, self.server_state.default_headers))
        self.transport.close()
