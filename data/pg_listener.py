"""One PostgreSQL ``LISTEN`` channel on a connection of its own, kept up: the
transport of ``data.cache_bus`` (cache invalidation) and ``data.delivery_wakes``
(nudges between engine processes).

Payloads are ``<schema> <body>``: engines (and tests) that share a database but not a
schema ignore each other's. While the connection is lost nothing is heard;
``on_connected`` runs at every (re)connection, before anything is, so that a user can
make up for what it may have missed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

logger = logging.getLogger(__name__)

RECONNECT_DELAY = 1.0


class PgListener:
    def __init__(
        self,
        engine: AsyncEngine,
        channel: str,
        *,
        on_body: Callable[[str], None],
        on_connected: Callable[[], None] = lambda: None,
        reconnect_delay: float = RECONNECT_DELAY,
    ) -> None:
        self._engine = engine
        self._channel = channel
        self._on_body = on_body
        self._on_connected = on_connected
        self._delay = reconnect_delay
        self._schema: str | None = None
        self._task: asyncio.Task[None] | None = None
        self._connected = asyncio.Event()
        self.server_pid: int | None = None
        """The PostgreSQL backend of the listening connection, while there is one."""

    @property
    def listening(self) -> bool:
        return self._connected.is_set()

    async def start(self) -> None:
        """Listen from now on; returns once the first connection listens (or after 10 s
        of trying: it goes on in the background)."""
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name=f"listen-{self._channel}")
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(10.0):
                    await self._connected.wait()

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _run(self) -> None:
        while True:
            try:
                await self._listen_once()
                logger.warning("the %s listener lost its connection", self._channel)
            except asyncio.CancelledError:
                raise
            except Exception as error:
                logger.warning("%s listener: %s; retrying", self._channel, error)
            await asyncio.sleep(self._delay)

    async def _listen_once(self) -> None:
        """Listen on one connection until it is lost."""
        lost = asyncio.Event()
        connection: AsyncConnection | None = None
        try:
            connection = await self._engine.connect()
            raw = (await connection.get_raw_connection()).driver_connection
            assert raw is not None
            self._schema = await raw.fetchval("SELECT current_schema()")
            raw.add_termination_listener(lambda _connection: lost.set())
            await raw.add_listener(self._channel, self._on_notification)
            self.server_pid = raw.get_server_pid()
            self._on_connected()
            self._connected.set()
            await lost.wait()
        finally:
            self._connected.clear()
            self.server_pid = None
            if connection is not None:
                # Not back to the pool: a pooled connection would go on listening.
                with contextlib.suppress(Exception):
                    await asyncio.shield(_discard(connection))

    def _on_notification(self, _connection: object, _pid: int, _channel: str, payload: str) -> None:
        schema, _, body = payload.partition(" ")
        if schema == self._schema:
            self._on_body(body)


async def _discard(connection: AsyncConnection) -> None:
    await connection.invalidate()
    await connection.close()
