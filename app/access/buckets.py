"""Token buckets, one per API key or client address: in this process, or shared through
Redis by every process and replica.

A rate of N per window is a bucket of N tokens that refills one every window/N seconds:
a client may spend N at once, then one per window/N. Kept as GCRA does (the generic cell
rate algorithm): one number per bucket, the theoretical arrival time (TAT), the instant at
which the bucket would be full again if nothing more were taken. A request is let through
unless TAT would pass now + window; taking a token moves TAT by window/N. Nothing has to
refill on a timer, and Redis updates the one number atomically in a script on its own
clock, so replicas' clocks do not matter. (The `limits` library has fixed and sliding
windows, not a token bucket; fixed windows let a client spend twice the quota across a
window's edge.)
"""

import logging
import math
import re
import time
from dataclasses import dataclass
from typing import Protocol

import redis.asyncio
import redis.exceptions

log = logging.getLogger("app")

UNITS = {"second": 1, "minute": 60, "hour": 3600, "day": 86400}
RATE = re.compile(r"\s*(\d+)\s*/\s*(second|minute|hour|day)s?\s*")
SWEEP_EVERY = 10_000  # in-process buckets: drop full ones every this many takes
EPSILON = 1e-6  # seconds: float error must not refuse a request exactly on time
REDIS_PREFIX = "news-archive:{archive}:bucket:"


@dataclass(frozen=True)
class Rate:
    """N requests per window, as written in settings: `600/minute`."""

    quota: int
    window: int  # seconds

    @property
    def interval(self) -> float:
        """Seconds to earn back one token."""
        return self.window / self.quota

    def __str__(self) -> str:
        unit = next(name for name, seconds in UNITS.items() if seconds == self.window)
        return f"{self.quota}/{unit}"


def parse_rate(text: str) -> Rate | None:
    """`600/minute` (second, minute, hour or day; a plural is fine); empty: no limit."""
    if not text.strip():
        return None
    match = RATE.fullmatch(text)
    if match is None or int(match[1]) < 1:
        raise ValueError(f"{text!r} is not a rate such as 600/minute (second, minute, hour, day)")
    return Rate(int(match[1]), UNITS[match[2]])


@dataclass(frozen=True)
class Decision:
    allowed: bool
    remaining: int  # tokens left now
    reset: int  # seconds until the bucket is full again
    retry_after: int  # seconds until a token is back (0 when allowed)


def decide(rate: Rate, now: float, tat: float) -> tuple[Decision, float]:
    """The decision for a request at now on a bucket whose TAT is tat, and the new TAT."""
    ahead = max(tat - now, 0.0)  # how far the bucket is from full, in seconds
    over = ahead + rate.interval - rate.window  # > 0: no token left
    if over > EPSILON:
        return Decision(False, 0, math.ceil(ahead), max(1, math.ceil(over))), now + ahead
    return _decision(rate, ahead + rate.interval), now + ahead + rate.interval


def _decision(rate: Rate, ahead: float) -> Decision:
    """An allowed request's decision, when the bucket's TAT is ahead seconds from now."""
    remaining = math.floor((rate.window - ahead) / rate.interval + 1e-9)
    return Decision(True, max(0, remaining), math.ceil(ahead), 0)


class Buckets(Protocol):
    async def take(self, name: str, rate: Rate) -> Decision | None:
        """Take a token from the bucket name, or say why not. None: the store failed
        (the request then goes through unlimited, rather than the API going down)."""
        ...

    async def close(self) -> None: ...


class MemoryBuckets:
    """This process's buckets: each worker counts on its own."""

    def __init__(self) -> None:
        self._tats: dict[str, float] = {}
        self._takes = 0

    async def take(self, name: str, rate: Rate) -> Decision | None:
        now = time.monotonic()
        decision, self._tats[name] = decide(rate, now, self._tats.get(name, now))
        self._takes += 1
        if self._takes % SWEEP_EVERY == 0:
            self._tats = {k: tat for k, tat in self._tats.items() if tat > now}
        return decision

    async def close(self) -> None:
        return None


# KEYS[1]: the bucket; ARGV: interval, window (seconds). Returns {allowed, ahead, retry}
# as strings (Lua numbers would come back truncated to integers).
GCRA_SCRIPT = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local interval, window = tonumber(ARGV[1]), tonumber(ARGV[2])
local ahead = (tonumber(redis.call('GET', KEYS[1])) or now) - now
if ahead < 0 then ahead = 0 end
local over = ahead + interval - window
if over > 1e-6 then
  return {'0', tostring(ahead), tostring(over)}
end
ahead = ahead + interval
redis.call('SET', KEYS[1], tostring(now + ahead), 'PX', math.ceil(ahead * 1000) + 1)
return {'1', tostring(ahead), '0'}
"""


class RedisBuckets:
    """Buckets in Redis, shared by every worker and replica that names the same server.

    Their keys carry the archive's name (archive_state.archive_id, set by name_after()):
    every replica of one archive shares them, and two archives on one Redis do not.
    """

    def __init__(self, url: str) -> None:
        self._redis = redis.asyncio.Redis.from_url(url, socket_timeout=1, socket_connect_timeout=1)
        self._script = self._redis.register_script(GCRA_SCRIPT)
        self._prefix = REDIS_PREFIX.format(archive="")
        self._warned_at = 0.0

    def name_after(self, archive_id: str) -> None:
        self._prefix = REDIS_PREFIX.format(archive=archive_id)

    async def take(self, name: str, rate: Rate) -> Decision | None:
        try:
            allowed, ahead, retry = await self._script(
                keys=[self._prefix + name], args=[rate.interval, rate.window]
            )
        except (TimeoutError, redis.exceptions.RedisError, OSError) as exc:
            if time.monotonic() - self._warned_at > 60:  # once a minute, not per request
                self._warned_at = time.monotonic()
                log.warning("rate limits off: Redis does not answer (%s)", exc)
            return None
        if allowed == b"1":
            return _decision(rate, float(ahead))
        wait = float(ahead)
        return Decision(False, 0, math.ceil(wait), max(1, math.ceil(float(retry))))

    async def close(self) -> None:
        await self._redis.aclose()
