"""A drain of the visitor edge with real Socket.IO clients: the visitor mid-chat keeps
getting acks while new connections and conversations are refused with ``unavailable``
(reason ``draining``), then every connection closes as a lost transport, and what was
acked is stored."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import aiohttp
import pytest

from business import commands as c
from business.model import ConversationId, VisitorId
from presentation import drain_visitors
from presentation.drain import Drain, Draining
from tests.harness import World
from tests.presentation.conftest import Server, VisitorFactory
from tests.visitor_client import NAMESPACE, Visitor

DRAINING = {"code": "unavailable", "reason": "draining"}


@asynccontextmanager
async def raw_visitor(url: str) -> AsyncIterator[aiohttp.ClientWebSocketResponse]:
    """A visitor speaking the wire format over a WebSocket, connected to the namespace."""
    ws_url = url.replace("http", "ws", 1) + "/socket.io/?EIO=4&transport=websocket"
    async with aiohttp.ClientSession() as http, http.ws_connect(ws_url) as ws:
        assert (await ws.receive_str(timeout=5)).startswith("0")  # Engine.IO open
        await ws.send_str(f"40{NAMESPACE},{json.dumps({'tenant': 'default'})}")
        async with asyncio.timeout(5):
            while not (await ws.receive_str()).startswith(f"40{NAMESPACE},"):
                pass  # `session` comes first
        yield ws


async def frames_until_closed(ws: aiohttp.ClientWebSocketResponse) -> list[str]:
    frames = []
    async with asyncio.timeout(5):
        async for message in ws:
            frames.append(message.data)
    return frames


async def readyz(server: Server) -> int:
    async with aiohttp.ClientSession() as http, http.get(f"{server.url}/readyz") as response:
        return response.status


async def test_a_visitor_mid_chat_is_acked_through_the_grace_period_new_ones_are_refused(
    server: Server, new_visitor: VisitorFactory, world: World
) -> None:
    alice = new_visitor()
    await alice.connect({"tenant": "default"})
    conversation = await alice.start("hello")
    assert await readyz(server) == 200
    async with raw_visitor(server.url) as raw:
        await drain_with_alice_chatting(server, new_visitor, world, alice, conversation, raw)


async def drain_with_alice_chatting(
    server: Server,
    new_visitor: VisitorFactory,
    world: World,
    alice: Visitor,
    conversation: str,
    raw: aiohttp.ClientWebSocketResponse,
) -> None:

    cut_short = asyncio.Event()
    draining = asyncio.create_task(drain_visitors(server.app, grace=60, cut_short=cut_short))
    await asyncio.sleep(0)  # the drain begins at once

    assert await readyz(server) == 503
    refusal = await new_visitor().refused({"tenant": "default"})
    assert {k: refusal["data"][k] for k in DRAINING} == DRAINING
    # A returning visitor is refused alike: it is this process that is going away.
    again = await new_visitor().refused({"tenant": "default", "visitor_token": alice.token})
    assert {k: again["data"][k] for k in DRAINING} == DRAINING

    acked = []
    for n in range(5):
        ack = await alice.ok(
            "message.send",
            {"conversation_id": conversation, "client_msg_id": f"m-{n}", "text": f"still {n}"},
        )
        acked.append(ack["message"]["seq"])
    start = await alice.call("conversation.start", {"queue": "support"})
    assert start["ok"] is False
    assert {k: start["error"][k] for k in DRAINING} == DRAINING
    assert not draining.done(), "the drain ended with a visitor still chatting"

    cut_short.set()
    await asyncio.wait_for(draining, 10)

    assert not alice.sio.connected
    # Closed below Socket.IO (an Engine.IO close, no Socket.IO disconnect), the WebSocket
    # too: to clients a lost connection, which they reconnect from by themselves.
    frames = await frames_until_closed(raw)
    assert frames[-1:] == ["1"], frames
    assert not [frame for frame in frames if frame.startswith("41")], frames
    stored = await world.services.history.sync(
        c.SyncEvents(
            visitor_id=VisitorId(alice.session["visitor_id"]),
            conversation_id=ConversationId(conversation),
            after_seq=0,
        )
    )
    texts = {event.seq: getattr(event, "text", None) for event in stored.events}
    assert [texts[seq] for seq in acked] == [f"still {n}" for n in range(5)]


async def test_the_drain_ends_before_its_grace_period_once_no_visitor_is_left(
    server: Server, new_visitor: VisitorFactory
) -> None:
    bob = new_visitor()
    await bob.connect({"tenant": "default"})
    draining = asyncio.create_task(drain_visitors(server.app, grace=600))
    await asyncio.sleep(0.2)
    assert not draining.done()

    await bob.disconnect()

    await asyncio.wait_for(draining, 5)  # not the 600 s
    assert await readyz(server) == 503


async def test_the_end_of_a_drain_waits_for_the_events_being_handled() -> None:
    drain = Drain()
    release = asyncio.Event()
    acked: list[str] = []

    async def handle() -> None:
        with drain.event():
            await release.wait()
            acked.append("ack")

    handling = asyncio.create_task(handle())
    await asyncio.sleep(0)
    drain.close()
    with pytest.raises(Draining), drain.event():
        pass  # refused: no event starts once closed
    settling = asyncio.create_task(drain.settled(5))
    await asyncio.sleep(0.05)
    assert not settling.done()
    release.set()
    assert await settling is True
    await handling
    assert acked == ["ack"]
