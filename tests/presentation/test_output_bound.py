"""What one visitor's requests may make the server hold: sync replies fit a byte budget,
sync is rate-limited per visitor, and a consumer that stops reading is disconnected
before its unread output grows past a bound."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass

import pytest

from business import commands as c
from business.model import DEFAULT_TENANT, ConversationId
from presentation import WebSettings
from presentation.app import NAMESPACE_KEY, SIO_KEY
from presentation.packet_json import encoded_size
from tests.harness import World
from tests.presentation.conftest import Server, StartServer, ready_agent
from tests.presentation.raw_engineio import (
    StalledPolling,
    StalledWebSocket,
    connect_packet,
    event_packet,
)
from tests.visitor_client import Visitor

# 4,000 characters of two bytes each in UTF-8 (orjson writes them so; the json module as
# six-byte \u00e9 escapes): 8,000 bytes on the wire or more.
BIG_TEXT = "é" * 4000


def _wire_size(value: object) -> int:
    """Bytes python-socketio sends for ``value`` (``presentation.packet_json``)."""
    return encoded_size(value)


@dataclass
class LongChat:
    token: str
    conversation_id: ConversationId


async def long_chat(world: World, messages: int) -> LongChat:
    """A visitor whose conversation holds ``messages`` messages of 9,000 wire bytes."""
    session = await world.sessions.open_session(c.OpenSession(tenant_id=DEFAULT_TENANT))
    conversation = await world.start(session.visitor.id, "hello")
    for i in range(messages):
        await world.say(conversation, BIG_TEXT, f"big-{i}")
    return LongChat(token=session.visitor_token, conversation_id=conversation.id)


async def _until(condition: Callable[[], bool]) -> None:
    """Poll server state that has no event to wait on."""
    for _ in range(1000):
        if condition():
            return
        await asyncio.sleep(0.01)
    raise AssertionError("condition not met within 10 s")


# -- the sync reply budget ------------------------------------------------------------


async def test_a_sync_reply_fits_the_byte_budget_and_says_has_more(
    server: Server, world: World
) -> None:
    chat = await long_chat(world, 40)  # about 320 KB of events
    v = Visitor(url=server.url)
    try:
        await v.connect({"tenant": "default", "visitor_token": chat.token})
        after, replies, seqs = 0, [], []
        while True:
            ack = await v.ok("sync", {"conversation_id": chat.conversation_id, "after_seq": after})
            replies.append(ack)
            seqs += [e["seq"] for e in ack["events"]]
            if not ack["has_more"]:
                break
            after = ack["events"][-1]["seq"]
    finally:
        await v.disconnect()

    assert len(replies) >= 2
    assert all(_wire_size(r["events"]) <= WebSettings().sync_reply_max_bytes for r in replies)
    assert [r["has_more"] for r in replies] == [True] * (len(replies) - 1) + [False]
    # Every event exactly once, in order, across the replies.
    assert seqs == list(range(1, 43))


async def test_an_event_larger_than_the_budget_still_comes_alone(
    start_server: StartServer, world: World
) -> None:
    server = await start_server(settings=WebSettings(sync_reply_max_bytes=1024))
    chat = await long_chat(world, 2)
    v = Visitor(url=server.url)
    try:
        await v.connect({"tenant": "default", "visitor_token": chat.token})
        ack = await v.ok("sync", {"conversation_id": chat.conversation_id, "after_seq": 2})
        assert [e["seq"] for e in ack["events"]] == [3]
        assert ack["has_more"] is True
        last = await v.ok("sync", {"conversation_id": chat.conversation_id, "after_seq": 3})
        assert ([e["seq"] for e in last["events"]], last["has_more"]) == ([4], False)
    finally:
        await v.disconnect()


# -- the sync rate per visitor ----------------------------------------------------------


async def test_sync_is_rate_limited_per_visitor_across_tabs(
    start_server: StartServer, world: World
) -> None:
    server = await start_server(settings=WebSettings(sync_burst=3, sync_rate_per_second=0.01))
    chat = await long_chat(world, 0)
    tab_a, tab_b = Visitor(url=server.url), Visitor(url=server.url)
    payload = {"conversation_id": chat.conversation_id, "after_seq": 0}
    try:
        await tab_a.connect({"tenant": "default", "visitor_token": chat.token})
        await tab_b.connect({"tenant": "default", "visitor_token": chat.token})
        acks = [
            await tab_a.call("sync", payload),
            await tab_b.call("sync", payload),
            await tab_a.call("sync", payload),
            await tab_b.call("sync", payload),
        ]
        # Other events are not sync: the tab can still talk.
        typing = await tab_b.call(
            "typing", {"conversation_id": chat.conversation_id, "state": "paused"}
        )
    finally:
        await tab_a.disconnect()
        await tab_b.disconnect()
    assert [a["ok"] for a in acks] == [True, True, True, False]
    assert acks[-1]["error"]["code"] == "rate_limited"
    assert "sync again" in acks[-1]["error"]["message"]
    assert typing == {"ok": True}


# -- consumers that stop reading ----------------------------------------------------------

STALLED = WebSettings(
    max_queued_packets=8,
    output_check_seconds=0.05,
    # Only the output bound is under test here.
    sync_burst=10_000,
    sync_rate_per_second=10_000.0,
    event_burst=10_000,
    event_rate_per_second=10_000.0,
)


@dataclass
class Watch:
    """Samples how many packets wait in the server's output queue of each visitor socket."""

    most: int = 0

    async def run(self, server: Server) -> None:
        sio = server.app[SIO_KEY]
        while True:
            for _, eio_sid in list(sio.manager.get_participants("/visitor", None)):
                socket = sio.eio.sockets.get(eio_sid)
                if socket is not None:
                    self.most = max(self.most, socket.queue.qsize())
            await asyncio.sleep(0.002)


@asynccontextmanager
async def watching(server: Server) -> AsyncIterator[Watch]:
    watch = Watch()
    task = asyncio.create_task(watch.run(server))
    try:
        yield watch
    finally:
        task.cancel()


@dataclass
class Stalled:
    send: Callable[..., Awaitable[object]]
    hung_up: Callable[[], Awaitable[bool]]


@asynccontextmanager
async def stalled(kind: str, server: Server, token: str) -> AsyncIterator[Stalled]:
    """A visitor connected over ``kind`` that never reads again."""
    auth = {"tenant": "default", "visitor_token": token}
    polling = ws = None
    try:
        if kind == "websocket":
            ws = await StalledWebSocket.open(server.url)
            await ws.send(connect_packet(auth))
        else:
            polling = await StalledPolling.open(server.url)
            assert await polling.send(connect_packet(auth)) == 200
            if kind == "upgraded":
                ws = await StalledWebSocket.open(server.url, sid=polling.sid)
                await ws.send_raw("2probe")
                await ws.send_raw("5")
        await _until(lambda: server.app[NAMESPACE_KEY].socket_count == 1)
        if ws is not None:
            yield Stalled(send=ws.send, hung_up=ws.hung_up)
        else:
            assert polling is not None
            session_gone = polling.send  # a post to a closed session is refused

            async def hung_up() -> bool:
                return await session_gone("3") == 400

            yield Stalled(send=polling.send, hung_up=hung_up)
    finally:
        if ws is not None:
            ws.close()
        if polling is not None:
            await polling.close()


@pytest.mark.parametrize("kind", ["websocket", "polling", "upgraded"])
async def test_a_client_that_stops_reading_is_disconnected_with_its_backlog_bounded(
    start_server: StartServer, world: World, kind: str
) -> None:
    server = await start_server(settings=STALLED)
    chat = await long_chat(world, 30)  # each sync reply: about 256 KiB
    sync = {"conversation_id": chat.conversation_id, "after_seq": 0}
    async with watching(server) as watch, stalled(kind, server, chat.token) as client:
        for batch in range(12):
            try:
                await client.send(*(event_packet(batch * 10 + i, "sync", sync) for i in range(10)))
            except (ConnectionError, OSError):
                break  # the server has hung up
            await asyncio.sleep(0.05)
        await _until(lambda: server.app[NAMESPACE_KEY].socket_count == 0)
        assert await client.hung_up()
    # Cut off at the bound: a few packets more at most (the refusal and the ping that
    # may already be queued), not the 120 replies asked for.
    assert watch.most <= STALLED.max_queued_packets + 2
    assert not server.app[SIO_KEY].eio.sockets or all(
        s.closed for s in server.app[SIO_KEY].eio.sockets.values()
    )


async def test_a_client_that_stops_polling_is_disconnected_when_pushes_pile_up(
    start_server: StartServer, world: World
) -> None:
    server = await start_server(settings=STALLED)
    chat = await long_chat(world, 0)
    agent = await ready_agent(world)
    async with watching(server) as watch, stalled("polling", server, chat.token):
        for i in range(60):
            if server.app[NAMESPACE_KEY].socket_count == 0:
                break
            await world.agent_says(agent, chat.conversation_id, f"push {i}")
            await asyncio.sleep(0.01)
        await _until(lambda: server.app[NAMESPACE_KEY].socket_count == 0)
    # Pushes are checked on a timer, so a few more may slip in between two looks.
    assert watch.most <= STALLED.max_queued_packets + 8


async def test_a_reading_client_is_never_cut_off(start_server: StartServer, world: World) -> None:
    server = await start_server(settings=STALLED)
    chat = await long_chat(world, 30)  # each sync reply: about 256 KiB
    v = Visitor(url=server.url)
    try:
        await v.connect({"tenant": "default", "visitor_token": chat.token})
        sync = {"conversation_id": chat.conversation_id, "after_seq": 0}
        in_flight = STALLED.max_queued_packets // 2
        acks = []
        # Five times the bound in replies, a few at a time: a client that reads what it
        # gets may ask for any amount.
        for _ in range(10):
            acks += await asyncio.gather(*(v.call("sync", sync) for _ in range(in_flight)))
        assert len(acks) == 5 * STALLED.max_queued_packets
        assert all(a["ok"] for a in acks)
        assert v.sio.connected
        assert server.app[NAMESPACE_KEY].socket_count == 1
    finally:
        await v.disconnect()
