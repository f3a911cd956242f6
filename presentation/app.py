"""The aiohttp application: Socket.IO visitors, widget assets, demo page, health,
metrics and the REST API (``presentation.api``, mounted at ``/api/v1``)."""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from pathlib import Path
from typing import Final

from aiohttp import web

from business.services import Services
from presentation.analytics_api import AnalyticsEventEndpoint
from presentation.api import PREFIX as API_PREFIX, build_api
from presentation.demo_pages import add_demo_routes
from presentation.encoded_bodies import refuse_encoded_bodies
from presentation.engineio_connections import (
    REFUSED_KEY,
    EngineIoConnections,
    refuse_oversized_post,
)
from presentation.event_refs import EventRefs
from presentation.file_api import FileEndpoints
from presentation.limits import VisitorLimits
from presentation.metrics import METRICS_KEY, EngineMetrics, MetricsSources, metrics_endpoint
from presentation.notifier import SocketIoVisitorNotifier
from presentation.output_bound import OutputBound
from presentation.settings import WebSettings
from presentation.socketio_server import RedisConnections, VisitorServer, build_server
from presentation.visitor_api import VisitorEventEndpoint
from presentation.visitor_namespace import NAMESPACE, VisitorNamespace
from presentation.visitor_threads_api import VisitorThreadsEndpoint
from presentation.visitor_widget_api import VisitorWidgetEndpoint

logger = logging.getLogger(__name__)

HealthCheck = Callable[[], Awaitable[bool]]

WIDGET_DIST: Final = Path(__file__).parent / "widget" / "dist"
HEALTH_CHECK_TIMEOUT: Final = 5.0
SOCKETIO_PATH: Final = "/socket.io/"

SETTINGS_KEY: Final = web.AppKey("settings", WebSettings)
SERVICES_KEY: Final = web.AppKey("services", Services)
HEALTH_KEY: Final = web.AppKey("health_checks", Mapping[str, HealthCheck])
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
    widget_dir: Path | None = None,
    metrics: MetricsSources | None = None,
    api_docs_dir: Path | None = None,
) -> web.Application:
    """Build the web application; ``widget_dir`` and ``api_docs_dir`` override where the
    built widget and API docs assets live, ``metrics`` is what ``/metrics`` reads from the
    other layers."""
    app = web.Application(middlewares=[refuse_encoded_bodies])
    app[SETTINGS_KEY] = settings
    app[SERVICES_KEY] = services
    app[HEALTH_KEY] = dict(health or {})
    app[WIDGET_DIR_KEY] = widget_dir or WIDGET_DIST
    app[LIMITS_KEY] = VisitorLimits(settings)
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
    app.router.add_get("/healthz", healthz)
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
    app[SIO_KEY] = sio
    app[NAMESPACE_KEY] = namespace
    app[NOTIFIER_KEY] = notifier
    app[OUTPUT_KEY] = output
    app[ENGINEIO_KEY] = connections
    services.publisher.subscribe(notifier)
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


# -- health -------------------------------------------------------------------------


async def healthz(request: web.Request) -> web.Response:
    checks = request.app[HEALTH_KEY]
    names = list(checks)
    results = await asyncio.gather(*(_run_check(name, checks[name]) for name in names))
    passed = dict(zip(names, results, strict=True))
    healthy = all(passed.values())
    return web.json_response(
        {
            "status": "ok" if healthy else "fail",
            "checks": {name: "ok" if ok else "fail" for name, ok in passed.items()},
        },
        status=200 if healthy else 503,
        headers={"Cache-Control": "no-store"},
    )


async def _run_check(name: str, check: HealthCheck) -> bool:
    try:
        async with asyncio.timeout(HEALTH_CHECK_TIMEOUT):
            return bool(await check())
    except Exception:
        logger.warning("health check %s failed", name, exc_info=True)
        return False


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
