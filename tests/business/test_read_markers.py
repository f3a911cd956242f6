"""Read marks both ways (AGENT-DESK.md, "Receipts, markers, corrections, files").

The agent's read (an XEP-0333 ``displayed`` marker) is a visible ``read`` event that
only moves forward; the visitor's read is published for the agent desk and never
stored as an event."""

from __future__ import annotations

import asyncio

import pytest

from business import commands as c
from business.conversation import Conversation
from business.errors import Forbidden, InvalidInput
from business.events import ReadMarked, VisitorRead
from business.model import ParticipantKind
from tests.business.desk_worlds import chat_with_alice, desk, synced
from tests.harness import ALICE, BOB, World

__all__ = ["desk"]


def read(conv: Conversation, up_to_seq: int, agent: str = ALICE) -> c.MarkAgentRead:
    return c.MarkAgentRead(
        agent_id=agent,  # type: ignore[arg-type]
        conversation_id=conv.id,
        up_to_seq=up_to_seq,
    )


async def test_the_agents_read_is_a_visible_event_for_the_visitor(desk: World) -> None:
    conv = await chat_with_alice(desk)
    message = await desk.say(conv, "are you there?", "m-2")

    marked = await desk.services.read_markers.mark_read_by_agent(read(conv, message.seq))

    assert marked is not None
    assert marked.up_to_seq == message.seq
    assert marked.by.kind is ParticipantKind.AGENT
    assert marked.by.name == "Alice"
    events = await synced(desk, conv)
    assert events[-1] == marked
    assert marked.seq == len(events)
    assert marked in desk.published(conv.id)


async def test_a_read_only_moves_forward(desk: World) -> None:
    conv = await chat_with_alice(desk)
    first = await desk.say(conv, "one", "m-2")
    second = await desk.say(conv, "two", "m-3")
    markers = desk.services.read_markers

    assert await markers.mark_read_by_agent(read(conv, second.seq)) is not None
    assert await markers.mark_read_by_agent(read(conv, second.seq)) is None
    assert await markers.mark_read_by_agent(read(conv, first.seq)) is None
    third = await desk.say(conv, "three", "m-4")
    assert await markers.mark_read_by_agent(read(conv, third.seq)) is not None

    reads = [e for e in await synced(desk, conv) if isinstance(e, ReadMarked)]
    assert [r.up_to_seq for r in reads] == [second.seq, third.seq]


async def test_markers_arriving_together_store_the_furthest_once(desk: World) -> None:
    conv = await chat_with_alice(desk)
    other = await desk.start(await desk.visitor(), text="me too")
    messages = [await desk.say(conv, f"line {n}", f"m-{n}") for n in range(3)]
    markers = desk.services.read_markers

    outcomes = await asyncio.gather(
        *(markers.mark_read_by_agent(read(conv, m.seq)) for m in messages),
        markers.mark_read_by_agent(read(other, other.last_seq)),
    )

    stored = [o for o in outcomes if o is not None]
    assert sorted((o.conversation_id, o.up_to_seq) for o in stored) == sorted(
        [(conv.id, messages[-1].seq), (other.id, other.last_seq)]
    )
    reads = [e for e in await synced(desk, conv) if isinstance(e, ReadMarked)]
    assert [r.up_to_seq for r in reads] == [messages[-1].seq]


async def test_a_read_is_refused_beyond_the_chat_or_in_somebody_elses(desk: World) -> None:
    conv = await chat_with_alice(desk)
    await desk.agent(BOB, name="Bob", max_chats=10)
    before = await synced(desk, conv)
    markers = desk.services.read_markers

    with pytest.raises(InvalidInput):
        await markers.mark_read_by_agent(read(conv, conv.last_seq + 5))
    with pytest.raises(Forbidden):
        await markers.mark_read_by_agent(read(conv, conv.last_seq, agent=BOB))

    assert await synced(desk, conv) == before


async def test_a_read_in_an_ended_chat_is_dropped_without_a_word(desk: World) -> None:
    conv = await chat_with_alice(desk)
    await desk.conversations.end_by_agent(
        c.EndConversationByAgent(agent_id=ALICE, conversation_id=conv.id)
    )
    before = await synced(desk, conv)

    assert await desk.services.read_markers.mark_read_by_agent(read(conv, 1)) is None

    assert await synced(desk, conv) == before


async def test_the_visitors_read_is_published_for_the_desk_and_not_stored(desk: World) -> None:
    conv = await chat_with_alice(desk)
    reply = await desk.agent_says(ALICE, conv.id, "hello Vera", "xmpp:s1")
    before = await synced(desk, conv)
    mark = c.MarkVisitorRead(visitor_id=conv.visitor_id, conversation_id=conv.id, seq=reply.seq)

    await desk.messaging.mark_visitor_read(mark)
    await desk.messaging.mark_visitor_read(mark)  # no news: nothing published

    reads = [e for e in desk.recorder.events() if isinstance(e, VisitorRead)]
    assert reads == [VisitorRead(conversation_id=conv.id, up_to_seq=reply.seq)]
    assert await synced(desk, conv) == before
