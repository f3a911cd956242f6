"""Which web pages may connect: the engine's own origin, the listed sites, no others.

Browsers always send ``Origin`` on WebSocket and cross-site requests; clients that are not
browsers send none and are not checked (there is no page to protect them from).
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import socketio

from presentation import WebSettings
from tests.presentation.conftest import Server, StartServer
from tests.visitor_client import Visitor

SHOP = "https://shop.example"
TRANSPORTS = ["websocket", "polling"]


@pytest.fixture
async def visitors() -> AsyncIterator[list[Visitor]]:
    made: list[Visitor] = []
    yield made
    for v in made:
        await v.disconnect()


async def _connects(server: Server, origin: str, transport: str, made: list[Visitor]) -> bool:
    v = Visitor(url=server.url)
    made.append(v)
    try:
        await v.connect({"tenant": "default"}, transports=[transport], headers={"Origin": origin})
    except socketio.exceptions.ConnectionError:
        return False
    return True


def _host_origin(server: Server) -> str:
    return server.url  # http://127.0.0.1:<port>, what a page served by the engine sends


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_by_default_only_the_engines_own_origin_connects(
    server: Server, visitors: list[Visitor], transport: str
) -> None:
    assert await _connects(server, _host_origin(server), transport, visitors)
    assert not await _connects(server, SHOP, transport, visitors)
    assert not await _connects(server, "null", transport, visitors)


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_listed_sites_connect_and_the_engines_own_origin_still_does(
    start_server: StartServer, visitors: list[Visitor], transport: str
) -> None:
    server = await start_server(settings=WebSettings(cors_allowed_origins=(SHOP,)))
    assert await _connects(server, SHOP, transport, visitors)
    # The demo page and anything else the engine serves keep working.
    assert await _connects(server, _host_origin(server), transport, visitors)
    assert not await _connects(server, "https://evil.example", transport, visitors)
    # An origin is scheme, host and port exactly: look-alikes are foreign.
    assert not await _connects(server, "http://shop.example", transport, visitors)
    assert not await _connects(server, "https://shop.example.evil.example", transport, visitors)


async def test_star_lets_any_site_connect(
    start_server: StartServer, visitors: list[Visitor]
) -> None:
    server = await start_server(settings=WebSettings(cors_allowed_origins=("*",)))
    assert await _connects(server, "https://anyone.example", "websocket", visitors)
    assert await _connects(server, _host_origin(server), "websocket", visitors)
