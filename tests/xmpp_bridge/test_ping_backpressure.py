"""The delivery ping under backpressure: a server that keeps sending while its answer
to a ping is late is busy, not dead (the answer queues behind its stanzas in our own
input); only a server silent for a whole timeout, or one that never answers within
``ping_patience`` timeouts, gets the link dropped."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

import pytest

from business.conversation import Conversation
from business.model import VisitorId
from tests.harness import World
from tests.xmpp_bridge.support import ADDRESSING, ALICE, CapturingSender, Harness, harness
from xmpp_bridge.link import Link

TIMEOUT = 0.5


async def chat_with_alice(world: World) -> tuple[VisitorId, Conversation]:
    await world.add_agent(ALICE, ready=True)
    visitor = await world.visitor()
    conversation = await world.start(visitor, "Hello")
    assert conversation.agent_id == ALICE
    return visitor, conversation


def cursor(h: Harness, conversation: Conversation) -> int:
    return h.world.conv(conversation.id).agent_delivered_pos


def last_pos(h: Harness, conversation: Conversation) -> int:
    return h.world.conv(conversation.id).last_pos


@contextlib.asynccontextmanager
async def server_keeps_sending(sender: CapturingSender) -> AsyncIterator[None]:
    """Stanzas arrive from the server every few milliseconds meanwhile."""

    async def feed() -> None:
        while True:
            sender.received += 1
            await asyncio.sleep(0.02)

    task = asyncio.create_task(feed())
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def unconfirmed(h: Harness) -> Conversation:
    """A chat whose latest event was sent but whose cursor waits for the next ping."""
    visitor, conversation = await chat_with_alice(h.world)
    await h.flush()
    await h.world.visitor_says(visitor, conversation.id, "are you there?")
    assert (await h.bodies())[-1] == "are you there?"
    assert cursor(h, conversation) < last_pos(h, conversation)
    h.sender.pings = 0
    h.sender.pinged.clear()
    return conversation


async def test_a_late_answer_while_the_server_keeps_sending_confirms_without_a_drop(
    world: World,
) -> None:
    h = harness(world, confirm_timeout=TIMEOUT)
    conversation = await unconfirmed(h)
    h.sender.hold = asyncio.Event()

    async with server_keeps_sending(h.sender):
        flushing = asyncio.create_task(h.flush())
        await h.sender.pinged.wait()
        # Past one timeout, well within the bound of three.
        await asyncio.sleep(TIMEOUT * 1.6)
        assert not flushing.done()
        assert h.sender.aborted == 0
        h.sender.hold.set()  # the answer, read at last
        await flushing

    assert h.sender.aborted == 0
    assert h.sender.pings == 1
    assert cursor(h, conversation) == last_pos(h, conversation)


async def test_a_silent_server_is_dropped_after_one_timeout(world: World) -> None:
    # A bound of 100 timeouts (50 s): only the silence rule can end the wait early.
    h = harness(world, confirm_timeout=TIMEOUT, link=Link(ADDRESSING, ping_patience=100))
    conversation = await unconfirmed(h)
    h.sender.hold = asyncio.Event()

    async with asyncio.timeout(TIMEOUT * 20):
        await h.flush()

    assert h.sender.aborted == 1
    assert cursor(h, conversation) < last_pos(h, conversation)


async def test_a_server_that_keeps_sending_but_never_answers_is_dropped_at_the_bound(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    h = harness(world, confirm_timeout=TIMEOUT)
    conversation = await unconfirmed(h)
    h.sender.hold = asyncio.Event()

    with caplog.at_level(logging.INFO, logger="xmpp_bridge.link"):
        async with server_keeps_sending(h.sender), asyncio.timeout(TIMEOUT * 20):
            await h.flush()

    assert h.sender.aborted == 1
    assert cursor(h, conversation) < last_pos(h, conversation)
    # It waited past the first timeout because the server was visibly alive.
    assert any("still waiting" in r.getMessage() for r in caplog.records)


async def test_a_lost_link_ends_a_backpressure_wait_at_once_unconfirmed(world: World) -> None:
    h = harness(world, confirm_timeout=TIMEOUT)
    conversation = await unconfirmed(h)
    h.sender.hold = asyncio.Event()

    async with server_keeps_sending(h.sender):
        flushing = asyncio.create_task(h.flush())
        await h.sender.pinged.wait()
        await asyncio.sleep(TIMEOUT * 1.2)
        h.reconnect()
        async with asyncio.timeout(TIMEOUT):
            await flushing
        h.sender.hold.set()

    assert h.sender.aborted == 0
    assert cursor(h, conversation) < last_pos(h, conversation)
