"""Size limits on the request line and headers, answered as problems before any routing.

uvicorn's h11 parser only bounds a head that arrives in pieces (16 KiB buffered while
incomplete); one that arrives in a single read, up to 256 KiB, is parsed whole. These
limits hold however the bytes arrive, and say which limit was hit in problem+json.
"""

from starlette.requests import Request
from starlette.types import ASGIApp, Receive, Scope, Send

from app.errors import ApiError, problem_response

MAX_TARGET_BYTES = 8192  # path and query string: room for every parameter at its limit
MAX_HEADER_BYTES = 16384  # all header names and values together


class RequestSizeLimit:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            error = _too_large(scope)
            if error is not None:
                await problem_response(Request(scope), error)(scope, receive, send)
                return
        await self.app(scope, receive, send)


def _too_large(scope: Scope) -> ApiError | None:
    target = len(scope.get("raw_path") or scope["path"].encode()) + len(scope["query_string"])
    if target > MAX_TARGET_BYTES:
        return uri_too_long(f"The request target is {target} bytes")
    head = sum(len(name) + len(value) for name, value in scope["headers"])
    if head > MAX_HEADER_BYTES:
        return headers_too_large(f"The headers are {head} bytes")
    return None


def uri_too_long(measure: str) -> ApiError:
    """The 414 problem; measure says how long the target was ("The request target is …")."""
    detail = f"{measure}; at most {MAX_TARGET_BYTES} are read."
    return ApiError(414, "uri-too-long", "URI too long", detail)


def headers_too_large(measure: str) -> ApiError:
    detail = f"{measure}; at most {MAX_HEADER_BYTES} are read."
    return ApiError(431, "headers-too-large", "Request headers too large", detail)
