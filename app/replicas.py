"""The one home of read routing: which database answers each read of the API.

The API reads from the PostgreSQL replicas in DATABASE_READ_URLS, taking them in turn, and
from the primary (DATABASE_URL) when there are none or none is fit. The ingest and the
migrations never come here: they only ever write DATABASE_URL.

Fitness is checked apart from the requests: a background task probes every database each
CHECK_INTERVAL_S (app.databases' ServerProbe: is it up, where is it in the primary's
write-ahead log). A replica that does not answer, or has been behind the primary for more
than MAX_REPLICA_LAG_S, leaves the rotation, and comes back when a check finds it up and
caught up again. Between two checks a request may still meet a replica that just went
down: the read is then done again on the next replica in turn, else on the primary, and
the replica stays out until a check finds it well. So a replica outage costs no request
an error; only the primary's own faults reach clients (a 503, as without replicas).

Replicas of one primary replay the same history, so one data version (app.cache.version)
names the same data on each of them: cache entries and ETags made on one replica hold on
every other, and a cursor (a signed sort key, app.pagination) pages on any of them. What
differs is freshness: a lagging replica answers an older version. A client whose
If-None-Match names a version newer than the replica it was routed to is answered by a
database at least that fresh (the primary, if no replica is), so it never steps back in
time nor gets a 304 that hides data it has seen (docs/scaling.md).
"""

import asyncio
import contextlib
import itertools
import logging
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal, TypeVar

from sqlalchemy import Engine
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from app.cache.version import data_version
from app.config import Settings
from app.databases import ProbeError, ServerProbe, ServerState, VersionReader, database_for
from app.db import make_engine, make_sessionmaker

log = logging.getLogger("app")

CHECK_INTERVAL_S = 1.0
T = TypeVar("T")
Role = Literal["primary", "replica"]
Status = Literal["ok", "down", "lagging"]


@dataclass(eq=False)
class Member:
    """One database the API reads from, and what the last check found."""

    name: str  # "primary", "replica-1", … (DATABASE_READ_URLS order): no host leaves the API
    role: Role
    engine: Engine
    sessions: sessionmaker[Session]
    versions: VersionReader  # the fast path's reader of its data version
    probe: ServerProbe | None  # only with replicas: nothing to route otherwise
    status: Status = "ok"
    lag_s: float | None = None  # replicas: how far behind the primary, as last checked
    caught_up_at: float | None = None  # monotonic time of the last check that found it caught up

    @property
    def in_rotation(self) -> bool:
        return self.role == "replica" and self.status == "ok"

    def dispose(self) -> None:
        self.engine.dispose()


class ReadRouter:
    def __init__(self, primary: Member, replicas: Sequence[Member], max_lag_s: float) -> None:
        self.primary = primary
        self.replicas = list(replicas)
        self.max_lag_s = max_lag_s
        self._turn = itertools.count()
        self._watcher: asyncio.Task[None] | None = None

    @property
    def members(self) -> list[Member]:
        return [self.primary, *self.replicas]

    def candidates(self, first: Member | None = None) -> list[Member]:
        """Where to read, in order: the replicas in rotation starting with the next in turn
        (or with `first`, where a request already read the data version), then the primary."""
        ready = [member for member in self.replicas if member.in_rotation]
        if ready:
            start = next(self._turn) % len(ready)
            ready = ready[start:] + ready[:start]
            if first is not None and first in ready:
                ready.remove(first)
                ready.insert(0, first)
        return [*ready, self.primary]

    def pick(self) -> Member:
        """The database the next read goes to."""
        return self.candidates()[0]

    def run(
        self,
        work: Callable[[Session], T],
        *,
        wanted: int | None = None,
        first: Member | None = None,
    ) -> T:
        """work(session) on the first candidate that answers, in one session (one snapshot).

        A database fault on a replica (down, or its connection cut mid-query) takes it out
        of the rotation and work runs again on the next candidate: work only reads, so
        running it again is safe. The primary's faults and any statement timeout are
        raised (503 and 504 problems). A replica whose data version is older than `wanted`
        (what the client has seen) is passed over.
        """
        candidates = self.candidates(first)
        for member in candidates[:-1]:
            try:
                with member.sessions() as session:
                    if wanted is not None and (data_version(session) or 0) < wanted:
                        continue
                    return work(session)
            except (OperationalError, InterfaceError) as exc:
                if database_for(member.engine).is_statement_timeout(exc):
                    raise
                self.failed(member, str(exc.orig).strip() if exc.orig else str(exc))
        with candidates[-1].sessions() as session:
            return work(session)

    def failed(self, member: Member, reason: str) -> None:
        """A request met a fault on member: out of the rotation until a check finds it well."""
        if member.role == "replica" and member.status == "ok":
            log.warning("%s leaves the read rotation: %s", member.name, reason.splitlines()[0])
        member.status = "down"

    # The checks.

    async def check(self) -> None:
        """Probe every database once and set which replicas are in the rotation."""
        if self.primary.probe is None:
            return
        primary = await _probe(self.primary.probe)
        primary_lsn = None
        if isinstance(primary, ServerState):
            self.primary.status = "ok"
            primary_lsn = None if primary.in_recovery else primary.lsn
        else:
            self._set(self.primary, "down", None, primary)
        states = await asyncio.gather(
            *(_probe(member.probe) for member in self.replicas if member.probe is not None)
        )
        now = time.monotonic()
        for member, state in zip(self.replicas, states, strict=True):
            if not isinstance(state, ServerState):
                self._set(member, "down", None, state)
                continue
            lag = self._lag(member, state, primary_lsn, now)
            fit = lag <= self.max_lag_s
            reason = "" if fit else f"{lag:.1f} s behind the primary"
            self._set(member, "ok" if fit else "lagging", lag, reason)

    def _lag(
        self, member: Member, state: ServerState, primary_lsn: int | None, now: float
    ) -> float:
        """Seconds member is behind: 0 when it has replayed what the primary had written when
        this check began (or, with the primary out of reach, all it received). Else the less
        of: the time since a check last found it caught up, and the age of the last commit it
        replayed (small while the primary commits often, large after a quiet spell)."""
        reference = primary_lsn if primary_lsn is not None else state.received_lsn
        if not state.in_recovery or reference is None or state.lsn >= reference:
            member.caught_up_at = now
            return 0.0
        behind_for = now - member.caught_up_at if member.caught_up_at is not None else math.inf
        replay_age = state.replay_age_s if state.replay_age_s is not None else math.inf
        return max(0.0, min(behind_for, replay_age))

    def _set(self, member: Member, status: Status, lag: float | None, reason: str) -> None:
        was = member.status
        member.status, member.lag_s = status, lag
        if member.role == "primary":
            if status != was:
                log.warning("primary is %s%s", status, f": {reason}" if reason else "")
        elif status == "ok" and was != "ok":
            log.warning("%s joins the read rotation", member.name)
        elif status != "ok" and was == "ok":
            log.warning("%s leaves the read rotation: %s (%s)", member.name, status, reason)

    async def start(self) -> None:
        """Check once (so the first requests are routed knowingly), then every
        CHECK_INTERVAL_S in the background."""
        if not self.replicas:
            return
        await self.check()
        self._watcher = asyncio.create_task(self._watch())

    async def _watch(self) -> None:
        while True:
            await asyncio.sleep(CHECK_INTERVAL_S)
            try:
                await self.check()
            except Exception:  # the checks must go on whatever one of them met
                log.exception("checking the databases failed")

    async def close(self) -> None:
        if self._watcher is not None:
            self._watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._watcher
        for member in self.members:
            await member.versions.close()
            if member.probe is not None:
                await member.probe.close()
            member.dispose()


async def _probe(probe: ServerProbe | None) -> ServerState | str:
    """The server's state, or why it could not be read."""
    if probe is None:
        return "no probe"
    try:
        return await probe.read()
    except ProbeError as exc:
        return str(exc).splitlines()[0] if str(exc) else "no answer"


def _member(name: str, role: Role, url: str, settings: Settings, probed: bool) -> Member:
    engine = make_engine(
        url,
        settings.db_pool_size,
        settings.statement_timeout_ms,
        read_only=True,
        cache_bytes=settings.sqlite_cache_bytes // (settings.threads + 1),
    )
    database = database_for(engine)
    probe = database.server_probe(engine.url) if probed else None
    return Member(
        name, role, engine, make_sessionmaker(engine), database.version_reader(engine.url), probe
    )


def open_reads(settings: Settings) -> ReadRouter:
    """The API's databases: the primary, and the replicas of DATABASE_READ_URLS. Raises
    ValueError when replicas are asked of a database that has none (SQLite)."""
    urls = settings.database_read_urls
    primary = _member("primary", "primary", settings.database_url, settings, bool(urls))
    try:
        replicas = [
            _member(f"replica-{i}", "replica", url, settings, True)
            for i, url in enumerate(urls, start=1)
        ]
    except ValueError:
        primary.dispose()
        raise
    return ReadRouter(primary, replicas, settings.max_replica_lag_s)
