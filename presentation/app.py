"""The aiohttp application: Socket.IO visitors, widget assets, demo page, health
(``presentation.health``), metrics and the REST API (``presentation.api``, mounted at
``/api/v1``); and the drain of its visitors (``drain_visitors``)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
from collections.abc import AsyncIterator, Collection, Mapping
from pathlib import Path
from typing import Final

import engineio
from aiohttp import web
from aiohttp.typedefs import Middleware

from business.model import ParticipantKind
from business.services import Services
from presentation.analytics_api import AnalyticsEventEndpoint
from presentation.api import PREFIX as API_PREFIX, build_api
from presentation.demo_pages import add_demo_routes
from presentation.drain import Drain
from presentation.encoded_bodies import refuse_encoded_bodies
from presentation.engineio_connections import (
    REFUSED_KEY,
    EngineIoConnections,
    refuse_oversized_post,
)
from presentation.event_refs import EventRefs
from presentation.file_api import FileEndpoints
from presentation.health import READINESS_KEY, HealthCheck, Readiness, add_health_routes
from presentation.limits import VisitorLimits
from presentation.metrics import METRICS_KEY, EngineMetrics, MetricsSources, metrics_endpoint
from presentation.notifier import SocketIoVisitorNotifier
from presentation.output_bound import OutputBound
from presentation.redis_resync import ResyncingRedisManager, VisitorResync
from presentation.send_buffer import bound_websocket_send_buffer
from presentation.settings import WebSettings
from presentation.shared_limits import redis_buckets
from presentation.socketio_server import RedisConnections, VisitorServer, build_server
from presentation.visitor_api import VisitorEventEndpoint
from presentation.visitor_namespace import NAMESPACE, VisitorNamespace
from presentation.visitor_threads_api import VisitorThreadsEndpoint
from presentation.visitor_widget_api import VisitorWidgetEndpoint

logger = logging.getLogger(__name__)

__all__ = ["HealthCheck", "create_app", "drain_visitors"]

WIDGET_DIST: Final = Path(__file__).parent / "widget" / "dist"
ACK_SETTLE_SECONDS: Final = 5.0
"""How long the end of a drain waits for the events being handled to be acked."""
SOCKETIO_PATH: Final = "/socket.io/"

SETTINGS_KEY: Final = web.AppKey("settings", WebSettings)
SERVICES_KEY: Final = web.AppKey("services", Services)
DRAIN_KEY: Final = web.AppKey("drain", Drain)
WIDGET_DIR_KEY: Final = web.AppKey("widget_dir", Path)
# Set while the app runs (see ``_socketio``).
SIO_KEY: Final = web.AppKey("sio", VisitorServer)
NAMESPACE_KEY: Final = web.AppKey("visitor_namespace", VisitorNamespace)
NOTIFIER_KEY: Final = web.AppKey("visitor_notifier", SocketIoVisitorNotifier)
OUTPUT_KEY: Final = web.AppKey("output_bound", OutputBound)
LIMITS_KEY: Final = web.AppKey("visitor_limits", VisitorLimits)
"""Shared by the Socket.IO namespace and the visitor's HTTP reads."""
ENGINEIO_KEY: Final = web.AppKey("engineio_connections", EngineIoConnections)

_ASSET_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}")
_CONTENT_TYPES: Final = {
    ".js": "text/javascript",
    ".mjs": "text/javascript",
    ".map": "application/json",
    ".css": "text/css",
}


def create_app(
    *,
    services: Services,
    settings: WebSettings,
    health: Mapping[str, HealthCheck] | None = None,
    reported_only: Collection[str] = (),
    widget_dir: Path | None = None,
    metrics: MetricsSources | None = None,
    api_docs_dir: Path | None = None,
) -> web.Application:
    """Build the web application; ``widget_dir`` and ``api_docs_dir`` override where the
    built widget and API docs assets live, ``metrics`` is what ``/metrics`` reads from the
    other layers. ``health`` are the checks of ``/healthz`` and ``/readyz``, which only
    reports those named in ``reported_only``."""
    middlewares: list[Middleware] = [refuse_encoded_bodies]
    if settings.websocket_send_buffer_bytes > 0:
        middlewares.append(bound_websocket_send_buffer(settings.websocket_send_buffer_bytes))
    app = web.Application(middlewares=middlewares)
    app[SETTINGS_KEY] = settings
    app[SERVICES_KEY] = services
    app[DRAIN_KEY] = Drain()
    app[READINESS_KEY] = Readiness(health or {}, reported_only=reported_only, drain=app[DRAIN_KEY])
    app[WIDGET_DIR_KEY] = widget_dir or WIDGET_DIST
    # With Redis the per-address limits are every process's together.
    shared = None if settings.redis_url is None else redis_buckets(settings.redis_url)
    app[LIMITS_KEY] = VisitorLimits(settings, shared=shared)
    if shared is not None:
        app.on_cleanup.append(lambda _: shared.close())
    app[METRICS_KEY] = EngineMetrics(
        services=services,
        sources=metrics or MetricsSources(),
        visitors=lambda: _connected_visitors(app),
    )

    app.cleanup_ctx.append(_socketio)
    app.cleanup_ctx.append(_metrics)
    app.on_shutdown.append(_stop_socketio)
    # What python-socketio's attach() would add, routed through the server of the
    # running app, which exists only between startup and cleanup.
    for method in ("GET", "POST", "OPTIONS"):
        app.router.add_route(method, SOCKETIO_PATH, socketio_request)
    add_health_routes(app.router)
    app.router.add_get("/metrics", metrics_endpoint)
    add_demo_routes(app.router, settings)
    app.router.add_get("/widget/{name}", widget_asset)
    FileEndpoints(services=services, settings=settings, limits=app[LIMITS_KEY]).add_routes(
        app.router
    )
    VisitorEventEndpoint(services=services, settings=settings, limits=app[LIMITS_KEY]).add_routes(
        app.router
    )
    VisitorThreadsEndpoint(services=services, settings=settings, limits=app[LIMITS_KEY]).add_routes(
        app.router
    )
    VisitorWidgetEndpoint(services=services, settings=settings, limits=app[LIMITS_KEY]).add_routes(
        app.router
    )
    api = build_api(services=services, max_body=settings.api_max_body_bytes, docs_dir=api_docs_dir)
    # The widget's analytics reports: public, under the API's prefix (not in its document).
    AnalyticsEventEndpoint(services=services, settings=settings, limits=app[LIMITS_KEY]).add_routes(
        api.router
    )
    app.add_subapp(API_PREFIX, api)
    if not (app[WIDGET_DIR_KEY] / "loader.js").is_file():
        logger.warning("the widget is not built (%s): %s", app[WIDGET_DIR_KEY], _NOT_BUILT)
    return app


async def _socketio(app: web.Application) -> AsyncIterator[None]:
    """The Socket.IO server with its message queue, namespace and notifier, for as long
    as the app runs: built at startup; at cleanup every task it started is stopped (the
    Redis listener would otherwise reconnect every second, forever) and its Redis
    connections are closed."""
    settings = app[SETTINGS_KEY]
    services = app[SERVICES_KEY]
    redis = RedisConnections() if settings.redis_url is not None else None
    sio = build_server(settings, redis)
    output = OutputBound(
        sio,
        namespace=NAMESPACE,
        max_queued_packets=settings.max_queued_packets,
        check_seconds=settings.output_check_seconds,
    )
    namespace = VisitorNamespace(
        sio=sio,
        services=services,
        settings=settings,
        limits=app[LIMITS_KEY],
        output=output,
        drain=app[DRAIN_KEY],
    )
    namespace.register()
    connections = EngineIoConnections(
        sio,
        limits=app[LIMITS_KEY],
        output=output,
        namespace=NAMESPACE,
        max_per_address=settings.max_connections_per_address,
        connect_timeout=settings.connect_timeout_seconds,
    )
    connections.install()
    notifier = SocketIoVisitorNotifier(
        sio,
        refs=EventRefs(
            inline_max_bytes=settings.event_inline_max_bytes,
            attachment_url=services.files.links.for_visitor,
        ),
    )
    if isinstance(sio.manager, ResyncingRedisManager):
        sio.manager.resync = VisitorResync(sio, services, notifier.refs).run
    app[SIO_KEY] = sio
    app[NAMESPACE_KEY] = namespace
    app[NOTIFIER_KEY] = notifier
    app[OUTPUT_KEY] = output
    app[ENGINEIO_KEY] = connections
    # The visitors' side: an agent's message reaches them before anything else hears of it.
    services.publisher.subscribe(notifier, audience=ParticipantKind.VISITOR)
    sio.start_background_task(output.watch)
    sio.start_background_task(connections.watch, min(1.0, settings.connect_timeout_seconds / 4))
    try:
        yield
    finally:
        services.publisher.unsubscribe(notifier)
        await sio.stop_background_tasks()
        if redis is not None:
            await redis.close()


async def _metrics(app: web.Application) -> AsyncIterator[None]:
    """The metrics' event counters follow what is committed while the app runs."""
    publisher = app[SERVICES_KEY].publisher
    notifier = app[METRICS_KEY].notifier
    publisher.subscribe(notifier)
    try:
        yield
    finally:
        publisher.unsubscribe(notifier)


def _connected_visitors(app: web.Application) -> tuple[int, int] | None:
    """(visitors, sockets) connected to this process; None while the app is not running."""
    namespace = app.get(NAMESPACE_KEY)
    if namespace is None:
        return None
    return namespace.visitor_count, namespace.socket_count


async def _stop_socketio(app: web.Application) -> None:
    await app[SIO_KEY].shutdown()


async def socketio_request(request: web.Request) -> web.StreamResponse:
    """Every Engine.IO request (polling, WebSocket, CORS preflight)."""
    if (refusal := await refuse_oversized_post(request.app[SIO_KEY], request)) is not None:
        return refusal
    with request.app[OUTPUT_KEY].websocket_upgrade(request):
        response: web.StreamResponse = await request.app[SIO_KEY].handle_request(request)
    if request.get(REFUSED_KEY) and not response.prepared:
        # python-engineio answers a refused handshake 401; it is a limit, not a login.
        response.set_status(429)
        response.headers["Retry-After"] = "10"
    return response


def make_runner(
    app: web.Application, *, shutdown_timeout: float, handle_signals: bool = False
) -> web.AppRunner:
    """The runner for an app of ``create_app``, with the HTTP connection bounds of its
    settings (``http_idle_timeout_seconds``: aiohttp's own default is an hour), and
    request bodies never inflated (``presentation.encoded_bodies``)."""
    return web.AppRunner(
        app,
        handle_signals=handle_signals,
        shutdown_timeout=shutdown_timeout,
        keepalive_timeout=app[SETTINGS_KEY].http_idle_timeout_seconds,
        auto_decompress=False,
    )


# -- drain --------------------------------------------------------------------------


async def drain_visitors(
    app: web.Application, *, grace: float, cut_short: asyncio.Event | None = None
) -> None:
    """Let the visitors of this running app go (see ``presentation.drain``): refuse new
    connections and conversations at once (``/readyz`` turns 503), keep acking those
    here for up to ``grace`` seconds (less once none is left, or once ``cut_short``
    is set), then refuse every event, wait for the acks being made and close every
    connection, which clients take as a lost connection and reconnect."""
    drain = app[DRAIN_KEY]
    drain.begin()
    namespace = app.get(NAMESPACE_KEY)
    if namespace is None:
        return
    logger.info("draining: %d visitor sockets have up to %.0f s", namespace.counted_sockets, grace)
    cut_short = cut_short or asyncio.Event()
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(grace):
            # Polled: sockets come and go in several places, and ten looks a second
            # for a few seconds cost nothing.
            while namespace.counted_sockets or drain.handling:
                if cut_short.is_set():
                    break
                await asyncio.sleep(_DRAIN_POLL_SECONDS)
    drain.close()
    if not await drain.settled(ACK_SETTLE_SECONDS):
        logger.warning("draining: %d events were still being handled", drain.handling)
    await _close_connections(app[SIO_KEY].eio)


async def _close_connections(eio: engineio.AsyncServer) -> None:
    """Close every Engine.IO connection, after what was queued for it.

    Below Socket.IO, so that clients see a lost connection and reconnect by themselves:
    after a Socket.IO disconnect the JavaScript client leaves reconnecting to the
    application. python-engineio sends its close packet and waits for the queue to be
    written (bounded here: a long-polling client may not poll again), but leaves a
    WebSocket open, and the JavaScript client ignores that packet on a WebSocket; ending
    the socket's writer, as python-engineio does itself when a client goes, closes it
    (see ``presentation.output_bound`` on reading ``eio.sockets`` and their queues)."""
    sockets = dict(eio.sockets)
    if sockets:
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(ACK_SETTLE_SECONDS):
                await asyncio.gather(*(eio.disconnect(eio_sid) for eio_sid in sockets))
        for socket in sockets.values():
            socket.queue.put_nowait(None)
    logger.info("drained: closed %d visitor connections", len(sockets))


_DRAIN_POLL_SECONDS: Final = 0.1


# -- widget assets and demo ---------------------------------------------------------

_NOT_BUILT = (
    "The chat widget has not been built. Run `npm ci && npm run build` in "
    "presentation/widget, then reload."
)


async def widget_asset(request: web.Request) -> web.StreamResponse:
    name = request.match_info["name"]
    directory = request.app[WIDGET_DIR_KEY]
    if not (directory / "loader.js").is_file():
        raise web.HTTPNotFound(text=_NOT_BUILT)
    path = directory / name
    if not _ASSET_NAME.fullmatch(name) or not path.is_file():
        raise web.HTTPNotFound(text=f"no widget asset named {name[:100]!r}")
    content_type = _CONTENT_TYPES.get(path.suffix, "application/octet-stream")
    headers = {
        "Content-Type": f"{content_type}; charset=utf-8",
        # Sites embed loader.js by a fixed URL, so a new build must reach them soon;
        # the loader asks for manager.js, and it for widget.js, with a content hash.
        "Cache-Control": "public, max-age=300",
        "X-Content-Type-Options": "nosniff",
    }
    if path.suffix == ".mjs":
        # The headless core (chat-core.mjs) is imported as a module, which browsers fetch
        # with CORS; it is public code, so any site may import it.
        headers["Access-Control-Allow-Origin"] = "*"
    return web.FileResponse(path, headers=headers)
