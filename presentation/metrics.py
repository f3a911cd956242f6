"""``GET /metrics``: the engine's metrics in the Prometheus text format (or OpenMetrics,
when the scraper asks for it), through prometheus-client.

Each app has a registry of its own (``EngineMetrics``), so two apps in one process (the
tests) never share a series. Two kinds of series:

- counted from committed events by ``presentation.metrics_notifier.MetricsNotifier``:
  messages each way, conversations started and ended, offers and their outcomes, the
  wait of each chat an agent takes;
- read at scrape time (``refresh``): connected visitors, open conversations by state and
  queue and each queue's waiting count (``business.live_counts``, shared for a few
  seconds), and what the composition root hands in as ``MetricsSources`` because this
  layer may not import the others: the XMPP link state, how far agent delivery trails,
  a timed database ping, the webhook backlog (a count over the outbox, so kept for
  ``WEBHOOK_BACKLOG_TTL`` seconds: scrapes from several Prometheus servers cost one).

There is no key: operators keep ``/metrics`` off the public network (see
docs/operations.md).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Final, TypeVar

from aiohttp import web
from cachetools import TTLCache
from prometheus_client import CollectorRegistry
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.exposition import choose_encoder
from prometheus_client.registry import Collector

from business.live_counts import LiveCounts
from business.model import OPEN_STATES
from business.services import Services
from presentation.metrics_notifier import MetricsNotifier

logger = logging.getLogger(__name__)

_T = TypeVar("_T")

SCRAPE_TIMEOUT: Final = 5.0
"""Seconds any one source may take before the scrape goes on without it."""
WEBHOOK_BACKLOG_TTL: Final = 5.0
"""Seconds a read webhook backlog is reported before it is read again."""


async def no_webhook_backlog() -> int:
    """The webhook backlog of an app with no outbox behind it (the app alone, in tests):
    nothing waits. The engine gives ``WebhookService.backlog`` instead."""
    return 0


@dataclass(frozen=True, slots=True, kw_only=True)
class MetricsSources:
    """What ``/metrics`` reads from the other layers, wired by the composition root; a
    source left None has no series."""

    xmpp_connected: Callable[[], bool] | None = None
    """Whether the link to the XMPP server is up and caught up."""
    delivery_lag: Callable[[], float] | None = None
    """Seconds the oldest event sent to an agent has waited for its delivery to be
    confirmed and stored (0 when nothing waits)."""
    database_ping: Callable[[], Awaitable[bool]] | None = None
    """A trivial query; timed for ``chat_database_ping_seconds``."""
    webhook_backlog: Callable[[], Awaitable[int]] = no_webhook_backlog
    """How many webhook deliveries wait (hook for the webhook outbox)."""
    timer: Callable[[], float] = time.monotonic
    """Seconds, by which cached readings age (a test's clock)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class _Reading:
    """What one scrape read; None: not available (no source, or it failed)."""

    visitors: tuple[int, int] | None = None
    """(distinct visitors, sockets) connected to this process."""
    live: LiveCounts | None = None
    xmpp_connected: bool | None = None
    delivery_lag: float | None = None
    database_up: bool | None = None
    database_ping_seconds: float | None = None
    webhook_backlog: int | None = None


class EngineMetrics:
    """The registry of one app: the event counters and the scrape-time collector."""

    def __init__(
        self,
        *,
        services: Services,
        sources: MetricsSources,
        visitors: Callable[[], tuple[int, int] | None],
    ) -> None:
        self.registry = CollectorRegistry()
        self.notifier = MetricsNotifier(self.registry)
        self._services = services
        self._sources = sources
        self._visitors = visitors
        self._collector = _ScrapeCollector()
        self.registry.register(self._collector)
        self._backlog: TTLCache[str, int] = TTLCache(
            maxsize=1, ttl=WEBHOOK_BACKLOG_TTL, timer=sources.timer
        )
        self._backlog_lock = asyncio.Lock()

    async def refresh(self) -> None:
        """Read what is read at scrape time; a source that fails or hangs is logged and
        left out of this scrape (an absent series, not a wrong one)."""
        sources = self._sources
        live, up, backlog = await asyncio.gather(
            _within("live counts", self._services.live_counts.counts()),
            _within("database ping", _timed(sources.database_ping)),
            _within("webhook backlog", self._webhook_backlog()),
        )
        self._collector.reading = _Reading(
            visitors=self._visitors(),
            live=live,
            xmpp_connected=None if sources.xmpp_connected is None else sources.xmpp_connected(),
            delivery_lag=None if sources.delivery_lag is None else sources.delivery_lag(),
            database_up=None if sources.database_ping is None else up is not None and up[0],
            database_ping_seconds=None if up is None or not up[0] else up[1],
            webhook_backlog=backlog,
        )

    async def _webhook_backlog(self) -> int:
        # Concurrent scrapes share one read; a failed read is not kept.
        if (cached := self._backlog.get("backlog")) is not None:
            return cached
        async with self._backlog_lock:
            if (cached := self._backlog.get("backlog")) is not None:
                return cached
            backlog = await self._sources.webhook_backlog()
            self._backlog["backlog"] = backlog
            return backlog


async def _timed(ping: Callable[[], Awaitable[bool]] | None) -> tuple[bool, float] | None:
    if ping is None:
        return None
    started = time.perf_counter()
    ok = await ping()
    return ok, time.perf_counter() - started


async def _within(what: str, reading: Awaitable[_T]) -> _T | None:
    try:
        async with asyncio.timeout(SCRAPE_TIMEOUT):
            return await reading
    except Exception:
        logger.warning("metrics: reading the %s failed", what, exc_info=True)
        return None


class _ScrapeCollector(Collector):
    """Turns the last reading into gauge families (custom families rather than gauges,
    so a queue that is gone leaves no stale series behind)."""

    def __init__(self) -> None:
        self.reading = _Reading()

    def describe(self) -> Iterable[Metric]:
        # Without it the registry would collect once at registration, before any reading.
        return ()

    def collect(self) -> Iterator[Metric]:
        reading = self.reading
        if reading.visitors is not None:
            visitors, sockets = reading.visitors
            yield _gauge("chat_visitors_connected", "Visitors connected to this process", visitors)
            yield _gauge(
                "chat_visitor_sockets", "Visitor sockets (tabs) open on this process", sockets
            )
        if reading.live is not None:
            yield from _live(reading.live)
        if reading.xmpp_connected is not None:
            yield _gauge(
                "chat_xmpp_link_up",
                "1 while the link to the XMPP server is up and caught up, else 0",
                1 if reading.xmpp_connected else 0,
            )
        if reading.delivery_lag is not None:
            yield _gauge(
                "chat_agent_delivery_lag_seconds",
                "How long the oldest event sent to an agent has waited for its delivery "
                "cursor to be stored (0: nothing waits)",
                reading.delivery_lag,
            )
        if reading.database_up is not None:
            yield _gauge(
                "chat_database_up",
                "1 when a trivial query succeeds",
                1 if reading.database_up else 0,
            )
        if reading.database_ping_seconds is not None:
            yield _gauge(
                "chat_database_ping_seconds",
                "Round trip of a trivial query at this scrape",
                reading.database_ping_seconds,
            )
        if reading.webhook_backlog is not None:
            yield _gauge(
                "chat_webhook_backlog",
                "Webhook deliveries waiting to be sent",
                reading.webhook_backlog,
            )


def _gauge(name: str, documentation: str, value: float) -> GaugeMetricFamily:
    return GaugeMetricFamily(name, documentation, value=value)


def _live(live: LiveCounts) -> Iterator[Metric]:
    conversations = GaugeMetricFamily(
        "chat_conversations",
        "Open conversations by tenant, queue and state (the whole store's: every engine "
        "process reports the same)",
        labels=["tenant", "queue", "state"],
    )
    queues = set(live.waiting) | {(tenant, queue) for tenant, queue, _ in live.conversations}
    for tenant, queue in sorted(queues):
        for state in OPEN_STATES:
            count = live.conversations.get((tenant, queue, state), 0)
            conversations.add_metric([tenant, queue, state.value], count)
    yield conversations
    waiting = GaugeMetricFamily(
        "chat_queue_waiting",
        "Conversations waiting in each queue (the whole store's)",
        labels=["tenant", "queue"],
    )
    for (tenant, queue), count in sorted(live.waiting.items()):
        waiting.add_metric([tenant, queue], count)
    yield waiting


# -- the endpoint ---------------------------------------------------------------------

METRICS_KEY: Final = web.AppKey("metrics", EngineMetrics)


async def metrics_endpoint(request: web.Request) -> web.Response:
    metrics = request.app[METRICS_KEY]
    await metrics.refresh()
    encode, content_type = choose_encoder(request.headers.get("Accept", ""))
    return web.Response(
        body=encode(metrics.registry),
        headers={"Content-Type": content_type, "Cache-Control": "no-store"},
    )
