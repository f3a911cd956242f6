"""Health endpoints: ``/livez`` (the process answers), ``/readyz`` (send it visitors) and
the older ``/healthz`` (every check), kept as it was for existing monitors.

Readiness is what a load balancer or Kubernetes acts on, so it fails only for what
visitors would notice here and not on another engine process: this process draining
(``presentation.drain``), or its database not answering. The XMPP link is reported but
does not fail it: visitors' messages are stored while the link is down and reach agents
when it returns, and every process would lose the same link at once, so taking them out
of the load balancer would only take the visitors away.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Collection, Mapping
from typing import Final

from aiohttp import web

from presentation.drain import Drain

logger = logging.getLogger(__name__)

HealthCheck = Callable[[], Awaitable[bool]]

HEALTH_CHECK_TIMEOUT: Final = 5.0
"""``/healthz``'s bound on each check."""

READY_CHECK_TIMEOUT: Final = 2.0
"""``/readyz``'s bound on each check: well inside the usual probe timeouts (Kubernetes
defaults to 1 s, HAProxy to 2 s), so a slow database answers 503, not a timed-out probe."""

READY_CACHE_SECONDS: Final = 1.0
"""How long one round of checks answers ``/readyz``: however many load balancers and
kubelets probe, the database sees at most about one query a second from them."""


class Readiness:
    """The checks behind ``/readyz`` and ``/healthz``, and the drain state.

    ``checks`` are named probes returning whether their dependency works; those named in
    ``reported_only`` are shown by ``/readyz`` without failing it. One round of checks
    runs at a time and its result is reused for ``cache_seconds``; draining is read live,
    so it turns ``/readyz`` to 503 on the next probe.
    """

    def __init__(
        self,
        checks: Mapping[str, HealthCheck],
        *,
        reported_only: Collection[str] = (),
        drain: Drain,
        cache_seconds: float = READY_CACHE_SECONDS,
        timeout: float = READY_CHECK_TIMEOUT,
    ) -> None:
        unknown = set(reported_only) - set(checks)
        if unknown:
            raise ValueError(f"reported_only names unknown checks: {', '.join(sorted(unknown))}")
        self.checks: Mapping[str, HealthCheck] = dict(checks)
        self.reported_only = frozenset(reported_only)
        self.drain = drain
        self._cache_seconds = cache_seconds
        self._timeout = timeout
        self._last: dict[str, bool] | None = None
        self._last_at = 0.0
        self._lock = asyncio.Lock()

    async def ready(self) -> tuple[bool, dict[str, object]]:
        """Whether to send visitors here, and the JSON body that says why."""
        results = await self._cached_results()
        draining = self.drain.draining
        ok = not draining and all(
            passed for name, passed in results.items() if name not in self.reported_only
        )
        return ok, {
            "status": "ok" if ok else "fail",
            "draining": draining,
            "checks": {name: "ok" if passed else "fail" for name, passed in results.items()},
            "reported_only": sorted(self.reported_only),
        }

    async def _cached_results(self) -> dict[str, bool]:
        async with self._lock:
            now = time.monotonic()
            if self._last is None or now - self._last_at >= self._cache_seconds:
                self._last = await run_checks(self.checks, self._timeout)
                # From the end of the round: a round slower than the cache lifetime must
                # not make the next probe start another one at once.
                self._last_at = time.monotonic()
            return self._last


async def run_checks(checks: Mapping[str, HealthCheck], timeout: float) -> dict[str, bool]:
    """Every check at once, each bounded by ``timeout``; a raising check has failed."""
    names = list(checks)
    results = await asyncio.gather(*(_run_check(name, checks[name], timeout) for name in names))
    return dict(zip(names, results, strict=True))


async def _run_check(name: str, check: HealthCheck, timeout: float) -> bool:
    try:
        async with asyncio.timeout(timeout):
            return bool(await check())
    except Exception:
        logger.warning("health check %s failed", name, exc_info=True)
        return False


READINESS_KEY: Final = web.AppKey("readiness", Readiness)

_NO_STORE: Final = {"Cache-Control": "no-store"}


def add_health_routes(router: web.UrlDispatcher) -> None:
    router.add_get("/livez", livez)
    router.add_get("/readyz", readyz)
    router.add_get("/healthz", healthz)


async def livez(request: web.Request) -> web.Response:
    """200 whenever the event loop gets to answer: no dependency is checked, so a
    database or XMPP outage never gets a healthy process restarted."""
    return web.json_response({"status": "ok"}, headers=_NO_STORE)


async def readyz(request: web.Request) -> web.Response:
    ok, body = await request.app[READINESS_KEY].ready()
    return web.json_response(body, status=200 if ok else 503, headers=_NO_STORE)


async def healthz(request: web.Request) -> web.Response:
    """Every check, the XMPP link included, uncached: what monitors used before
    ``/readyz``; not for load balancers (it fails while the XMPP link is down)."""
    passed = await run_checks(request.app[READINESS_KEY].checks, HEALTH_CHECK_TIMEOUT)
    healthy = all(passed.values())
    return web.json_response(
        {
            "status": "ok" if healthy else "fail",
            "checks": {name: "ok" if ok else "fail" for name, ok in passed.items()},
        },
        status=200 if healthy else 503,
        headers=_NO_STORE,
    )
