"""The app's logs: one line per request with a request id, as text or JSON lines.

Every response carries `X-Request-ID`: the client's own id when it sent a sane one (so a
proxy's or a front end's id follows the request through), otherwise a new one. The same
id is on the request's log line, which also has method, path, status and duration.
"""

import itertools
import logging
import re
import secrets
import sys
import time
from typing import Any

from pythonjsonlogger.json import JsonFormatter
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

log = logging.getLogger("app")
access = logging.getLogger("app.access")

REQUEST_ID = "X-Request-ID"
_SANE_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")
# The fields of every line; as JSON, a record's extra fields (the request's) come too.
FORMAT = "%(asctime)s %(levelname)s %(name)s %(message)s"


def configure_logging(level: str, json_lines: bool) -> None:
    """Send the app's loggers to stderr, as text or one JSON object a line.

    uvicorn configures only its own loggers; without a handler here the app's INFO lines
    (one per request) would go nowhere.
    """
    handler = logging.StreamHandler(sys.stderr)
    if json_lines:
        handler.setFormatter(JsonFormatter(FORMAT, rename_fields={"asctime": "time"}))
    else:
        handler.setFormatter(logging.Formatter(FORMAT))
    log.handlers[:] = [handler]
    log.setLevel(level.upper())
    # The request line is logged for every answer, cache hits included, where making the
    # record cost a third of the hit. No line shows the caller's frame, thread or process,
    # so records skip finding them (the logging HOWTO's "Optimization").
    logging.logThreads = False
    logging.logProcesses = False
    logging.logMultiprocessing = False
    logging._srcfile = None


class RequestLog:
    """Pure ASGI, outermost: times the whole request, tags it with an id, logs one line."""

    def __init__(self, app: ASGIApp, enabled: bool = True) -> None:
        self.app = app
        self.enabled = enabled

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = _request_id(scope)
        started = time.perf_counter()
        status = 500  # what the client gets if the app fails before it starts a response

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                MutableHeaders(scope=message).append(REQUEST_ID, request_id)
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            if self.enabled:
                _log_request(scope, status, time.perf_counter() - started, request_id)


def _request_id(scope: Scope) -> str:
    for name, value in scope["headers"]:
        if name == b"x-request-id":
            given: str = value.decode("latin-1")
            if _SANE_ID.fullmatch(given):
                return given
            break
    return f"{_ID_PREFIX}{next(_ID_COUNTER):08x}"


# Ids made here: a random prefix for this process and a counter, unique across processes
# and restarts (in practice), and cheaper than a UUID's system call per request.
_ID_PREFIX = secrets.token_hex(8)
_ID_COUNTER = itertools.count(1)


def _log_request(scope: Scope, status: int, seconds: float, request_id: str) -> None:
    if not access.isEnabledFor(logging.INFO):
        return
    path = scope["path"] + (
        "?" + scope["query_string"].decode("latin-1") if scope["query_string"] else ""
    )
    fields: dict[str, Any] = {
        "method": scope["method"],
        "path": path,
        "status": status,
        "duration_ms": round(seconds * 1000, 2),
        "request_id": request_id,
    }
    access.info(
        "%s %s %d %.1fms id=%s",
        fields["method"],
        path,
        status,
        fields["duration_ms"],
        request_id,
        extra=fields,
    )
