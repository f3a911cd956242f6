"""Hold (``!hold`` / ``!unhold``, AGENT-DESK.md): a parked chat leaves its agent's
capacity; the visitor's next message brings it back to that agent if they are ready and
have room, else to the queue, where that agent is preferred.

The flows run on the fakes, SQLite and PostgreSQL; on the fakes every test also checks
the store's invariants (queue waiting counts, capacity counting only active chats).
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from business import commands as c
from business.conversation import Conversation
from business.errors import Forbidden, InvalidTransition
from business.events import (
    ChatReturned,
    DeskEvent,
    MessagePosted,
    OfferMade,
    ParticipantLeft,
    StateChanged,
    StoredEvent,
)
from business.model import DEFAULT_QUEUE, DEFAULT_TENANT, Agent, AgentId, ConversationState
from business.routing import choose_agent
from tests import fakes
from tests.business.support import nothing_stored
from tests.conftest import BACKENDS, open_database
from tests.harness import (
    ALICE,
    BOB,
    World,
    assert_published_once,
    assert_store_consistent,
    make_world,
)

QUEUED = ConversationState.QUEUED
ACTIVE = ConversationState.ACTIVE
ON_HOLD = ConversationState.ON_HOLD
ENDED = ConversationState.ENDED


@pytest.fixture(params=[pytest.param("fake", id="fake"), *BACKENDS])
async def world(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[World]:
    if request.param == "fake":
        fake = await make_world()
        yield fake
        assert_store_consistent(fake.fakes)
        assert_published_once(fake)
        return
    async with open_database(request.param, tmp_path) as db:
        yield await make_world(uow=db.unit_of_work)


async def chat_with(world: World, agent_id: AgentId, text: str = "hello") -> Conversation:
    conv = await world.start(await world.visitor(), text=text)
    assert conv.agent_id == agent_id
    return conv


async def hold(world: World, conv: Conversation, agent_id: AgentId = ALICE) -> Conversation:
    return await world.services.hold.hold(c.HoldChat(agent_id=agent_id, conversation_id=conv.id))


async def unhold(world: World, conv: Conversation, agent_id: AgentId = ALICE) -> Conversation:
    return await world.services.hold.unhold(
        c.UnholdChat(agent_id=agent_id, conversation_id=conv.id)
    )


async def now(world: World, conv: Conversation) -> Conversation:
    return await world.conversations.get_conversation(conv.id)


async def set_ready(world: World, agent_id: AgentId, ready: bool) -> None:
    await world.agents.set_availability(c.SetAgentAvailability(agent_id=agent_id, ready=ready))


def visible_since(world: World, conv: Conversation, seq: int) -> list[tuple[str, object]]:
    """(type, state or sender kind) of what the visitor was sent after ``seq``."""
    shown: list[tuple[str, object]] = []
    for e in world.published(conv.id):
        if isinstance(e, DeskEvent) or e.seq <= seq:
            continue
        match e:
            case StateChanged(state=state):
                shown.append(("state", state))
            case MessagePosted(sender=who) | ParticipantLeft(participant=who):
                shown.append((type(e).__name__, who.kind.value))
            case _:
                shown.append((type(e).__name__, None))
    return shown


def desk(world: World, conv: Conversation) -> list[StoredEvent]:
    return [e for e in world.published(conv.id) if isinstance(e, DeskEvent)]


# -- hold and unhold --------------------------------------------------------------------


async def test_hold_tells_the_visitor_and_frees_the_agents_place(world: World) -> None:
    await world.agent(ALICE, max_chats=1)
    first = await chat_with(world, ALICE)
    second = await world.start(await world.visitor(), text="me too")
    assert (await now(world, second)).state is QUEUED  # Alice is full

    held = await hold(world, first)

    assert held.state is ON_HOLD
    assert held.agent_id == ALICE
    assert visible_since(world, first, first.last_seq) == [("state", ON_HOLD)]
    # The held chat no longer counts: the one waiting is Alice's now.
    taken = await now(world, second)
    assert taken.state is ACTIVE
    assert taken.agent_id == ALICE


async def test_unhold_takes_the_chat_back(world: World) -> None:
    await world.agent(ALICE, max_chats=2)
    conv = await chat_with(world, ALICE)
    held = await hold(world, conv)

    back = await unhold(world, conv)

    assert back.state is ACTIVE
    assert back.agent_id == ALICE
    assert visible_since(world, conv, held.last_seq) == [("state", ACTIVE)]
    # Taken back by hand: nothing to explain in the agent's window.
    assert not any(isinstance(e, ChatReturned) for e in desk(world, conv))


async def test_unhold_is_refused_at_capacity_saying_why(world: World) -> None:
    await world.agent(ALICE, max_chats=1)
    first = await chat_with(world, ALICE)
    await hold(world, first)
    await chat_with(world, ALICE, "another visitor")

    with pytest.raises(InvalidTransition, match="at your maximum of 1 active chat:"):
        await unhold(world, first)

    assert (await now(world, first)).state is ON_HOLD


async def test_an_agent_cannot_write_to_the_visitor_while_on_hold(world: World) -> None:
    await world.agent(ALICE)
    conv = await chat_with(world, ALICE)
    await hold(world, conv)

    with pytest.raises(InvalidTransition, match=r"on hold: !unhold first"):
        await world.agent_says(ALICE, conv.id, "are you there?")

    # Notes are for the agents and still work.
    await world.services.notes.add_note(
        c.AddNote(agent_id=ALICE, conversation_id=conv.id, text="waiting for the invoice")
    )
    assert (await now(world, conv)).state is ON_HOLD


# -- the visitor writes again ----------------------------------------------------------


async def test_a_message_brings_it_back_to_its_ready_agent(world: World) -> None:
    await world.agent(ALICE)
    conv = await chat_with(world, ALICE)
    held = await hold(world, conv)

    message = await world.visitor_says(conv.visitor_id, conv.id, "here is the invoice")

    back = await now(world, conv)
    assert back.state is ACTIVE
    assert back.agent_id == ALICE
    # Stored as usual first, then the chat is active again.
    assert visible_since(world, conv, held.last_seq) == [
        ("MessagePosted", "visitor"),
        ("state", ACTIVE),
    ]
    assert message.seq == held.last_seq + 1
    # The agent is told why it is back, in the chat's window.
    returned = [e for e in desk(world, conv) if isinstance(e, ChatReturned)]
    assert [(e.agent.id, e.pos) for e in returned] == [(ALICE, back.last_pos)]


async def test_a_message_sends_it_to_the_queue_when_its_agent_is_not_ready(
    world: World,
) -> None:
    # Reawaken window 0: it goes to whoever is free at once (business.reawaken_rules; the
    # reservation is tested in tests/business/test_reawaken.py).
    await world.services.queue_settings.configure(
        c.ConfigureQueue(tenant_id=DEFAULT_TENANT, queue=DEFAULT_QUEUE, reawaken_window=0)
    )
    await world.agent(ALICE)
    conv = await chat_with(world, ALICE)
    held = await hold(world, conv)
    await set_ready(world, ALICE, False)

    await world.visitor_says(conv.visitor_id, conv.id, "hello again")

    queued = await now(world, conv)
    assert queued.state is QUEUED
    assert queued.agent_id is None
    assert queued.preferred_agent_id == ALICE
    assert queued.queue_position == 1
    assert visible_since(world, conv, held.last_seq) == [
        ("MessagePosted", "visitor"),
        ("ParticipantLeft", "agent"),
        ("state", QUEUED),
    ]
    queues = await world.services.agent_desk.queues(
        await _agent(world, ALICE),
    )
    assert [(q.queue, q.waiting) for q in queues] == [(DEFAULT_QUEUE, 1)]
    # Her reply now says what happened rather than only "not yours".
    with pytest.raises(Forbidden, match="went back to the queue"):
        await world.agent_says(ALICE, conv.id, "I am back")

    # Another agent takes it, with what the visitor wrote meanwhile.
    await world.agent(BOB, auto_accept=False)
    offered = await now(world, conv)
    assert offered.offered_to == BOB
    offers = [e for e in desk(world, conv) if isinstance(e, OfferMade)]
    assert [e.agent.id for e in offers] == [ALICE, BOB]
    await world.agent_says(BOB, conv.id, "Hi, I am Bob")
    taken = await now(world, conv)
    assert (taken.state, taken.agent_id) == (ACTIVE, BOB)


async def test_back_in_the_queue_its_agent_is_preferred_once_they_have_room(
    world: World,
) -> None:
    await world.agent(ALICE, max_chats=1)
    first = await chat_with(world, ALICE)
    await hold(world, first)
    second = await chat_with(world, ALICE, "my turn")

    # Alice is full: the visitor's message sends the chat to the queue.
    await world.visitor_says(first.visitor_id, first.id, "any news?")
    assert (await now(world, first)).state is QUEUED

    await world.conversations.end_by_agent(
        c.EndConversationByAgent(agent_id=ALICE, conversation_id=second.id)
    )

    back = await now(world, first)
    assert (back.state, back.agent_id) == (ACTIVE, ALICE)


async def test_the_queue_prefers_the_former_agent_over_a_less_busy_one(world: World) -> None:
    await world.agent(ALICE, max_chats=3)
    conv = await chat_with(world, ALICE)
    await chat_with(world, ALICE, "busy")
    await hold(world, conv)
    await set_ready(world, ALICE, False)
    await world.visitor_says(conv.visitor_id, conv.id, "hello?")
    queued = await now(world, conv)
    await world.agent(BOB, ready=False)
    alice, bob = await _agent(world, ALICE), await _agent(world, BOB)
    ready = [dataclasses.replace(a, ready=True) for a in (alice, bob)]

    # When both can take it, Bob idle and Alice busy, the router picks Alice.
    chosen = choose_agent(ready, {ALICE: 1, BOB: 0}, prefer=queued.preferred_agent_id)

    assert chosen is not None
    assert chosen.id == ALICE


async def test_the_visitor_or_the_agent_may_end_a_held_chat(world: World) -> None:
    await world.agent(ALICE)
    by_visitor = await chat_with(world, ALICE)
    by_agent = await chat_with(world, ALICE, "second")
    await hold(world, by_visitor)
    held = await hold(world, by_agent)

    await world.conversations.end_by_visitor(
        c.EndConversationByVisitor(visitor_id=by_visitor.visitor_id, conversation_id=by_visitor.id)
    )
    await world.conversations.end_by_agent(
        c.EndConversationByAgent(agent_id=ALICE, conversation_id=by_agent.id, wrap_up="done")
    )

    assert (await now(world, by_visitor)).state is ENDED
    assert (await now(world, by_agent)).state is ENDED
    # The agent had joined: they leave visibly, as from an active chat.
    assert visible_since(world, by_agent, held.last_seq) == [
        ("ParticipantLeft", "agent"),
        ("state", ENDED),
    ]


# -- refusals (fakes: nothing may be stored) ---------------------------------------------


async def test_refusals_say_why_and_change_nothing(engine: World) -> None:
    await engine.agent(ALICE, max_chats=3)
    await engine.agent(BOB, ready=False)
    conv = await chat_with(engine, ALICE)

    with nothing_stored(engine), pytest.raises(Forbidden, match="not the agent"):
        await hold(engine, conv, BOB)
    with nothing_stored(engine), pytest.raises(InvalidTransition, match="not on hold"):
        await unhold(engine, conv)
    await hold(engine, conv)
    with nothing_stored(engine), pytest.raises(InvalidTransition, match="already on hold"):
        await hold(engine, conv)
    with nothing_stored(engine), pytest.raises(Forbidden, match="not the agent"):
        await unhold(engine, conv, BOB)
    await engine.conversations.end_by_agent(
        c.EndConversationByAgent(agent_id=ALICE, conversation_id=conv.id)
    )
    with nothing_stored(engine), pytest.raises(InvalidTransition, match="has ended"):
        await hold(engine, conv)
    with nothing_stored(engine), pytest.raises(InvalidTransition, match="has ended"):
        await unhold(engine, conv)


async def test_a_chat_that_is_not_active_cannot_be_held(engine: World) -> None:
    await engine.agent(ALICE, auto_accept=False)
    conv = await engine.start(await engine.visitor(), text="hi")
    assert engine.conv(conv.id).offered_to == ALICE

    with nothing_stored(engine), pytest.raises(Forbidden, match="not the agent"):
        await hold(engine, conv)


async def test_a_message_after_it_was_taken_back_changes_nothing_more(engine: World) -> None:
    await engine.agent(ALICE)
    conv = await chat_with(engine, ALICE)
    await hold(engine, conv)
    await unhold(engine, conv)
    before = engine.conv(conv.id).last_pos

    await engine.visitor_says(conv.visitor_id, conv.id, "thanks")

    after = engine.conv(conv.id)
    assert after.state is ACTIVE
    assert after.last_pos == before + 1  # the message, nothing else
    assert await engine.services.hold.resume(DEFAULT_TENANT, conv.id) is None


async def _agent(world: World, agent_id: AgentId) -> Agent:
    agent = await world.agents.get_agent(agent_id)
    assert agent is not None
    return agent


async def test_messages_together_bring_a_held_chat_back_once_and_others_read_nothing(
    engine: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    await engine.agent(ALICE, max_chats=3)
    held = await chat_with(engine, ALICE)
    active = await chat_with(engine, ALICE, "other")
    await hold(engine, held)
    reads: list[str] = []

    def counted(name: str) -> object:
        read = getattr(fakes._Conversations, name)

        async def counting(self: object, *args: object, **kwargs: object) -> object:
            mark = len(reads)
            found = await read(self, *args, **kwargs)
            del reads[mark:]  # the fake's get_many reads through get: count it once
            reads.append(name)
            return found

        return counting

    for name in ("get", "get_many", "count_active_by_agent"):
        monkeypatch.setattr(fakes._Conversations, name, counted(name))

    # A message to an active chat: the batch's one read, nothing to decide about holds.
    await engine.visitor_says(active.visitor_id, active.id, "just me")
    assert reads == ["get_many"]
    reads.clear()

    acks = await asyncio.gather(
        *(engine.say(held, f"part {i}", f"h-{i}") for i in range(3)),
        engine.say(active, "and me", "a-1"),
    )

    assert all(isinstance(ack, MessagePosted) for ack in acks)
    assert engine.conv(held.id).state is ACTIVE
    assert len([e for e in engine.stored(held.id) if isinstance(e, ChatReturned)]) == 1
    # The batch's read; then for the held chat only: it under lock, and Alice's load.
    assert reads.count("get_many") >= 1
    assert [r for r in reads if r != "get_many"] == ["get", "count_active_by_agent"]
