"""A stanza the server will not take is parked: the agent gets a notice, the rest goes on."""

from __future__ import annotations

import asyncio
import itertools
import logging
from collections.abc import Callable

import pytest

from business.model import ConversationId
from tests.harness import World
from tests.xmpp_bridge.support import (
    ADDRESSING,
    ALICE,
    ALICE_JID,
    CapturingSender,
    Harness,
    body_of,
    harness,
    is_presence,
    messages,
    said_in,
)
from xmpp_bridge.converters import Stanza
from xmpp_bridge.custom import AgentOffer, Outbound
from xmpp_bridge.link import Link, StanzaTooLarge

NOTICE = "could not be delivered to you"


@pytest.fixture
async def h(world: World) -> Harness:
    return harness(world)


class StreamSender(CapturingSender):
    """Keeps the order of stanzas and pings; a stanza it ``refuses`` closes the stream,
    as Prosody does with one over its size limit: nothing after it arrives, and the
    pings still out are never answered."""

    def __init__(self, refuse: Callable[[Stanza], bool] = lambda _: False) -> None:
        super().__init__()
        self.refuse = refuse
        self.on_close: Callable[[], None] = lambda: None
        self.closed = False
        self.refused = 0
        self.log: list[str] = []

    def send(self, stanza: Stanza) -> None:
        if self.closed:
            return
        self.log.append("presence" if is_presence(stanza) else "stanza")
        if self.refuse(stanza):
            self.refused += 1
            self.closed = True
            asyncio.get_running_loop().call_soon(self.on_close)
            return
        super().send(stanza)

    def echo(self) -> asyncio.Future[bool]:
        self.log.append("ping")
        if self.closed:
            # Never back: the link's loss ends the wait.
            return asyncio.get_running_loop().create_future()
        return super().echo()


def streamed(world: World, refuse: Callable[[Stanza], bool] = lambda _: False) -> Harness:
    h = harness(world, connected=False)
    sender = StreamSender(refuse)

    def close() -> None:
        # What the bridge does when slixmpp reports the stream gone.
        h.link.detach()
        h.notifier.on_link_lost()
        h.roster.on_disconnected()

    sender.on_close = close
    h.sender = sender
    h.link.attach(sender)
    return h


def reattach(h: Harness) -> None:
    assert isinstance(h.sender, StreamSender)
    h.sender.closed = False
    h.link.attach(h.sender)


def cursor_at_end(world: World, conversation_id: ConversationId) -> bool:
    stored = world.conv(conversation_id)
    return stored.agent_delivered_pos == stored.last_pos


def poisoned(stanza: Stanza) -> bool:
    return "POISON" in (body_of(stanza) or "")


async def test_an_event_in_flight_at_three_drops_is_parked_and_the_others_go_on(
    world: World,
) -> None:
    h = streamed(world, refuse=poisoned)
    sender = h.sender
    assert isinstance(sender, StreamSender)
    await world.add_agent(ALICE, ready=True)
    bad = await world.start(await world.visitor(), "POISON")
    await h.notifier.drain()
    await asyncio.sleep(0)  # the stream's close reaches the bridge
    assert not h.link.connected
    world.advance(1)  # the replay takes the older, poisoned chat first
    good = await world.start(await world.visitor(), "Just a question", client_msg_id="g")

    # First reconnect: the offer that was in flight goes out again with the rest (a
    # drop is most often a server restarting), and is refused again.
    reattach(h)
    await h.notifier.replay()
    assert not h.link.connected
    assert sender.refused == 2
    assert said_in(h, good) == []

    # Second reconnect: in flight at two drops, it goes out alone, and is refused again.
    reattach(h)
    await h.notifier.replay()
    assert not h.link.connected
    assert sender.refused == 3
    assert said_in(h, good) == []

    # Third reconnect: a notice in its place, and the other chat is delivered.
    reattach(h)
    await h.notifier.replay()
    await h.flush()

    assert h.link.connected
    [notice] = said_in(h, bad)
    assert NOTICE in notice
    [offer] = said_in(h, good)
    assert "[Vera] Just a question" in offer
    assert cursor_at_end(world, bad.id)
    assert cursor_at_end(world, good.id)
    assert sender.refused == 3


async def test_events_unconfirmed_at_a_drop_go_out_together_and_at_two_one_at_a_time(
    world: World,
) -> None:
    h = streamed(world)
    sender = h.sender
    assert isinstance(sender, StreamSender)
    await world.add_agent(ALICE, ready=True)
    visitor = await world.visitor()
    conversation = await world.start(visitor, "Hello")
    await world.visitor_says(visitor, conversation.id, "one")
    await h.notifier.drain()

    # The server restarts with both stanzas unconfirmed: they go out again together,
    # without a ping round trip each (a restart under load would otherwise hold the
    # catch-up for one per busy conversation).
    h.reconnect()
    sender.log.clear()
    await h.notifier.replay()
    assert sender.log.count("stanza") == 2
    assert "ping" not in sender.log

    # It restarts again with them still unconfirmed: now each is confirmed before the
    # next goes, so a refusal would show which one it was. The conversation's presence
    # goes with its event: before the offer, alone after the agent's join.
    h.reconnect()
    sender.log.clear()
    await h.notifier.replay()
    log = sender.log
    assert log.count("stanza") == 2
    assert all(b == "ping" for a, b in itertools.pairwise(log) if a == "stanza")
    assert [b for a, b in itertools.pairwise(log) if a == "presence"] == ["stanza", "ping"]
    assert log[-1] == "ping"

    # And again: confirmed events are nobody's suspects any more.
    h.reconnect()
    h.sender.take()
    sender.log.clear()
    await h.notifier.replay()
    texts = [body_of(s) or "" for s in messages(h.sender.take())]
    assert texts[0].startswith("New chat from Vera")
    assert texts[1:] == ["one"]
    assert "ping" not in sender.log
    assert not any(NOTICE in text for text in texts)


async def test_a_server_that_stops_answering_pings_parks_nothing(h: Harness) -> None:
    await h.world.add_agent(ALICE, ready=True)
    await h.world.start(await h.world.visitor(), "Hello")
    h.sender.answers = False

    await h.flush()  # unanswered: the notifier drops the link itself
    h.reconnect()
    await h.notifier.replay()  # the offer goes again
    await h.flush()  # and is unanswered again
    h.reconnect()
    await h.notifier.replay()  # the offer goes alone, and is unanswered a third time
    assert h.sender.aborted == 3
    h.reconnect()
    h.sender.answers = True
    h.sender.take()
    await h.notifier.replay()

    [offer] = [body_of(s) or "" for s in messages(h.sender.take())]
    assert offer.startswith("New chat from Vera")


class RefusingLink(Link):
    """A link whose byte budget an item is over, decided by ``refuse``."""

    def __init__(self, refuse: Callable[[Outbound], bool]) -> None:
        super().__init__(ADDRESSING)
        self.refuse = refuse

    def send(self, item: Outbound) -> bool:
        if self.connected and self.refuse(item):
            raise StanzaTooLarge("a 700000-byte stanza is over the budget of 65536")
        return super().send(item)


async def test_an_event_too_large_for_the_link_is_parked_at_once_and_the_chat_goes_on(
    world: World,
) -> None:
    h = harness(
        world,
        link=RefusingLink(
            lambda item: (
                isinstance(item, AgentOffer) and item.conversation.visitor_name == "Mallory"
            )
        ),
    )
    await world.add_agent(ALICE, ready=True)
    visitor = await world.visitor()

    conversation = await world.start(visitor, "Hello", form={"name": "Mallory"})
    await world.visitor_says(visitor, conversation.id, "Anyone?")
    await h.flush()

    stanzas = h.sender.take()
    assert {s.xml.get("to") for s in stanzas} == {ALICE_JID}
    notice, message = [body_of(s) or "" for s in messages(stanzas)]
    assert NOTICE in notice
    assert "too large" in notice
    assert message == "Anyone?"
    assert cursor_at_end(world, conversation.id)
    assert h.sender.pings == 1


async def test_an_event_whose_notice_is_too_large_as_well_is_parked_without_one(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    # Nothing to this agent fits (an absurd address): neither the events nor the notices.
    h = harness(world, link=RefusingLink(lambda item: True))
    await world.add_agent(ALICE, ready=True)

    with caplog.at_level(logging.WARNING):
        conversation = await world.start(await world.visitor(), "Hello")
        await h.flush()

    assert h.sender.take() == []
    # Parked for good: the cursor moves on, and nothing is left for the retry loop.
    assert cursor_at_end(world, conversation.id)
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert any("without a notice" in r.getMessage() for r in caplog.records)
