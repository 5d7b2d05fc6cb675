"""Dependencies shared by the routers, and the one shape of a cached read route.

Each request costs one hop to the threadpool, not one per dependency: the dependencies
here are `async` and do no I/O (they hand out the settings, the sessionmaker and the
caches), and a route opens its session, queries and encodes in its one synchronous body.

A read route builds its `Answer` from a session and hands that to `Reply`:

    def build(session: Session) -> Answer: ...
    return reply(build)

which opens the session (on the database app.replicas routes the read to), answers 304
or from the response cache when it can, and else calls build in that session's snapshot
and caches what it made. Other reads go through `ReadsDep`'s `run`, never straight to a
sessionmaker, so they too follow the replicas and survive one going down.
"""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request, Response
from sqlalchemy.orm import Session, sessionmaker

from app.cache.conditional import newest_version
from app.cache.counts import CountCache
from app.cache.responses import READ_FIRST, Answer, ResponseCache
from app.config import Settings
from app.replicas import ReadRouter
from app.schemas import to_json


async def get_sessions(request: Request) -> sessionmaker[Session]:
    """The primary's sessionmaker: `with sessions() as session:` in the route's thread."""
    factory: sessionmaker[Session] = request.app.state.sessionmaker
    return factory


async def get_reads(request: Request) -> ReadRouter:
    """Where reads go: `reads.run(lambda session: ...)` in the route's thread."""
    reads: ReadRouter = request.app.state.reads
    return reads


async def get_app_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


SessionsDep = Annotated[sessionmaker[Session], Depends(get_sessions)]
ReadsDep = Annotated[ReadRouter, Depends(get_reads)]
SettingsDep = Annotated[Settings, Depends(get_app_settings)]


@dataclass(frozen=True)
class Reply:
    """Answers a read request from its build function, through the response cache."""

    request: Request
    reads: ReadRouter
    responses: ResponseCache
    totals: CountCache  # listing totals under the data version, for the queries

    def __call__(self, build: Callable[[Session], Answer]) -> Response:
        def answer(session: Session) -> Response:
            return self.responses.respond(self.request, session, lambda: build(session))

        # Never older than what the client has seen; where the fast path read the version
        # first, if it did (app.cache.responses).
        wanted = newest_version(self.request.headers.get("if-none-match"))
        first = self.request.scope.get("state", {}).get(READ_FIRST)
        return self.reads.run(answer, wanted=wanted, first=first)


async def get_reply(request: Request) -> Reply:
    state = request.app.state
    return Reply(request, state.reads, state.responses, state.totals)


ReplyDep = Annotated[Reply, Depends(get_reply)]


def json_response(body: object, headers: dict[str, str] | None = None) -> Response:
    """A schema dataclass as an uncached JSON response."""
    return Response(to_json(body), media_type="application/json", headers=headers)
