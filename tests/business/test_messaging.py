"""Messages from both sides, typing notifications and the visitor's read mark."""

from __future__ import annotations

import asyncio

import pytest

from business import commands as c
from business.conversation import Conversation
from business.errors import Forbidden, InvalidInput, InvalidTransition, NotFound, TooLarge
from business.events import MessagePosted, TypingChanged
from business.model import ConversationId, ParticipantKind, VisitorContext
from business.validation import Limits
from tests.business.locking import LockingDatabase
from tests.business.support import active_chat, end, nothing_stored
from tests.harness import (
    ALICE,
    BOB,
    World,
    assert_published_once,
    assert_store_consistent,
    make_world,
)

# -- send_visitor_message ---------------------------------------------------------------


async def test_a_visitor_message_gets_the_next_seq_and_is_published(engine: World) -> None:
    conv = await engine.start(await engine.visitor(), text="hi")
    message = await engine.say(conv, "my order is late", "m-2")
    assert message.seq == 3
    assert message.text == "my order is late"
    assert message.created_at == engine.clock.now()
    assert engine.stored(conv.id)[-1] == message
    assert engine.conv(conv.id).last_seq == 3
    assert engine.published(conv.id)[-1] == message


async def test_a_retried_message_is_acked_the_same_and_published_once(engine: World) -> None:
    conv = await engine.start(await engine.visitor())
    first = await engine.say(conv, "hello", "m-1")
    engine.advance(5)
    commits = engine.fakes.commits
    retry = await engine.say(conv, "hello", "m-1")
    assert retry == first
    assert engine.fakes.commits == commits
    assert engine.published(conv.id).count(first) == 1
    assert engine.conv(conv.id).last_seq == 2


async def test_a_retry_with_other_text_still_gets_the_stored_message(engine: World) -> None:
    conv = await engine.start(await engine.visitor())
    first = await engine.say(conv, "hello", "m-1")
    assert await engine.say(conv, "hello (edited)", "m-1") == first


async def test_retries_racing_each_other_store_one_message() -> None:
    db = LockingDatabase()
    engine = await make_world(store=db.store, uow=db.uow)
    conv = await engine.start(await engine.visitor())
    acks = await asyncio.gather(*(engine.say(conv, "hello", "m-1") for _ in range(5)))
    assert len({ack.id for ack in acks}) == 1
    assert engine.conv(conv.id).last_seq == 2
    assert_store_consistent(engine.fakes)
    assert_published_once(engine)


async def test_a_visitor_cannot_write_in_another_visitors_chat(engine: World) -> None:
    conv = await engine.start(await engine.visitor())
    stranger = await engine.visitor()
    with nothing_stored(engine), pytest.raises(Forbidden):
        await engine.messaging.send_visitor_message(
            c.SendVisitorMessage(
                visitor_id=stranger, conversation_id=conv.id, client_msg_id="m", text="hi"
            )
        )


async def test_a_message_to_an_unknown_chat_is_not_found(engine: World) -> None:
    visitor = await engine.visitor()
    with nothing_stored(engine), pytest.raises(NotFound):
        await engine.messaging.send_visitor_message(
            c.SendVisitorMessage(
                visitor_id=visitor,
                conversation_id=ConversationId("nope"),
                client_msg_id="m",
                text="x",
            )
        )


async def test_text_up_to_the_limit_is_accepted_and_longer_is_too_large() -> None:
    engine = await make_world(limits=Limits(max_text_length=10))
    conv = await engine.start(await engine.visitor())
    assert (await engine.say(conv, "x" * 10, "ok")).text == "x" * 10
    with nothing_stored(engine), pytest.raises(TooLarge, match="longer than 10"):
        await engine.say(conv, "x" * 11, "long")


@pytest.mark.parametrize("text", ["", " ", "\n\t "])
async def test_an_empty_message_is_refused(engine: World, text: str) -> None:
    conv = await engine.start(await engine.visitor())
    with nothing_stored(engine), pytest.raises(InvalidInput, match="must not be empty"):
        await engine.say(conv, text, "m")


@pytest.mark.parametrize("client_msg_id", ["", "a b", "x" * 101, "é", "tab\t", "new\nline"])
async def test_a_bad_client_msg_id_is_refused(engine: World, client_msg_id: str) -> None:
    conv = await engine.start(await engine.visitor())
    with nothing_stored(engine), pytest.raises(InvalidInput, match="client_msg_id"):
        await engine.say(conv, "hi", client_msg_id)


async def test_the_longest_allowed_client_msg_id_is_accepted(engine: World) -> None:
    conv = await engine.start(await engine.visitor())
    assert (await engine.say(conv, "hi", "~" * 100)).client_msg_id == "~" * 100


async def test_an_ended_chat_refuses_new_messages_but_acks_retries(engine: World) -> None:
    conv = await engine.start(await engine.visitor())
    sent = await engine.say(conv, "bye", "m-1")
    await engine.conversations.end_by_visitor(
        c.EndConversationByVisitor(visitor_id=conv.visitor_id, conversation_id=conv.id)
    )
    assert await engine.say(conv, "bye", "m-1") == sent
    with nothing_stored(engine), pytest.raises(InvalidTransition, match="ended"):
        await engine.say(conv, "one more thing", "m-2")


async def test_a_visitor_id_used_by_the_agent_is_not_acked_as_stored(engine: World) -> None:
    conv = await active_chat(engine)
    await engine.agent_says(ALICE, conv.id, "Hello!", stanza_id="7")
    with nothing_stored(engine), pytest.raises(InvalidInput, match="already used"):
        await engine.say(conv, "my question", "7")


@pytest.mark.parametrize("bad", ["a\x00b", "lone \ud800 surrogate", "\udfff"])
async def test_text_no_database_can_store_is_bad_input_not_an_internal_error(
    engine: World, bad: str
) -> None:
    conv = await engine.start(await engine.visitor())
    with nothing_stored(engine), pytest.raises(InvalidInput, match="NUL or an unpaired"):
        await engine.say(conv, bad, "m-bad")
    newcomer = await engine.visitor()
    with nothing_stored(engine), pytest.raises(InvalidInput, match="NUL or an unpaired"):
        await engine.conversations.start_conversation(
            c.StartConversation(visitor_id=newcomer, context=VisitorContext(page_title=bad))
        )
    with nothing_stored(engine), pytest.raises(InvalidInput, match="NUL or an unpaired"):
        await engine.conversations.update_context(
            c.UpdateContext(visitor_id=conv.visitor_id, context=VisitorContext(custom={"k": bad}))
        )


async def test_characters_outside_the_basic_plane_are_fine(engine: World) -> None:
    conv = await engine.start(await engine.visitor())
    message = await engine.say(conv, "thanks \U0001f600 \u00e9\u4e2d", "m-emoji")
    assert message.text == "thanks \U0001f600 \u00e9\u4e2d"


# -- send_agent_message -----------------------------------------------------------------


async def test_the_assigned_agent_writes_to_the_visitor(engine: World) -> None:
    conv = await active_chat(engine)
    message = await engine.agent_says(ALICE, conv.id, "Hello, I am Alice.", stanza_id="s1")
    assert message.sender.kind is ParticipantKind.AGENT
    assert message.sender.name == "Alice"
    assert message.seq == conv.last_seq + 1
    assert engine.published(conv.id)[-1] == message


async def test_only_the_assigned_agent_may_write(engine: World) -> None:
    conv = await active_chat(engine)
    await engine.agent(BOB)
    with nothing_stored(engine), pytest.raises(Forbidden):
        await engine.agent_says(BOB, conv.id, "Hi, Bob here")


async def test_no_agent_may_write_in_a_waiting_chat(engine: World) -> None:
    await engine.agent(ALICE, ready=False)
    conv = await engine.start(await engine.visitor())
    with nothing_stored(engine), pytest.raises(Forbidden):
        await engine.agent_says(ALICE, conv.id, "Hi")


async def test_an_agent_message_to_an_unknown_chat_is_not_found(engine: World) -> None:
    with nothing_stored(engine), pytest.raises(NotFound):
        await engine.agent_says(ALICE, ConversationId("nope"), "Hi")


async def test_a_resent_stanza_is_stored_once(engine: World) -> None:
    conv = await active_chat(engine)
    first = await engine.agent_says(ALICE, conv.id, "Hello", stanza_id="s1")
    with nothing_stored(engine):
        again = await engine.agent_says(ALICE, conv.id, "Hello", stanza_id="s1")
    assert again == first


async def test_agent_messages_without_a_stanza_id_are_all_stored(engine: World) -> None:
    conv = await active_chat(engine)
    await engine.agent_says(ALICE, conv.id, "Hello")
    await engine.agent_says(ALICE, conv.id, "Hello")
    texts = [e.text for e in engine.stored(conv.id) if isinstance(e, MessagePosted)]
    assert texts == ["Hello", "Hello"]


async def test_a_stanza_id_the_visitor_used_does_not_swallow_the_agent_message(
    engine: World,
) -> None:
    conv = await active_chat(engine)
    await engine.say(conv, "question", "1")
    answer = await engine.agent_says(ALICE, conv.id, "answer", stanza_id="1")
    assert answer.sender.kind is ParticipantKind.AGENT
    texts = [e.text for e in engine.stored(conv.id) if isinstance(e, MessagePosted)]
    assert texts == ["question", "answer"]


async def test_an_agent_cannot_write_after_the_end_but_a_resend_is_acked(
    engine: World,
) -> None:
    conv = await active_chat(engine)
    sent = await engine.agent_says(ALICE, conv.id, "Bye", stanza_id="s1")
    await engine.conversations.end_by_visitor(end(conv))
    assert await engine.agent_says(ALICE, conv.id, "Bye", stanza_id="s1") == sent
    with nothing_stored(engine), pytest.raises(InvalidTransition):
        await engine.agent_says(ALICE, conv.id, "Are you there?")


@pytest.mark.parametrize(
    ("text", "stanza_id", "error"),
    [("", None, InvalidInput), ("x" * 4001, None, TooLarge), ("hi", "bad id", InvalidInput)],
)
async def test_a_bad_agent_message_is_refused(
    engine: World, text: str, stanza_id: str | None, error: type[Exception]
) -> None:
    conv = await active_chat(engine)
    with nothing_stored(engine), pytest.raises(error):
        await engine.agent_says(ALICE, conv.id, text, stanza_id=stanza_id)


# -- typing -----------------------------------------------------------------------------


async def test_visitor_typing_is_published_but_never_stored(engine: World) -> None:
    conv = await engine.start(await engine.visitor())
    commits, last_seq = engine.fakes.commits, engine.conv(conv.id).last_seq
    await engine.messaging.set_visitor_typing(
        c.SetVisitorTyping(visitor_id=conv.visitor_id, conversation_id=conv.id, composing=True)
    )
    typing = engine.recorder.events()[-1]
    assert isinstance(typing, TypingChanged)
    assert typing.conversation_id == conv.id
    assert typing.composing
    assert typing.sender.kind is ParticipantKind.VISITOR
    assert typing.sender.name == conv.visitor_name
    assert (engine.fakes.commits, engine.conv(conv.id).last_seq) == (commits, last_seq)


async def test_typing_in_another_visitors_chat_is_forbidden(engine: World) -> None:
    conv = await engine.start(await engine.visitor())
    stranger = await engine.visitor()
    with nothing_stored(engine), pytest.raises(Forbidden):
        await engine.messaging.set_visitor_typing(
            c.SetVisitorTyping(visitor_id=stranger, conversation_id=conv.id, composing=True)
        )


async def test_typing_in_an_ended_chat_is_refused(engine: World) -> None:
    conv = await engine.start(await engine.visitor())
    await engine.conversations.end_by_visitor(
        c.EndConversationByVisitor(visitor_id=conv.visitor_id, conversation_id=conv.id)
    )
    with nothing_stored(engine), pytest.raises(InvalidTransition):
        await engine.messaging.set_visitor_typing(
            c.SetVisitorTyping(visitor_id=conv.visitor_id, conversation_id=conv.id, composing=True)
        )


async def test_agent_typing_reaches_the_visitor_as_the_agent(engine: World) -> None:
    conv = await active_chat(engine)
    commits = engine.fakes.commits
    await engine.messaging.set_agent_typing(
        c.SetAgentTyping(agent_id=ALICE, conversation_id=conv.id, composing=False)
    )
    typing = engine.recorder.events()[-1]
    assert isinstance(typing, TypingChanged)
    assert typing.sender.kind is ParticipantKind.AGENT
    assert typing.sender.name == "Alice"
    assert not typing.composing
    assert engine.fakes.commits == commits


async def test_agent_typing_after_the_end_is_dropped(engine: World) -> None:
    conv = await active_chat(engine)
    await engine.conversations.end_by_agent(
        c.EndConversationByAgent(agent_id=ALICE, conversation_id=conv.id)
    )
    with nothing_stored(engine):
        await engine.messaging.set_agent_typing(
            c.SetAgentTyping(agent_id=ALICE, conversation_id=conv.id, composing=True)
        )


async def test_another_agent_cannot_type_in_the_chat(engine: World) -> None:
    conv = await active_chat(engine)
    with nothing_stored(engine), pytest.raises(Forbidden):
        await engine.messaging.set_agent_typing(
            c.SetAgentTyping(agent_id=BOB, conversation_id=conv.id, composing=True)
        )


# -- mark_visitor_read ------------------------------------------------------------------


def read(conv: Conversation, seq: int) -> c.MarkVisitorRead:
    return c.MarkVisitorRead(visitor_id=conv.visitor_id, conversation_id=conv.id, seq=seq)


async def test_the_read_mark_only_moves_forward(engine: World) -> None:
    conv = await engine.start(await engine.visitor(), text="one")
    await engine.say(conv, "two", "m2")
    await engine.messaging.mark_visitor_read(read(conv, 2))
    assert engine.conv(conv.id).visitor_read_seq == 2
    await engine.messaging.mark_visitor_read(read(conv, 1))
    await engine.messaging.mark_visitor_read(read(conv, 0))
    assert engine.conv(conv.id).visitor_read_seq == 2
    await engine.messaging.mark_visitor_read(read(conv, 3))
    assert engine.conv(conv.id).visitor_read_seq == 3


@pytest.mark.parametrize("seq", [-1, 3, 100])
async def test_a_read_mark_outside_the_chat_is_refused(engine: World, seq: int) -> None:
    conv = await engine.start(await engine.visitor(), text="one")
    with nothing_stored(engine), pytest.raises(InvalidInput, match="between 0 and 2"):
        await engine.messaging.mark_visitor_read(read(conv, seq))


async def test_a_read_mark_in_another_visitors_chat_is_forbidden(engine: World) -> None:
    conv = await engine.start(await engine.visitor(), text="one")
    stranger = await engine.visitor()
    with nothing_stored(engine), pytest.raises(Forbidden):
        await engine.messaging.mark_visitor_read(
            c.MarkVisitorRead(visitor_id=stranger, conversation_id=conv.id, seq=1)
        )
