"""Backpressure over a real slixmpp connection: stanzas the server keeps sending while
a delivery ping is unanswered keep the link up (they are counted as they are read);
once the server falls silent too, the link is dropped and re-established."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

from tests.harness import World
from tests.xmpp_bridge.component_server import ComponentServer
from tests.xmpp_bridge.support import ALICE, eventually
from tests.xmpp_bridge.test_bridge import SECRET, settings, subscribed_alice
from xmpp_bridge import XmppBridge

TIMEOUT = 0.5


@contextlib.asynccontextmanager
async def bridge_and_server(
    world: World, *, connected: bool = True, **changes: object
) -> AsyncIterator[tuple[XmppBridge, ComponentServer]]:
    """A started bridge (connected, unless told otherwise) and its fake server;
    ``changes`` to the bridge's settings (a confirm timeout of ``TIMEOUT`` by default)."""
    server = ComponentServer(secret=SECRET)
    await server.start()
    bridge = XmppBridge(
        settings=settings(server.port, **({"delivery_confirm_timeout": TIMEOUT} | changes)),
        services=world.services,
        random=lambda: 0.5,
    )
    try:
        await bridge.start()
        if connected:
            await bridge.wait_connected(5)
        yield bridge, server
    finally:
        try:
            await bridge.stop()
        finally:
            await server.close()


async def test_a_server_that_keeps_sending_keeps_the_link_until_it_falls_silent(
    world: World,
) -> None:
    await subscribed_alice(world)
    async with bridge_and_server(world) as (bridge, server):
        assert server.connections == 1
        server.silent = True
        conversation = await world.start(await world.visitor(), "Hello")
        assert conversation.agent_id == ALICE
        await server.wait_until(lambda: server.ignored_pings > 0)

        # Longer than one ping timeout, shorter than the bound of three: an answer to
        # nothing in particular, as a busy server's traffic is to the ping.
        for n in range(int(TIMEOUT * 1.5 / 0.05)):
            server.inject(f"<iq type='result' id='busy-{n}' from='localhost' to='chat.localhost'/>")
            await asyncio.sleep(0.05)
        assert server.connections == 1
        assert bridge.connected

        # Silent now: dropped after a timeout, then back, and the offer is sent again.
        server.silent = False
        await server.wait_until(lambda: server.connections == 2)
        await eventually(
            lambda: (s := world.conv(conversation.id)).agent_delivered_pos == s.last_pos
        )
