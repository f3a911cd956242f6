"""A python-socketio server on loopback for the tests of the visitor edge's pieces."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import socketio
from aiohttp import web


@asynccontextmanager
async def serving(sio: socketio.AsyncServer) -> AsyncIterator[str]:
    """``sio`` attached to an aiohttp app on a free loopback port; its base URL."""
    app = web.Application()
    sio.attach(app)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        yield f"http://127.0.0.1:{runner.addresses[0][1]}"
    finally:
        await runner.cleanup()
