"""One error path: every failure leaves the API as RFC 9457 application/problem+json."""

import logging
import re
from collections.abc import Mapping, Sequence
from typing import Any

from fastapi import APIRouter, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from sqlalchemy.exc import InterfaceError, OperationalError
from starlette.datastructures import Headers
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

from app.databases import database_for

log = logging.getLogger("app")

PROBLEM_JSON = "application/problem+json"
TYPE_BASE = "/problems/"


class ParamError(BaseModel):
    name: str = Field(description="The parameter's name as sent.", examples=["limit"])
    location: str = Field(
        alias="in", description="query, path or header.", examples=["query"], default="query"
    )
    reason: str = Field(examples=["must be between 1 and 100"])

    model_config = {"populate_by_name": True}


class Problem(BaseModel):
    """RFC 9457 problem details."""

    type: str = Field(examples=["/problems/invalid-parameters"])
    title: str = Field(examples=["Invalid parameters"])
    status: int = Field(examples=[400])
    detail: str = Field(examples=["limit: must be between 1 and 100"])
    instance: str | None = Field(default=None, examples=["/api/v1/articles?limit=0"])
    errors: list[ParamError] | None = Field(
        default=None, description="For invalid parameters: each bad parameter and why."
    )


class ApiError(Exception):
    """A typed error that the handler turns into a problem response."""

    def __init__(
        self,
        status: int,
        slug: str,
        title: str,
        detail: str,
        errors: list[ParamError] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(detail)
        self.status, self.slug, self.title, self.detail = status, slug, title, detail
        self.errors, self.headers = errors, headers


def invalid_params(*errors: tuple[str, str]) -> ApiError:
    """400 naming each bad query parameter: invalid_params(("limit", "must be ≥ 1"))."""
    params = [ParamError(name=name, reason=reason) for name, reason in errors]
    detail = "; ".join(f"{p.name}: {p.reason}" for p in params)
    return ApiError(400, "invalid-parameters", "Invalid parameters", detail, params)


_RESPONSES = {
    400: "Invalid parameters (each named in `errors`), or a request that is not valid "
    "HTTP/1.1 (`/problems/invalid-request`).",
    401: "No API key, or one that is unknown or revoked (`WWW-Authenticate` says which).",
    404: "No such resource.",
    410: "Gone.",
    429: "Too many requests for this key or client: retry after `Retry-After` seconds.",
    503: "The database is unreachable; retry after `Retry-After` seconds.",
    504: "The query ran past the statement timeout (STATEMENT_TIMEOUT_MS) and was cancelled.",
    414: "The path and query string are over 8 KiB.",
    431: "The request headers are over 16 KiB.",
    500: "An unexpected error (a bug, logged with the request's X-Request-ID).",
}
# What any route may answer, whatever its parameters: 400 for a NUL in any query
# parameter (app.api.params.reject_nul) or a request the HTTP parser refuses
# (app.server), 414 and 431 before routing (app.limits, app.server), and 500.
_EVERY_ROUTE = (400, 414, 431, 500)


def problem_responses(*statuses: int, **descriptions: str) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses` for the problems a route may answer (descriptions by "s404"…),
    and those every route may answer (_EVERY_ROUTE)."""
    return {
        status: {
            "model": Problem,
            "description": descriptions.get(f"s{status}", _RESPONSES[status]),
        }
        for status in dict.fromkeys((*statuses, *_EVERY_ROUTE))
    }


def not_found(what: str, id_: int) -> ApiError:
    return ApiError(404, "not-found", "Not found", f"No {what} with id {id_}.")


def database_unavailable() -> ApiError:
    """503: the database does not answer (down, unreachable, or refusing connections)."""
    return ApiError(
        503,
        "database-unavailable",
        "Database unavailable",
        "The database did not answer; try again shortly.",
        headers={"Retry-After": "5"},
    )


def problem_body(error: ApiError, instance: str | None) -> dict[str, Any]:
    """The problem document of error (instance: the request's path, when known)."""
    body = Problem(
        type=TYPE_BASE + error.slug,
        title=error.title,
        status=error.status,
        detail=error.detail,
        instance=instance,
        errors=error.errors,
    )
    return body.model_dump(by_alias=True, exclude_none=True)


def problem_response(request: Request, error: ApiError) -> JSONResponse:
    return JSONResponse(
        problem_body(error, str(request.url.path)),
        status_code=error.status,
        media_type=PROBLEM_JSON,
        headers=error.headers,
    )


class ProblemCORSMiddleware(CORSMiddleware):
    """Starlette's CORS, except that a refused preflight (a method or header not allowed)
    is a problem, not its plain-text "Disallowed CORS …"."""

    def preflight_response(self, request_headers: Headers) -> Response:
        response = super().preflight_response(request_headers)
        if response.status_code != 400:
            return response
        reason = bytes(response.body).decode().removeprefix("Disallowed CORS ")
        detail = f"This origin may not make that request (refused: {reason})."
        error = ApiError(400, "cors-refused", "CORS preflight refused", detail)
        headers = {
            name: value
            for name, value in response.headers.items()
            if name not in ("content-type", "content-length")
        }
        return JSONResponse(
            problem_body(error, None), status_code=400, media_type=PROBLEM_JSON, headers=headers
        )


_HTTP_TITLES = {404: "Not found", 405: "Method not allowed", 406: "Not acceptable"}


def _param_name(loc: tuple[Any, ...]) -> tuple[str, str, str]:
    """(where, parameter name, note on which repeated value) from a pydantic error loc."""
    where = str(loc[0]) if loc else "query"
    name = str(loc[1]) if len(loc) > 1 else where
    rest = [part for part in loc[2:]]
    note = f" (value #{rest[0] + 1})" if rest and isinstance(rest[0], int) else ""
    return where, name, note


_ID_SEGMENT = re.compile(r"\\\{(\w+):int\\\}")


def id_paths(prefix: str, routers: Sequence[APIRouter]) -> list[re.Pattern[str]]:
    """Each `{name:int}` route's path with any segment in the id's place, to tell a
    malformed id from a path that names nothing (kept as app.state.id_paths)."""
    patterns = []
    for router in routers:
        for route in router.routes:
            path = prefix + getattr(route, "path", "")
            if ":int}" in path:
                pattern = _ID_SEGMENT.sub(r"(?P<\1>[^/]+)", re.escape(path))
                patterns.append(re.compile(pattern + "$"))
    return patterns


def _malformed_id(request: Request) -> ApiError | None:
    """400 naming the id when a path has an id's place but no integer in it
    (/articles/abc): the routes only match integers there (`{article_id:int}`), so that
    /articles/export and the like never depend on the order routes were added in."""
    for pattern in getattr(request.app.state, "id_paths", ()):
        match = pattern.match(request.url.path)
        if match:
            name = next(iter(match.groupdict()))
            error = ParamError(name=name, location="path", reason="must be a positive integer")
            return ApiError(
                400, "invalid-parameters", "Invalid parameters", f"{name}: {error.reason}", [error]
            )
    return None


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def _api_error(request: Request, exc: ApiError) -> JSONResponse:
        return problem_response(request, exc)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        params = []
        for err in exc.errors():
            where, name, note = _param_name(tuple(err.get("loc", ())))
            reason = str(err.get("msg")) + note
            params.append(ParamError(name=name, location=where, reason=reason))
        detail = "; ".join(f"{p.name}: {p.reason}" for p in params)
        error = ApiError(400, "invalid-parameters", "Invalid parameters", detail, params)
        return problem_response(request, error)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        title = _HTTP_TITLES.get(exc.status_code, "HTTP error")
        detail = str(exc.detail) if exc.detail else title
        if exc.status_code == 404 and exc.detail == "Not Found":
            malformed = _malformed_id(request)
            if malformed is not None:
                return problem_response(request, malformed)
            detail = f"No resource at {request.url.path}."
        slug = title.lower().replace(" ", "-")
        return problem_response(
            request, ApiError(exc.status_code, slug, title, detail, headers=exc.headers)
        )

    @app.exception_handler(OperationalError)
    @app.exception_handler(InterfaceError)
    async def _database_down(request: Request, exc: Exception) -> JSONResponse:
        # The app's own database says whether this was its statement timeout.
        if database_for(request.app.state.engine).is_statement_timeout(exc):
            log.warning("statement timeout on %s %s", request.method, request.url)
            timeout = ApiError(
                504,
                "query-timeout",
                "Query timeout",
                "The query took too long and was cancelled; narrow the filters or the search.",
            )
            return problem_response(request, timeout)
        log.error("database error on %s %s: %s", request.method, request.url.path, exc)
        return problem_response(request, database_unavailable())

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        error = ApiError(
            500, "internal-error", "Internal server error", "An unexpected error occurred."
        )
        return problem_response(request, error)
