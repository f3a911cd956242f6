"""A WebSocket's kernel send buffer, bounded so that a visitor who stops reading is
noticed.

Linux grows a connection's send buffer by itself up to ``net.ipv4.tcp_wmem``'s maximum
(4 MiB by default). For a client that stopped reading, the kernel then holds megabytes
of events before python-engineio's queue of that socket starts to grow, which is what
``presentation.output_bound`` cuts off: at chat rates that took minutes (bench.faults
slow-consumer). A fixed buffer (``http.websocket_send_buffer_bytes``; Linux doubles the
value for its bookkeeping) keeps what the kernel holds per socket small and the cut-off
near; 256 KiB still carries 2.5 MB/s to a client 100 ms away, far above what a chat
sends. 0 leaves the kernel's autotuning alone.
"""

from __future__ import annotations

import contextlib
import socket

from aiohttp import web
from aiohttp.typedefs import Handler, Middleware


def bound_websocket_send_buffer(size: int) -> Middleware:
    """The middleware that sets ``SO_SNDBUF`` to ``size`` bytes on the connection of
    every WebSocket upgrade request (``size`` > 0)."""

    @web.middleware
    async def bound(request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.headers.get("Upgrade", "").lower() == "websocket":
            transport = request.transport
            sock = transport.get_extra_info("socket") if transport is not None else None
            if sock is not None:
                with contextlib.suppress(OSError):  # a socket that is already gone
                    sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, size)
        return await handler(request)

    return bound
