"""The kernel send buffer of a visitor's WebSocket is bounded (``presentation.send_buffer``),
so a visitor who stops reading fills it soon and is cut off by the output bound, instead
of the kernel holding megabytes for it first. Read on the server's own socket of a real
WebSocket connection (the server runs in this process)."""

from __future__ import annotations

import contextlib
import os
import socket

import aiohttp
import pytest

from presentation import WebSettings
from tests.presentation.conftest import StartServer


def server_socket_buffer(server_port: int, client_port: int) -> int:
    """SO_SNDBUF of this process's socket from ``server_port`` to ``client_port``."""
    for name in os.listdir("/proc/self/fd"):
        with contextlib.suppress(OSError, ValueError):
            fd = os.dup(int(name))
            sock = socket.socket(fileno=fd)
            try:
                if sock.type != socket.SOCK_STREAM or sock.family not in (
                    socket.AF_INET,
                    socket.AF_INET6,
                ):
                    continue
                local, peer = sock.getsockname(), sock.getpeername()
                if local[1] == server_port and peer[1] == client_port:
                    return sock.getsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF)
            finally:
                sock.close()
    raise AssertionError("the server's socket of that connection was not found")


async def buffer_of_a_websocket(start_server: StartServer, settings: WebSettings) -> int:
    server = await start_server(settings=settings)
    url = server.url.replace("http://", "ws://") + "/socket.io/?EIO=4&transport=websocket"
    async with aiohttp.ClientSession() as http, http.ws_connect(url) as ws:
        await ws.receive(timeout=5)  # Engine.IO's open packet: the upgrade is done
        server_port = int(server.url.rsplit(":", 1)[1])
        client_port = ws._response.connection.transport.get_extra_info("sockname")[1]  # type: ignore[union-attr]
        return server_socket_buffer(server_port, client_port)


async def test_a_websocket_gets_the_configured_send_buffer(start_server: StartServer) -> None:
    size = buffer_of_a_websocket(start_server, WebSettings(websocket_send_buffer_bytes=65_536))
    # Linux doubles the value asked for (its bookkeeping), and never goes below it.
    assert 65_536 <= await size <= 2 * 65_536


async def test_zero_leaves_the_kernels_autotuning(start_server: StartServer) -> None:
    size = await buffer_of_a_websocket(start_server, WebSettings(websocket_send_buffer_bytes=0))
    assert size != 2 * 65_536


@pytest.mark.parametrize("value", [1, 4095, 1 << 27])
def test_an_out_of_range_buffer_is_refused(value: int) -> None:
    with pytest.raises(ValueError, match="websocket_send_buffer_bytes"):
        WebSettings(websocket_send_buffer_bytes=value)
