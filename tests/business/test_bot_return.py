"""Back to the bot (``!bot``), a bot switched off or failing, and bot turns in group
commit. The flows run on the fakes, SQLite and PostgreSQL (``bot_world``)."""

from __future__ import annotations

import asyncio

import pytest

from business import commands as c
from business.bot_model import BotConfig, BotKind
from business.conversation import Conversation
from business.errors import Forbidden, InvalidTransition
from business.events import MessagePosted, OfferMade, StateChanged, Transferred
from business.model import (
    DEFAULT_QUEUE,
    DEFAULT_TENANT,
    AgentId,
    AgentRole,
    ConversationState,
    OfferKind,
    ParticipantKind,
)
from chat_engine.bootstrap import bootstrap
from tests.business.bot_support import BOT_CONFIG, bot_messages, now, shown, with_bot
from tests.business.support import nothing_stored
from tests.fakes import RecordingNotifier
from tests.harness import ALICE, BOB, SALES, World, assert_store_consistent, make_world

BOT, QUEUED, ACTIVE = ConversationState.BOT, ConversationState.QUEUED, ConversationState.ACTIVE


async def with_agent(world: World, text: str = "Talk to a person") -> Conversation:
    """A chat the bot handed over to Alice, who has it now."""
    conv = await world.start(await world.visitor(), text=text)
    after = await now(world, conv)
    assert (after.state, after.agent_id) == (ACTIVE, ALICE)
    return after


def back(agent_id: AgentId, conv: Conversation) -> c.ReturnToBot:
    return c.ReturnToBot(agent_id=agent_id, conversation_id=conv.id)


async def test_the_agent_sends_the_visitor_back_and_the_bot_greets_again(
    bot_world: World,
) -> None:
    await bot_world.agent(ALICE, name="Alice", max_chats=1)
    conv = await with_agent(bot_world)
    await bot_world.agent_says(ALICE, conv.id, "Your refund is on its way.")
    # A second visitor waits: Alice's only place is taken.
    other = await bot_world.start(await bot_world.visitor(), text="agent!")
    assert (await now(bot_world, other)).state is QUEUED
    before = (await now(bot_world, conv)).last_seq

    sent = await bot_world.services.bots.send_back(back(ALICE, conv))

    assert (sent.state, sent.agent_id, sent.bot_misses) == (BOT, None, 0)
    assert shown(bot_world, conv, before) == [
        ("left", "Alice"),
        ("state", "bot"),
        ("bot", BOT_CONFIG.greeting),
    ]
    # Only the agents learn where it went.
    (moved,) = [e for e in bot_world.published(conv.id) if isinstance(e, Transferred)]
    assert (moved.by.id, moved.to) == (ALICE, bot_messages(bot_world, conv)[0].sender)
    # Her place is free at once: the waiting visitor is hers now.
    taken = await now(bot_world, other)
    assert (taken.state, taken.agent_id) == (ACTIVE, ALICE)
    # And she is out of the first chat.
    with pytest.raises(Forbidden):
        await bot_world.agent_says(ALICE, conv.id, "one more thing")


async def test_after_going_back_the_visitor_can_ask_for_a_person_again(bot_world: World) -> None:
    await bot_world.agent(ALICE, name="Alice", auto_accept=False)
    conv = await bot_world.start(await bot_world.visitor(), text="Talk to a person")
    await bot_world.services.offers.accept(c.AcceptOffer(agent_id=ALICE, conversation_id=conv.id))
    await bot_world.agent_says(ALICE, conv.id, "Hello, Alice here.")
    await bot_world.services.bots.send_back(back(ALICE, conv))

    await bot_world.visitor_says(conv.visitor_id, conv.id, "human please")

    again = await now(bot_world, conv)
    assert (again.state, again.offered_to) == (QUEUED, ALICE)
    offers = [e for e in bot_world.published(conv.id) if isinstance(e, OfferMade)]
    (history,) = await bot_world.history.histories([(conv.id, offers[-1].pos)])
    assert not isinstance(history, BaseException)
    said = [(e.sender.kind, e.text) for e in history if isinstance(e, MessagePosted)]
    # The whole transcript: the bot, Alice, the bot again.
    assert said[-5:] == [
        (ParticipantKind.BOT, BOT_CONFIG.handover_text),
        (ParticipantKind.AGENT, "Hello, Alice here."),
        (ParticipantKind.BOT, BOT_CONFIG.greeting),
        (ParticipantKind.VISITOR, "human please"),
        (ParticipantKind.BOT, BOT_CONFIG.handover_text),
    ]


async def test_going_back_is_refused_where_it_cannot_be(bot_world: World) -> None:
    await bot_world.agent(ALICE, name="Alice", max_chats=3)
    await bot_world.agent(BOB, name="Bob", queues=(SALES,))
    conv = await with_agent(bot_world)
    sales = await bot_world.start(await bot_world.visitor(), text="hi", queue=SALES)
    assert sales.agent_id == BOB

    with pytest.raises(InvalidTransition, match="queue sales has no bot"):
        await bot_world.services.bots.send_back(back(BOB, sales))
    with pytest.raises(Forbidden, match="not the agent"):
        await bot_world.services.bots.send_back(back(BOB, conv))
    await bot_world.services.hold.hold(c.HoldChat(agent_id=ALICE, conversation_id=conv.id))
    with pytest.raises(InvalidTransition, match="only an active chat goes back to the bot"):
        await bot_world.services.bots.send_back(back(ALICE, conv))
    assert (await now(bot_world, conv)).state is ConversationState.ON_HOLD


async def test_a_refused_send_back_stores_nothing() -> None:
    world = await make_world()
    await with_bot(world)
    await world.agent(ALICE, name="Alice")
    await world.agent(BOB, name="Bob")
    conv = await with_agent(world)
    await world.services.participants.offer(
        c.OfferToColleague(
            agent_id=ALICE, conversation_id=conv.id, kind=OfferKind.INVITE, target=BOB
        )
    )

    with nothing_stored(world), pytest.raises(InvalidTransition, match="offered to Bob"):
        await world.services.bots.send_back(back(ALICE, conv))


async def test_a_bot_switched_off_hands_its_chats_over_at_the_next_message(
    bot_world: World,
) -> None:
    conv = await bot_world.start(await bot_world.visitor(), text="hi")
    await with_bot(bot_world, None)

    await bot_world.visitor_says(conv.visitor_id, conv.id, "still there?")

    after = await now(bot_world, conv)
    assert after.state is QUEUED
    # Without a word: there is no bot to say one.
    assert shown(bot_world, conv, conv.last_seq) == [
        ("visitor", "still there?"),
        ("state", "queued"),
    ]


class _BrokenBot:
    async def greet(self, conversation: Conversation, config: BotConfig) -> None:
        return None  # an external bot greets later, on its own

    async def answer(self, conversation: Conversation, config: BotConfig, message: object) -> None:
        raise RuntimeError("the bot's server is down")


async def test_a_failing_bot_hands_over_rather_than_leave_the_visitor_talking_to_nothing() -> None:
    world = await make_world()
    services = bootstrap(uow=world.uow, clock=world.clock, bots={BotKind.RULES: _BrokenBot()})
    recorder = RecordingNotifier()
    services.publisher.subscribe(recorder)
    await with_bot(world)
    visitor = await world.visitor()
    started = await services.conversations.start_conversation(
        c.StartConversation(visitor_id=visitor)
    )
    assert (started.state, started.last_seq) == (BOT, 1)  # no greeting from this one

    await services.messaging.send_visitor_message(
        c.SendVisitorMessage(
            visitor_id=visitor, conversation_id=started.id, client_msg_id="m1", text="hello?"
        )
    )

    assert world.conv(started.id).state is QUEUED
    states = [e.state for e in recorder.events() if isinstance(e, StateChanged)]
    assert states == [BOT, QUEUED]
    assert_store_consistent(world.fakes)


async def test_many_visitors_at_once_cost_few_transactions_and_each_gets_one_answer() -> None:
    world = await make_world()
    await with_bot(world)
    convs = [await world.start(await world.visitor()) for _ in range(30)]
    commits = world.fakes.commits

    await asyncio.gather(*(world.say(conv, "refund?", f"m-{i}") for i, conv in enumerate(convs)))

    for conv in convs:
        answers = [m.text for m in bot_messages(world, conv)]
        assert answers == [BOT_CONFIG.greeting, "Refunds take five days."]
    # Messages and answers go in batches: far fewer commits than 30 of each.
    assert world.fakes.commits - commits <= 6
    assert_store_consistent(world.fakes)


async def test_two_quick_misses_are_counted_one_after_the_other(bot_world: World) -> None:
    conv = await bot_world.start(await bot_world.visitor())

    # Stored in one batch, answered in one batch: still each on what the one before did.
    await asyncio.gather(bot_world.say(conv, "blah", "m-1"), bot_world.say(conv, "blah", "m-2"))

    after = await now(bot_world, conv)
    assert after.state is QUEUED
    assert [m.text for m in bot_messages(bot_world, conv)] == [
        BOT_CONFIG.greeting,
        BOT_CONFIG.miss_text,
        BOT_CONFIG.handover_text,
    ]


async def test_a_supervisor_cannot_barge_into_a_chat_with_the_bot(bot_world: World) -> None:
    sam = AgentId("sam@example.com")
    await bot_world.agents.add_agent(
        c.AddAgent(
            address=sam,
            agent_id=sam,
            queues=(SALES,),
            max_chats=1,
            tenant_id=DEFAULT_TENANT,
            name="Sam",
            role=AgentRole.SUPERVISOR,
            supervises=(DEFAULT_QUEUE,),
        )
    )
    conv = await bot_world.start(await bot_world.visitor(), text="hi")

    with pytest.raises(InvalidTransition, match="talking to the bot: there is nobody to join"):
        await bot_world.services.supervision.barge(
            c.Barge(supervisor_id=sam, conversation_id=conv.id)
        )
    assert (await now(bot_world, conv)).members == ()
