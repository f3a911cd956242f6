"""Reading a chat's stored events: the visitor's sync and the agent-side history."""

from __future__ import annotations

import pytest

from business import commands as c
from business.conversation import Conversation
from business.errors import Forbidden, InvalidInput, NotFound
from business.events import DeskEvent
from business.model import ConversationId
from business.validation import Limits
from tests.business.support import active_chat, end
from tests.harness import ALICE, World, make_world

# -- sync -------------------------------------------------------------------------------


def sync(conv: Conversation, after_seq: int) -> c.SyncEvents:
    return c.SyncEvents(visitor_id=conv.visitor_id, conversation_id=conv.id, after_seq=after_seq)


async def test_sync_returns_everything_newer_in_order(engine: World) -> None:
    conv = await active_chat(engine, text="hi")
    await engine.agent_says(ALICE, conv.id, "Hello")
    everything = await engine.history.sync(sync(conv, 0))
    assert [e.seq for e in everything.events] == [1, 2, 3, 4, 5]
    # Everything the visitor may see: the offer and its end are the agent desk's.
    assert everything.events == [e for e in engine.stored(conv.id) if not isinstance(e, DeskEvent)]
    assert not everything.has_more
    newer = await engine.history.sync(sync(conv, 3))
    assert [e.seq for e in newer.events] == [4, 5]
    assert (await engine.history.sync(sync(conv, 5))).events == []
    assert (await engine.history.sync(sync(conv, 50))).events == []


async def test_sync_pages_with_has_more() -> None:
    engine = await make_world(limits=Limits(max_sync_events=2))
    conv = await engine.start(await engine.visitor(), text="m1")
    for i in range(2, 5):
        await engine.say(conv, f"m{i}", f"m{i}")
    seen: list[int] = []
    pages = 0
    after, more = 0, True
    while more:
        page = await engine.history.sync(sync(conv, after))
        assert len(page.events) <= 2
        seen += [e.seq for e in page.events]
        after, more = seen[-1], page.has_more
        pages += 1
    assert seen == [1, 2, 3, 4, 5]
    assert pages == 3


async def test_a_page_that_ends_exactly_at_the_limit_has_no_more() -> None:
    engine = await make_world(limits=Limits(max_sync_events=2))
    conv = await engine.start(await engine.visitor(), text="m1")
    page = await engine.history.sync(sync(conv, 0))
    assert [e.seq for e in page.events] == [1, 2]
    assert not page.has_more


async def test_sync_from_a_negative_seq_is_refused(engine: World) -> None:
    conv = await engine.start(await engine.visitor())
    with pytest.raises(InvalidInput, match="negative"):
        await engine.history.sync(sync(conv, -1))


async def test_sync_of_another_visitors_chat_is_forbidden(engine: World) -> None:
    conv = await engine.start(await engine.visitor(), text="private")
    stranger = await engine.visitor()
    with pytest.raises(Forbidden):
        await engine.history.sync(
            c.SyncEvents(visitor_id=stranger, conversation_id=conv.id, after_seq=0)
        )
    with pytest.raises(NotFound):
        await engine.history.sync(
            c.SyncEvents(visitor_id=stranger, conversation_id=ConversationId("x"), after_seq=0)
        )


# -- history ----------------------------------------------------------------------------


async def test_history_returns_stored_events_before_a_seq(engine: World) -> None:
    conv = await active_chat(engine, text="hi")
    await engine.agent_says(ALICE, conv.id, "Hello")
    everything = await engine.history.history(conv.id)
    assert everything == engine.stored(conv.id)
    assert [e.pos for e in await engine.history.history(conv.id, before_pos=3)] == [1, 2]
    assert await engine.history.history(conv.id, before_pos=1) == []
    assert await engine.history.history(conv.id, before_pos=0) == []
    assert await engine.history.history(conv.id, before_pos=99) == everything
    with pytest.raises(NotFound):
        await engine.history.history(ConversationId("nope"))


# -- newest -----------------------------------------------------------------------------


async def test_newest_is_each_conversations_newest_visible_event_with_its_visitor(
    engine: World,
) -> None:
    conv = await active_chat(engine, text="hi")
    newest = await engine.agent_says(ALICE, conv.id, "Hello")
    other = await active_chat(engine, text="other")
    found = await engine.history.newest([conv.id, ConversationId("unknown")])
    assert found == [(conv.visitor_id, newest)]
    # A visitor's open conversations count too, and each conversation once.
    both = await engine.history.newest([conv.id], [conv.visitor_id, other.visitor_id])
    last_of_other = (await engine.history.sync(sync(other, 0))).events[-1]
    assert sorted(both, key=lambda pair: pair[1].conversation_id) == sorted(
        [(conv.visitor_id, newest), (other.visitor_id, last_of_other)],
        key=lambda pair: pair[1].conversation_id,
    )
    # An ended conversation is found by its id (a tab may still follow it), not as open.
    await engine.conversations.end_by_visitor(end(conv))
    ended = (await engine.history.sync(sync(conv, newest.seq))).events[-1]
    assert await engine.history.newest([conv.id]) == [(conv.visitor_id, ended)]
    assert await engine.history.newest([], [conv.visitor_id]) == []
