"""Rate limits shared by every engine process through Redis (``http.redis_url``).

Behind a load balancer a client's requests reach several processes: sticky sessions
keep one Socket.IO connection on one process, but a client that drops the cookie, opens
another tab or only reads the widget's configuration is balanced afresh. A budget kept
per process would then be multiplied by the number of processes, so the limits that
count per client address (connects, new visitors, widget reads) and the visitor's
conversation starts and ends (each may cost an agent a chat) are kept in Redis when it
is configured. The per-visitor event and sync limits stay per process: they are checked
on every message, a Redis round trip there would be on the message path, and a
visitor's sockets share one process while the sticky cookie holds.

Each limit is the same token bucket as ``presentation.limits.TokenBucket`` (``burst``
at once, then ``rate`` per second), kept as one Redis key per client in the form of the
generic cell rate algorithm: the key holds the time at which the bucket is full again,
and a Lua script reads and moves it atomically, with Redis's own clock, so that the
processes' clocks do not matter. The key expires when the bucket is full again.

When Redis does not answer (down, or slower than ``timeout``) a limit fails over to
the process's own bucket, never fully open: the budget is then per process, as without
Redis. That is logged once per outage; Redis is tried again ``retry_after`` seconds
later, and its recovery is logged too.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Protocol

logger = logging.getLogger(__name__)

DEFAULT_PREFIX = "chat-engine:limit:"
RETRY_AFTER = 5.0
"""Seconds the per-process buckets stand in after Redis failed, before it is tried again."""
TIMEOUT = 0.5
"""Seconds a limit waits for Redis at most (a connect or an answer)."""

# KEYS[1]: the client's key. ARGV: rate per second, burst. Returns the seconds to wait
# as a string (a Lua number would come back as a truncated integer); "0": go ahead.
_GCRA = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local interval = 1 / tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local full_at = now
local stored = redis.call('GET', KEYS[1])
if stored then
  full_at = math.max(tonumber(stored), now)
end
local after = full_at + interval
local wait = after - now - burst * interval
if wait > 0 then
  return string.format('%.6f', wait)
end
redis.call('SET', KEYS[1], string.format('%.6f', after), 'PX', math.ceil((after - now) * 1000) + 1)
return '0'
"""


class Script(Protocol):
    """A registered Lua script (``redis.asyncio.Redis.register_script``)."""

    def __call__(self, keys: Sequence[str], args: Sequence[float | int]) -> Awaitable[object]: ...


class RedisClient(Protocol):
    """What is used of ``redis.asyncio.Redis``."""

    def register_script(self, script: str) -> Script: ...

    async def aclose(self) -> None: ...


class SharedBuckets:
    """Token buckets by limit name and key in Redis, shared by the processes that use
    the same Redis and ``prefix``."""

    def __init__(
        self,
        client: RedisClient,
        *,
        prefix: str = DEFAULT_PREFIX,
        retry_after: float = RETRY_AFTER,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._client = client
        self._script = client.register_script(_GCRA)
        self._prefix = prefix
        self._retry_after = retry_after
        self._clock = clock
        self._down_until: float | None = None
        """While Redis is taken for down: when to try it again."""

    @property
    def available(self) -> bool:
        """False while the per-process buckets stand in (Redis failed lately)."""
        return self._down_until is None

    async def take(self, name: str, key: str, *, burst: int, rate: float) -> float | None:
        """0.0 if ``key`` may go ahead under limit ``name``, else the seconds to wait;
        None when Redis could not say (the caller then uses its own bucket)."""
        if self._down_until is not None and self._clock() < self._down_until:
            return None
        try:
            answer = await self._script(keys=(f"{self._prefix}{name}:{key}",), args=(rate, burst))
            wait = float(answer.decode() if isinstance(answer, bytes) else str(answer))
        except Exception as error:  # any failure: the local bucket decides
            if self._down_until is None:
                logger.warning(
                    "Redis did not answer a rate limit (%s: %s): each process counts its "
                    "own budgets until it does",
                    type(error).__name__,
                    error,
                )
            self._down_until = self._clock() + self._retry_after
            return None
        if self._down_until is not None:
            self._down_until = None
            logger.info("Redis answers again: rate limits are shared by the processes")
        return wait

    async def close(self) -> None:
        await self._client.aclose()


def redis_buckets(url: str, *, prefix: str = DEFAULT_PREFIX) -> SharedBuckets:
    """Buckets in the Redis at ``url``; nothing is connected before the first use.
    redis-py is imported here only: it is an optional dependency (``[redis]``)."""
    import redis.asyncio

    client = redis.asyncio.Redis.from_url(
        url, socket_timeout=TIMEOUT, socket_connect_timeout=TIMEOUT, retry=None
    )
    return SharedBuckets(client, prefix=prefix)
