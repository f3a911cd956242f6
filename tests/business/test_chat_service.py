from __future__ import annotations

import asyncio
import copy
import hashlib
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from business import commands as c
from business.conversation import Conversation
from business.errors import Forbidden, InvalidInput, InvalidTransition, NotFound, TooLarge
from business.events import (
    MessagePosted,
    ParticipantJoined,
    ParticipantLeft,
    StateChanged,
    TypingChanged,
)
from business.model import (
    DEFAULT_QUEUE,
    DEFAULT_TENANT,
    ConversationId,
    ConversationState,
    ParticipantKind,
    QueueName,
    TenantId,
    VisitorContext,
    VisitorId,
)
from business.validation import Limits
from tests.business.locking import LockingDatabase
from tests.harness import (
    ALICE,
    BOB,
    SALES,
    World,
    assert_published_once,
    assert_store_consistent,
    make_world,
)

QUEUED, ACTIVE, ENDED = ConversationState.QUEUED, ConversationState.ACTIVE, ConversationState.ENDED
TOKEN = "t" * 43


@contextmanager
def nothing_stored(engine: World) -> Iterator[None]:
    """What a failed use case must leave behind: the store and the notifiers untouched."""
    before = copy.deepcopy(engine.fakes)
    published = len(engine.recorder.published)
    yield
    assert engine.fakes == before
    assert len(engine.recorder.published) == published


async def active_chat(engine: World, text: str | None = None) -> Conversation:
    """A conversation already assigned to Alice."""
    if ALICE not in engine.fakes.agents:
        await engine.agent(ALICE, name="Alice", max_chats=10)
    conv = await engine.start(await engine.visitor(), text=text)
    assert conv.agent_id == ALICE
    return conv


# -- open_session -----------------------------------------------------------------------


async def test_a_new_visitor_gets_a_token_that_is_never_stored(engine: World) -> None:
    session = await engine.sessions.open_session(c.OpenSession(tenant_id=DEFAULT_TENANT))
    assert session.is_new
    assert session.tenant.id == DEFAULT_TENANT
    assert session.conversations == []
    assert len(session.visitor_token) >= 32
    visitor, stored = engine.fakes.visitors[session.visitor.id]
    assert visitor == session.visitor
    assert stored == hashlib.sha256(session.visitor_token.encode()).hexdigest()
    assert session.visitor_token not in stored


async def test_a_returning_visitor_is_the_same_visitor(engine: World) -> None:
    first = await engine.sessions.open_session(c.OpenSession(tenant_id=DEFAULT_TENANT))
    again = await engine.sessions.open_session(
        c.OpenSession(tenant_id=DEFAULT_TENANT, visitor_token=first.visitor_token)
    )
    assert not again.is_new
    assert again.visitor.id == first.visitor.id
    assert again.visitor_token == first.visitor_token
    assert len(engine.fakes.visitors) == 1


async def test_two_new_visitors_get_different_tokens(engine: World) -> None:
    one = await engine.sessions.open_session(c.OpenSession(tenant_id=DEFAULT_TENANT))
    two = await engine.sessions.open_session(c.OpenSession(tenant_id=DEFAULT_TENANT))
    assert one.visitor.id != two.visitor.id
    assert one.visitor_token != two.visitor_token


async def test_a_well_formed_unknown_token_gets_a_new_visitor(engine: World) -> None:
    session = await engine.sessions.open_session(
        c.OpenSession(tenant_id=DEFAULT_TENANT, visitor_token=TOKEN)
    )
    assert session.is_new
    assert session.visitor_token != TOKEN
    assert len(engine.fakes.visitors) == 1


async def test_a_token_of_another_tenant_does_not_open_its_visitor(engine: World) -> None:
    await engine.tenants.ensure_tenant(TenantId("acme"), name="Acme")
    acme = await engine.sessions.open_session(c.OpenSession(tenant_id=TenantId("acme")))
    here = await engine.sessions.open_session(
        c.OpenSession(tenant_id=DEFAULT_TENANT, visitor_token=acme.visitor_token)
    )
    assert here.is_new
    assert here.visitor.id != acme.visitor.id
    assert here.visitor.tenant_id == DEFAULT_TENANT


async def test_an_unknown_tenant_is_not_found(engine: World) -> None:
    with nothing_stored(engine), pytest.raises(NotFound, match="nowhere"):
        await engine.sessions.open_session(c.OpenSession(tenant_id=TenantId("nowhere")))


@pytest.mark.parametrize(
    "token",
    [
        "",
        "short",
        "x" * 129,
        "has space in it and long enough",
        "dots.are.not.allowed.here",
        TOKEN + "=",
    ],
)
async def test_a_malformed_token_is_refused(engine: World, token: str) -> None:
    with nothing_stored(engine), pytest.raises(InvalidInput, match="visitor_token"):
        await engine.sessions.open_session(
            c.OpenSession(tenant_id=DEFAULT_TENANT, visitor_token=token)
        )


async def test_the_session_lists_open_chats_and_the_newest_ended_one(engine: World) -> None:
    session = await engine.sessions.open_session(c.OpenSession(tenant_id=DEFAULT_TENANT))
    visitor = session.visitor.id
    older_ended = await engine.start(visitor)
    await engine.conversations.end_by_visitor(
        c.EndConversationByVisitor(visitor_id=visitor, conversation_id=older_ended.id)
    )
    engine.advance(60)
    newer_ended = await engine.start(visitor)
    await engine.conversations.end_by_visitor(
        c.EndConversationByVisitor(visitor_id=visitor, conversation_id=newer_ended.id)
    )
    engine.advance(60)
    support = await engine.start(visitor, text="hello")
    engine.advance(60)
    sales = await engine.start(visitor, queue=SALES)

    again = await engine.sessions.open_session(
        c.OpenSession(tenant_id=DEFAULT_TENANT, visitor_token=session.visitor_token)
    )
    shown = [(s.id, s.state, s.last_seq) for s in again.conversations]
    assert shown == [
        (sales.id, QUEUED, 1),
        (support.id, QUEUED, 2),
        (newer_ended.id, ENDED, engine.conv(newer_ended.id).last_seq),
    ]


async def test_unread_counts_the_other_sides_messages_after_the_read_mark(
    engine: World,
) -> None:
    session = await engine.sessions.open_session(c.OpenSession(tenant_id=DEFAULT_TENANT))
    await engine.agent(ALICE)
    conv = await engine.start(session.visitor.id, text="hi")
    await engine.agent_says(ALICE, conv.id, "Hello!")
    await engine.agent_says(ALICE, conv.id, "How can I help?")
    await engine.say(conv, "my order", "m2")

    async def unread() -> int:
        again = await engine.sessions.open_session(
            c.OpenSession(tenant_id=DEFAULT_TENANT, visitor_token=session.visitor_token)
        )
        (summary,) = again.conversations
        return summary.unread

    assert await unread() == 2
    first_agent_message = next(
        e
        for e in engine.stored(conv.id)
        if isinstance(e, MessagePosted) and e.sender.kind is ParticipantKind.AGENT
    )
    await engine.messaging.mark_visitor_read(
        c.MarkVisitorRead(
            visitor_id=conv.visitor_id, conversation_id=conv.id, seq=first_agent_message.seq
        )
    )
    assert await unread() == 1
    await engine.messaging.mark_visitor_read(
        c.MarkVisitorRead(
            visitor_id=conv.visitor_id, conversation_id=conv.id, seq=engine.conv(conv.id).last_seq
        )
    )
    assert await unread() == 0


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


# -- sync -------------------------------------------------------------------------------


def sync(conv: Conversation, after_seq: int) -> c.SyncEvents:
    return c.SyncEvents(visitor_id=conv.visitor_id, conversation_id=conv.id, after_seq=after_seq)


async def test_sync_returns_everything_newer_in_order(engine: World) -> None:
    conv = await active_chat(engine, text="hi")
    await engine.agent_says(ALICE, conv.id, "Hello")
    everything = await engine.history.sync(sync(conv, 0))
    assert [e.seq for e in everything.events] == [1, 2, 3, 4, 5]
    assert everything.events == engine.stored(conv.id)
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


def end(conv: Conversation) -> c.EndConversationByVisitor:
    return c.EndConversationByVisitor(visitor_id=conv.visitor_id, conversation_id=conv.id)


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
    await engine.delivery.mark_delivered_to_agent(conv.id, engine.conv(conv.id).last_seq)
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


# -- agent side -------------------------------------------------------------------------


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


async def test_the_agents_own_message_is_not_sent_back_to_them(engine: World) -> None:
    conv = await active_chat(engine)
    await engine.delivery.mark_delivered_to_agent(conv.id, engine.conv(conv.id).last_seq)
    message = await engine.agent_says(ALICE, conv.id, "Hello")
    assert engine.conv(conv.id).agent_delivered_seq == message.seq
    assert await engine.delivery.pending_agent_deliveries() == []


async def test_the_agents_message_does_not_skip_an_undelivered_visitor_message(
    engine: World,
) -> None:
    conv = await active_chat(engine)
    await engine.delivery.mark_delivered_to_agent(conv.id, engine.conv(conv.id).last_seq)
    question = await engine.say(conv, "Is anyone there?", "m1")
    await engine.agent_says(ALICE, conv.id, "Hello")
    (pending,) = await engine.delivery.pending_agent_deliveries()
    assert pending.events[0] == question


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


# -- delivery to agents -----------------------------------------------------------------


async def test_undelivered_events_wait_for_the_agent_in_order(engine: World) -> None:
    waiting = await engine.start(await engine.visitor(), queue=SALES, text="still there?")
    assert await engine.delivery.pending_agent_deliveries() == [], "nobody to deliver to yet"
    conv = await active_chat(engine, text="hi")
    # The join offer covers what came before it: pending starts at the join.
    (pending,) = await engine.delivery.pending_agent_deliveries()
    assert pending.conversation.id == conv.id
    assert [type(e) for e in pending.events] == [ParticipantJoined, StateChanged]
    one = await engine.say(conv, "one", "m1")
    two = await engine.say(conv, "two", "m2")
    (pending,) = await engine.delivery.pending_agent_deliveries()
    assert list(pending.events[-2:]) == [one, two]

    await engine.delivery.mark_delivered_to_agent(conv.id, one.seq)
    (pending,) = await engine.delivery.pending_agent_deliveries()
    assert list(pending.events) == [two]
    await engine.delivery.mark_delivered_to_agent(conv.id, two.seq)
    assert await engine.delivery.pending_agent_deliveries() == []
    assert engine.conv(waiting.id).agent_delivered_seq == 0


async def test_the_delivery_mark_never_goes_back_nor_past_the_end(engine: World) -> None:
    conv = await active_chat(engine)
    last = engine.conv(conv.id).last_seq
    await engine.delivery.mark_delivered_to_agent(conv.id, 100)
    assert engine.conv(conv.id).agent_delivered_seq == last
    await engine.delivery.mark_delivered_to_agent(conv.id, 1)
    assert engine.conv(conv.id).agent_delivered_seq == last
    with nothing_stored(engine):
        await engine.delivery.mark_delivered_to_agent(ConversationId("gone"), 3)


async def test_history_returns_stored_events_before_a_seq(engine: World) -> None:
    conv = await active_chat(engine, text="hi")
    await engine.agent_says(ALICE, conv.id, "Hello")
    everything = await engine.history.history(conv.id)
    assert everything == engine.stored(conv.id)
    assert [e.seq for e in await engine.history.history(conv.id, before_seq=3)] == [1, 2]
    assert await engine.history.history(conv.id, before_seq=1) == []
    assert await engine.history.history(conv.id, before_seq=0) == []
    assert await engine.history.history(conv.id, before_seq=99) == everything
    with pytest.raises(NotFound):
        await engine.history.history(ConversationId("nope"))


async def test_get_conversation_reads_the_stored_chat(engine: World) -> None:
    conv = await engine.start(await engine.visitor())
    assert await engine.conversations.get_conversation(conv.id) == engine.conv(conv.id)
    with pytest.raises(NotFound):
        await engine.conversations.get_conversation(ConversationId("nope"))


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
