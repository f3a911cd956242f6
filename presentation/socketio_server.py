"""The python-socketio server of the visitor edge: what it may be asked by which pages,
and how everything it starts is stopped again.

python-socketio has no way to stop a message-queue manager: its Redis listener is a task
started through ``start_background_task`` that reconnects every second, forever, and
its Redis connections have no close. Both are reached here through public API only: the
server keeps the tasks it starts, and redis-py reports each connection it opens through
``redis_connect_func`` (passed down by python-socketio's ``redis_options``).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine, Mapping
from typing import Any, Protocol
from urllib.parse import urlsplit

import socketio

from presentation.engineio_writer import QuickPollServer
from presentation.packet_json import PacketJson
from presentation.redis_resync import ResyncingRedisManager
from presentation.room_index import IndexedAsyncManager
from presentation.settings import WebSettings

logger = logging.getLogger(__name__)


class VisitorServer(socketio.AsyncServer):  # type: ignore[misc]
    """An ``AsyncServer`` that keeps the background tasks it starts, so the app's
    cleanup can stop them: the message queue's listener, and event handlers still
    running when the web server has gone. Its Engine.IO server is a ``QuickPollServer``
    (``presentation.engineio_writer``)."""

    def __init__(self, **options: Any) -> None:
        self._started: set[asyncio.Task[Any]] = set()
        super().__init__(**options)

    def start_background_task(
        self, target: Callable[..., Coroutine[Any, Any, Any]], *args: Any, **kwargs: Any
    ) -> asyncio.Task[Any]:
        task: asyncio.Task[Any] = super().start_background_task(target, *args, **kwargs)
        self._started.add(task)
        task.add_done_callback(self._started.discard)
        return task

    def _engineio_server_class(self) -> type[QuickPollServer]:
        return QuickPollServer

    async def stop_background_tasks(self) -> None:
        tasks = list(self._started)
        for task in tasks:
            task.cancel()
        for result in await asyncio.gather(*tasks, return_exceptions=True):
            if isinstance(result, Exception):
                logger.warning("a Socket.IO task failed while stopping", exc_info=result)


class _RedisConnection(Protocol):
    """What is used of a ``redis.asyncio.Connection`` (redis-py stays an optional
    dependency, and only python-socketio imports it)."""

    @property
    def is_connected(self) -> bool: ...

    async def on_connect(self) -> None: ...

    async def disconnect(self) -> None: ...


class RedisConnections:
    """The Redis connections the Socket.IO message queue opens, so cleanup can close them.

    redis-py calls ``redis_connect_func`` on each new connection in place of the
    connection's own ``on_connect`` (authentication, database selection), which is
    therefore called from here.
    """

    def __init__(self) -> None:
        self._connections: set[_RedisConnection] = set()

    def redis_options(self) -> dict[str, object]:
        """For ``AsyncRedisManager(redis_options=...)``, handed to ``Redis.from_url``."""
        return {"redis_connect_func": self._connected}

    async def _connected(self, connection: _RedisConnection) -> None:
        # python-socketio makes a new client after a Redis outage: forget the dead ones.
        self._connections = {c for c in self._connections if c.is_connected}
        self._connections.add(connection)
        await connection.on_connect()

    async def close(self) -> None:
        connections, self._connections = self._connections, set()
        for connection in connections:
            try:
                await connection.disconnect()
            except Exception:
                logger.warning("closing a Redis connection failed", exc_info=True)


class TextPacket(socketio.packet.Packet):  # type: ignore[misc]
    """Socket.IO packets without binary attachments: the visitor protocol is JSON only,
    and the default packet walks every payload it sends looking for ``bytes`` (about 2 %
    of the event loop under load). Incoming packets are decoded as before. Their JSON
    is ``presentation.packet_json``'s (orjson where installed)."""

    uses_binary_events = False
    json = PacketJson


def build_server(settings: WebSettings, redis: RedisConnections | None) -> VisitorServer:
    """The server for ``settings``; with ``redis_url`` set, ``redis`` must be given and
    sees every connection of the message queue."""
    manager: socketio.AsyncManager = IndexedAsyncManager()
    if settings.redis_url is not None:
        assert redis is not None, "a Redis message queue needs RedisConnections to close it"
        manager = ResyncingRedisManager(settings.redis_url, redis_options=redis.redis_options())
    return VisitorServer(
        async_mode="aiohttp",
        client_manager=manager,
        cors_allowed_origins=origin_policy(settings),
        # No cookies are used; credentials ride in the auth payload.
        cors_credentials=False,
        max_http_buffer_size=settings.max_http_buffer_size,
        serializer=TextPacket,
        logger=False,
        engineio_logger=False,
    )


OriginCheck = Callable[[str | None, Mapping[str, object]], bool]


def origin_policy(settings: WebSettings) -> str | OriginCheck:
    """Which pages may connect (python-engineio checks the ``Origin`` header of every
    request that has one): ``*``, or the engine's own origin and the listed sites.

    python-engineio's own default (the Host header's origin) applies only when no list is
    given; with a list it takes the list alone, which would lock out the engine's own
    pages (``/demo``) as soon as one customer site is listed. The own origin is both the
    public URL's and the one of the host name this request came to, over http or https
    (a TLS proxy in front may not say which): pages served under the engine's own name.
    """
    if "*" in settings.cors_allowed_origins:
        return "*"
    listed = {origin.lower() for origin in settings.cors_allowed_origins}
    if settings.public_url is not None:
        public = urlsplit(settings.public_url)
        listed.add(f"{public.scheme}://{public.netloc}".lower())

    def allowed(origin: str | None, environ: Mapping[str, object]) -> bool:
        # python-engineio also asks with no Origin, to decide its CORS response headers.
        if origin is None:
            return False
        origin = origin.lower()
        if origin in listed:
            return True
        host = environ.get("HTTP_HOST")
        if not isinstance(host, str):
            return False
        host = host.lower()
        return origin in (f"http://{host}", f"https://{host}")

    return allowed
