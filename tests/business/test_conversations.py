"""Starting a chat, updating its visitor context and ending it."""

from __future__ import annotations

import asyncio

import pytest

from business import commands as c
from business.errors import Forbidden, InvalidInput, InvalidTransition, NotFound, TooLarge
from business.events import MessagePosted, ParticipantLeft, StateChanged
from business.model import (
    DEFAULT_QUEUE,
    ConversationId,
    ParticipantKind,
    QueueName,
    VisitorContext,
    VisitorId,
)
from tests.business.locking import LockingDatabase
from tests.business.support import ENDED, QUEUED, active_chat, end, nothing_stored
from tests.harness import (
    ALICE,
    BOB,
    SALES,
    World,
    assert_published_once,
    assert_store_consistent,
    make_world,
)

# -- start_conversation -----------------------------------------------------------------


async def test_a_chat_starts_queued_in_the_default_queue(engine: World) -> None:
    conv = await engine.start(await engine.visitor())
    assert conv.queue == DEFAULT_QUEUE
    assert conv.state is QUEUED
    assert conv.queue_position == 1
    (event,) = engine.stored(conv.id)
    assert event == StateChanged(
        conversation_id=conv.id,
        seq=1,
        pos=1,
        created_at=engine.clock.now(),
        state=QUEUED,
        queue_position=1,
    )
    assert engine.published(conv.id) == [event]


async def test_a_chat_starts_in_the_queue_asked_for(engine: World) -> None:
    conv = await engine.start(await engine.visitor(), queue=SALES)
    assert conv.queue == SALES


async def test_an_unknown_queue_is_not_found(engine: World) -> None:
    visitor = await engine.visitor()
    with nothing_stored(engine), pytest.raises(NotFound, match="billing"):
        await engine.start(visitor, queue=QueueName("billing"))


async def test_an_unknown_visitor_cannot_start_a_chat(engine: World) -> None:
    with nothing_stored(engine), pytest.raises(NotFound):
        await engine.start(VisitorId("nobody"))


async def test_the_first_message_is_stored_after_the_queued_state(engine: World) -> None:
    conv = await engine.start(
        await engine.visitor(), text="Where is my parcel?", client_msg_id="c-1"
    )
    assert conv.last_seq == 2
    queued, message = engine.stored(conv.id)
    assert isinstance(queued, StateChanged)
    assert isinstance(message, MessagePosted)
    assert message.seq == 2
    assert message.text == "Where is my parcel?"
    assert message.client_msg_id == "c-1"
    assert message.sender.kind is ParticipantKind.VISITOR
    assert message.sender.id == conv.visitor_id


async def test_the_name_comes_from_the_form(engine: World) -> None:
    conv = await engine.start(
        await engine.visitor(), text="hi", form={"name": "  Ann Lee ", "email": "ann@example.com"}
    )
    assert conv.visitor_name == "Ann Lee"
    assert conv.form == {"name": "  Ann Lee ", "email": "ann@example.com"}
    message = engine.stored(conv.id)[1]
    assert isinstance(message, MessagePosted)
    assert message.sender.name == "Ann Lee"


async def test_a_visitor_without_a_name_gets_a_stable_placeholder(engine: World) -> None:
    visitor = await engine.visitor()
    conv = await engine.start(visitor, form={"name": "   "})
    assert conv.visitor_name == f"Visitor {visitor[:4]}"


async def test_a_long_name_is_cut_the_same_everywhere(engine: World) -> None:
    conv = await engine.start(await engine.visitor(), text="hi", form={"name": "N" * 300})
    later = await engine.say(conv, "again", "m2")
    first = engine.stored(conv.id)[1]
    assert isinstance(first, MessagePosted)
    assert conv.visitor_name == "N" * 100
    assert first.sender.name == later.sender.name == conv.visitor_name


async def test_the_context_is_kept_with_the_chat(engine: World) -> None:
    context = VisitorContext(page_url="https://shop.example/cart", custom={"plan": "pro"})
    conv = await engine.conversations.start_conversation(
        c.StartConversation(visitor_id=await engine.visitor(), context=context)
    )
    assert conv.context == context


async def test_starting_again_returns_the_open_chat_of_that_queue(engine: World) -> None:
    visitor = await engine.visitor()
    first = await engine.start(visitor)
    again = await engine.start(visitor)
    other_queue = await engine.start(visitor, queue=SALES)
    assert again.id == first.id
    assert other_queue.id != first.id
    assert len(engine.fakes.conversations) == 2


async def test_a_retried_start_stores_its_first_message_once(engine: World) -> None:
    visitor = await engine.visitor()
    first = await engine.start(visitor, text="hello", client_msg_id="c-1")
    retry = await engine.start(visitor, text="hello", client_msg_id="c-1")
    assert retry.id == first.id
    assert retry.last_seq == 2
    messages = [e for e in engine.stored(first.id) if isinstance(e, MessagePosted)]
    assert [m.text for m in messages] == ["hello"]


async def test_a_new_first_message_goes_to_the_open_chat(engine: World) -> None:
    visitor = await engine.visitor()
    first = await engine.start(visitor, text="hello", client_msg_id="c-1")
    second = await engine.start(visitor, text="anyone?", client_msg_id="c-2")
    assert second.id == first.id
    messages = [e for e in engine.stored(first.id) if isinstance(e, MessagePosted)]
    assert [m.text for m in messages] == ["hello", "anyone?"]


async def test_after_a_chat_ended_a_start_opens_a_new_one(engine: World) -> None:
    visitor = await engine.visitor()
    first = await engine.start(visitor)
    await engine.conversations.end_by_visitor(
        c.EndConversationByVisitor(visitor_id=visitor, conversation_id=first.id)
    )
    second = await engine.start(visitor)
    assert second.id != first.id
    assert second.state is QUEUED


async def test_a_retried_start_racing_the_first_makes_one_chat() -> None:
    db = LockingDatabase()
    engine = await make_world(store=db.store, uow=db.uow)
    visitor = await engine.visitor()
    one, two = await asyncio.gather(
        engine.start(visitor, text="hello", client_msg_id="c-1"),
        engine.start(visitor, text="hello", client_msg_id="c-1"),
    )
    assert one.id == two.id
    assert len(engine.fakes.conversations) == 1
    messages = [e for e in engine.stored(one.id) if isinstance(e, MessagePosted)]
    assert len(messages) == 1
    assert_store_consistent(engine.fakes)
    assert_published_once(engine)


@pytest.mark.parametrize(
    ("start", "error", "match"),
    [
        (
            c.StartConversation(visitor_id=VisitorId("v"), form={f"f{i}": "x" for i in range(21)}),
            TooLarge,
            "form has more than 20 fields",
        ),
        (c.StartConversation(visitor_id=VisitorId("v"), form={"": "x"}), InvalidInput, "names"),
        (
            c.StartConversation(visitor_id=VisitorId("v"), form={"k" * 101: "x"}),
            InvalidInput,
            "names",
        ),
        (
            c.StartConversation(visitor_id=VisitorId("v"), form={"notes": "x" * 2001}),
            TooLarge,
            "form.notes",
        ),
        (
            c.StartConversation(
                visitor_id=VisitorId("v"), context=VisitorContext(page_url="u" * 2001)
            ),
            TooLarge,
            "context.page_url",
        ),
        (
            c.StartConversation(
                visitor_id=VisitorId("v"),
                context=VisitorContext(custom={f"k{i}": "v" for i in range(51)}),
            ),
            TooLarge,
            "context.custom",
        ),
        (
            c.StartConversation(
                visitor_id=VisitorId("v"), message=c.FirstMessage(client_msg_id="", text="hi")
            ),
            InvalidInput,
            "client_msg_id",
        ),
        (
            c.StartConversation(
                visitor_id=VisitorId("v"), message=c.FirstMessage(client_msg_id="c", text=" \n")
            ),
            InvalidInput,
            "message.text must not be empty",
        ),
        (
            c.StartConversation(
                visitor_id=VisitorId("v"),
                message=c.FirstMessage(client_msg_id="c", text="x" * 4001),
            ),
            TooLarge,
            "message.text",
        ),
    ],
)
async def test_a_bad_start_is_refused_and_stores_nothing(
    engine: World, start: c.StartConversation, error: type[Exception], match: str
) -> None:
    visitor = await engine.visitor()
    with nothing_stored(engine), pytest.raises(error, match=match):
        await engine.conversations.start_conversation(
            c.StartConversation(
                visitor_id=visitor,
                form=start.form,
                context=start.context,
                message=start.message,
            )
        )


# -- get_conversation -------------------------------------------------------------------


async def test_get_conversation_reads_the_stored_chat(engine: World) -> None:
    conv = await engine.start(await engine.visitor())
    assert await engine.conversations.get_conversation(conv.id) == engine.conv(conv.id)
    with pytest.raises(NotFound):
        await engine.conversations.get_conversation(ConversationId("nope"))


# -- update_context ---------------------------------------------------------------------


async def test_a_context_update_merges_into_every_open_chat(engine: World) -> None:
    visitor = await engine.visitor()
    ended = await engine.conversations.start_conversation(
        c.StartConversation(
            visitor_id=visitor, queue=SALES, context=VisitorContext(page_url="https://a/")
        )
    )
    await engine.conversations.end_by_visitor(
        c.EndConversationByVisitor(visitor_id=visitor, conversation_id=ended.id)
    )
    engine.advance(1)
    conv = await engine.conversations.start_conversation(
        c.StartConversation(
            visitor_id=visitor,
            context=VisitorContext(page_url="https://a/", page_title="A", custom={"cart": "1"}),
        )
    )
    last_seq = conv.last_seq
    updated = await engine.conversations.update_context(
        c.UpdateContext(
            visitor_id=visitor,
            context=VisitorContext(page_url="https://b/", custom={"cart": "2", "plan": "pro"}),
        )
    )
    assert updated == 1
    assert engine.conv(conv.id).context == VisitorContext(
        page_url="https://b/", page_title="A", custom={"cart": "2", "plan": "pro"}
    )
    assert engine.conv(ended.id).context == VisitorContext(page_url="https://a/")
    assert engine.conv(conv.id).last_seq == last_seq


async def test_a_context_update_without_open_chats_changes_nothing(engine: World) -> None:
    visitor = await engine.visitor()
    assert (
        await engine.conversations.update_context(
            c.UpdateContext(visitor_id=visitor, context=VisitorContext(page_url="https://b/"))
        )
        == 0
    )


async def test_a_bad_context_update_is_refused(engine: World) -> None:
    visitor = await engine.visitor()
    await engine.start(visitor)
    with nothing_stored(engine), pytest.raises(TooLarge):
        await engine.conversations.update_context(
            c.UpdateContext(visitor_id=visitor, context=VisitorContext(page_title="t" * 2001))
        )
    with nothing_stored(engine), pytest.raises(NotFound):
        await engine.conversations.update_context(
            c.UpdateContext(visitor_id=VisitorId("nobody"), context=VisitorContext())
        )


# -- end_by_visitor ---------------------------------------------------------------------


async def test_a_visitor_ends_a_waiting_chat(engine: World) -> None:
    conv = await engine.start(await engine.visitor())
    engine.advance(30)
    ended = await engine.conversations.end_by_visitor(end(conv))
    assert ended.state is ENDED
    assert ended.ended_at == engine.clock.now()
    assert ended.queue_position is None
    assert engine.conv(conv.id) == ended
    left, state = engine.stored(conv.id)[1:]
    assert isinstance(left, ParticipantLeft)
    assert left.participant.kind is ParticipantKind.VISITOR
    assert isinstance(state, StateChanged)
    assert state.state is ENDED
    assert engine.published(conv.id)[-2:] == [left, state]


async def test_a_visitor_ends_an_active_chat_and_the_agent_is_told(engine: World) -> None:
    conv = await active_chat(engine)
    await engine.delivery.mark_delivered_to_agent(conv.id, engine.conv(conv.id).last_pos)
    await engine.conversations.end_by_visitor(end(conv))
    (pending,) = await engine.delivery.pending_agent_deliveries()
    assert [type(e) for e in pending.events] == [ParticipantLeft, StateChanged]
    assert pending.conversation.state is ENDED


async def test_ending_twice_changes_nothing_the_second_time(engine: World) -> None:
    conv = await engine.start(await engine.visitor())
    first = await engine.conversations.end_by_visitor(end(conv))
    engine.advance(60)
    with nothing_stored(engine):
        again = await engine.conversations.end_by_visitor(end(conv))
    assert again == first


async def test_a_visitor_cannot_end_another_visitors_chat(engine: World) -> None:
    conv = await engine.start(await engine.visitor())
    stranger = await engine.visitor()
    with nothing_stored(engine), pytest.raises(Forbidden):
        await engine.conversations.end_by_visitor(
            c.EndConversationByVisitor(visitor_id=stranger, conversation_id=conv.id)
        )


# -- end_by_agent -----------------------------------------------------------------------


async def test_the_agent_ends_the_chat(engine: World) -> None:
    conv = await active_chat(engine)
    ended = await engine.conversations.end_by_agent(
        c.EndConversationByAgent(agent_id=ALICE, conversation_id=conv.id)
    )
    assert ended.state is ENDED
    left, state = engine.stored(conv.id)[-2:]
    assert isinstance(left, ParticipantLeft)
    assert left.participant.kind is ParticipantKind.AGENT
    assert left.participant.name == "Alice"
    assert isinstance(state, StateChanged)
    assert state.state is ENDED
    with nothing_stored(engine), pytest.raises(InvalidTransition, match="already ended"):
        await engine.conversations.end_by_agent(
            c.EndConversationByAgent(agent_id=ALICE, conversation_id=conv.id)
        )


async def test_another_agent_cannot_end_the_chat(engine: World) -> None:
    conv = await active_chat(engine)
    with nothing_stored(engine), pytest.raises(Forbidden):
        await engine.conversations.end_by_agent(
            c.EndConversationByAgent(agent_id=BOB, conversation_id=conv.id)
        )
