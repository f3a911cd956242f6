"""An integrator and a chat with the bot, on the fakes (with the store's invariants),
SQLite and PostgreSQL (``bot_world``: the bot first in ``support``, none in ``sales``):
its transfer to a queue is the bot's hand-over, its transfer to an agent the router's
offer of a waiting chat, and its bot may post quick replies as the rules bot does."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from business import commands as c
from business.bot_model import QuickReply
from business.errors import InvalidInput, QueueFull
from business.events import (
    MessagePosted,
    NoteAdded,
    OfferMade,
    StateChanged,
    Transferred,
)
from business.integrator_commands import PostIntegratorMessage
from business.model import (
    DEFAULT_QUEUE,
    DEFAULT_TENANT,
    ConversationState,
    OfferKind,
    Participant,
    ParticipantKind,
)
from tests.business import bot_support
from tests.business.bot_support import BOT_CONFIG, bot_messages, shown
from tests.business.integrator_support import (
    HELPER,
    after,
    now,
    stored,
    synced,
    transfer,
    waiting,
)
from tests.business.support import nothing_stored
from tests.harness import ALICE, BOB, SALES, World

BOT, QUEUED, ACTIVE = ConversationState.BOT, ConversationState.QUEUED, ConversationState.ACTIVE
BUTTONS = (
    QuickReply(id="track", label="Track my order"),
    QuickReply(id="person", label="A person"),
)


@pytest.fixture
async def fake_world_with_bot(tmp_path: Path) -> AsyncIterator[World]:
    """``bot_world`` on the fakes only: for refusals, checked to store nothing."""
    async for world in bot_support.bot_world("fake", tmp_path):
        yield world


async def with_the_bot(world: World) -> MessagePosted:
    """A chat with the bot (it has greeted); returns the greeting."""
    conv = await world.start(await world.visitor(), text="hello")
    assert conv.state is BOT
    return bot_messages(world, conv)[0]


# -- to a queue ------------------------------------------------------------------------


async def test_a_transfer_to_a_queue_is_the_bots_hand_over(bot_world: World) -> None:
    world = bot_world
    await world.agent(BOB, name="Bob", queues=(SALES,), auto_accept=False)
    conv = await world.start(await world.visitor(), text="hello")
    assert await waiting(world, SALES) == 0

    moved = await transfer(world, conv, queue=SALES, note="asked about a quote")

    # It waits in sales as a chat that just started there: first in line, counted, and
    # the router offers it to sales' agent.
    assert (moved.state, moved.queue, moved.queue_position) == (QUEUED, SALES, 1)
    current = await now(world, conv.id)
    assert (current.state, current.offered_to, current.bot_misses) == (QUEUED, BOB, 0)
    assert await waiting(world, SALES) == 1
    assert await waiting(world, DEFAULT_QUEUE) == 0
    [change] = after(await synced(world, conv), conv)
    assert isinstance(change, StateChanged)
    assert (change.state, change.queue_position) == (QUEUED, 1)
    # No transfer, as none is when the rules bot hands over; the integrator's note is a
    # note for the agents, so the offer's transcript carries it.
    events = await stored(world, conv.id)
    assert not [e for e in events if isinstance(e, Transferred)]
    [note] = [e for e in events if isinstance(e, NoteAdded)]
    assert (note.by, note.text) == (HELPER, "asked about a quote")
    [offer] = [e for e in events if isinstance(e, OfferMade)]
    assert note.pos < offer.pos
    assert offer.kind is OfferKind.ROUTE

    # The bot is out of it: what the visitor writes now waits for the agent.
    greeted = len(bot_messages(world, conv))
    await world.visitor_says(conv.visitor_id, conv.id, "Talk to a person")
    assert len(bot_messages(world, conv)) == greeted


async def test_a_hand_over_into_its_own_queue_without_a_note_adds_none(
    bot_world: World,
) -> None:
    world = bot_world
    conv = await world.start(await world.visitor(), text="hello")

    moved = await transfer(world, conv, queue=DEFAULT_QUEUE)

    assert (moved.state, moved.queue, moved.queue_position) == (QUEUED, DEFAULT_QUEUE, 1)
    assert not [e for e in await stored(world, conv.id) if isinstance(e, NoteAdded)]
    assert shown(world, conv, conv.last_seq) == [("state", "queued")]
    assert await waiting(world, DEFAULT_QUEUE) == 1


async def test_a_hand_over_into_a_full_queue_is_refused_and_the_bot_keeps_the_chat(
    fake_world_with_bot: World,
) -> None:
    world = fake_world_with_bot
    await world.services.tenants.set_queue_limit(DEFAULT_TENANT, SALES, 1)
    await world.start(await world.visitor(), text="first", queue=SALES)  # nobody takes it
    conv = await world.start(await world.visitor(), text="hello")

    with nothing_stored(world), pytest.raises(QueueFull, match="sales"):
        await transfer(world, conv, queue=SALES, note="quote")

    assert (await now(world, conv.id)).state is BOT


# -- to an agent -----------------------------------------------------------------------


async def test_a_transfer_to_an_agent_enters_the_queue_and_offers_it_as_the_router_would(
    bot_world: World,
) -> None:
    world = bot_world
    await world.agent(ALICE, name="Alice", auto_accept=False)
    await world.agent(BOB, name="Bob", queues=(SALES,), auto_accept=False)
    conv = await world.start(await world.visitor(), text="hello")

    offered = await transfer(world, conv, agent="bob@example.com", note="a VIP")

    # Waiting in its own queue, offered to Bob by the integrator's hand.
    assert (offered.state, offered.queue, offered.offered_to) == (QUEUED, DEFAULT_QUEUE, BOB)
    assert offered.offer_kind is OfferKind.ROUTE
    assert await waiting(world, DEFAULT_QUEUE) == 1
    events = await stored(world, conv.id)
    [note] = [e for e in events if isinstance(e, NoteAdded)]
    [offer] = [e for e in events if isinstance(e, OfferMade)]
    assert offer.agent.id == BOB
    # The offer's transcript (everything before it) has the bot's part and the note.
    (history,) = await world.history.histories([(conv.id, offer.pos)])
    assert not isinstance(history, BaseException)
    assert note in history
    said = [(e.sender.kind, e.text) for e in history if isinstance(e, MessagePosted)]
    assert said == [
        (ParticipantKind.VISITOR, "hello"),
        (ParticipantKind.BOT, BOT_CONFIG.greeting),
    ]

    # Bob lets it pass: it waits for the next agent of the queue, as a routed chat does.
    await world.services.offers.decline(c.DeclineOffer(agent_id=BOB, conversation_id=conv.id))
    passed = await now(world, conv.id)
    assert (passed.state, passed.offered_to, passed.last_offered_to) == (QUEUED, ALICE, BOB)
    await world.services.offers.accept(c.AcceptOffer(agent_id=ALICE, conversation_id=conv.id))
    taken = await now(world, conv.id)
    assert (taken.state, taken.agent_id) == (ACTIVE, ALICE)
    assert await waiting(world, DEFAULT_QUEUE) == 0


async def test_an_offer_to_an_agent_from_a_full_queue_is_refused_and_the_bot_keeps_the_chat(
    fake_world_with_bot: World,
) -> None:
    world = fake_world_with_bot
    await world.agent(BOB, name="Bob", queues=(SALES,))  # ready, with room
    await world.services.tenants.set_queue_limit(DEFAULT_TENANT, DEFAULT_QUEUE, 1)
    first = await world.start(await world.visitor(), text="hello")
    await transfer(world, first, queue=DEFAULT_QUEUE)  # waits: nobody of support is there
    conv = await world.start(await world.visitor(), text="hello")

    # The chat would enter its full queue before the offer: refused as a hand-over is.
    with nothing_stored(world), pytest.raises(QueueFull, match="support"):
        await transfer(world, conv, agent="bob@example.com")

    assert (await now(world, conv.id)).state is BOT
    assert await waiting(world, DEFAULT_QUEUE) == 1


async def test_an_agent_who_takes_offers_at_once_has_the_chat_when_the_transfer_returns(
    bot_world: World,
) -> None:
    world = bot_world
    await world.agent(BOB, name="Bob", queues=(SALES,))

    conv = await world.start(await world.visitor(), text="hello")
    taken = await transfer(world, conv, agent="bob@example.com")

    assert (taken.state, taken.agent_id) == (ACTIVE, BOB)
    assert [s for kind, s in shown(world, conv, conv.last_seq) if kind == "state"] == [
        "queued",
        "active",
    ]
    assert await waiting(world, DEFAULT_QUEUE) == 0


# -- quick replies ---------------------------------------------------------------------


def bot_post(
    conv_id: str,
    client_msg_id: str,
    *,
    replies: tuple[QuickReply, ...] = BUTTONS,
    sender: Participant = HELPER,
) -> PostIntegratorMessage:
    return PostIntegratorMessage(
        tenant_id=DEFAULT_TENANT,
        conversation_id=conv_id,  # type: ignore[arg-type]
        sender=sender,
        client_msg_id=client_msg_id,
        text="How can I help?",
        quick_replies=replies,
    )


async def test_an_integrators_bot_posts_quick_replies_as_the_rules_bot_does(
    bot_world: World,
) -> None:
    world = bot_world
    greeting = await with_the_bot(world)
    conv = await now(world, greeting.conversation_id)

    posted = await world.services.integrator_messages.post(bot_post(conv.id, "q-1"))

    assert posted.quick_replies == BUTTONS
    assert bot_messages(world, conv)[-1] == posted
    [synced_message] = after(await synced(world, conv), conv)
    assert synced_message == posted
    # A retry is answered with the stored message, buttons and all.
    again = await world.services.integrator_messages.post(bot_post(conv.id, "q-1"))
    assert again == posted


@pytest.mark.parametrize(
    ("replies", "sender", "error", "message"),
    [
        (
            BUTTONS,
            Participant(kind=ParticipantKind.SYSTEM, name="Orders"),
            InvalidInput,
            "only a bot's message",
        ),
        (
            tuple(QuickReply(id=f"o{n}", label=f"Option {n}") for n in range(11)),
            HELPER,
            InvalidInput,
            "at most 10",
        ),
        ((QuickReply(id="Bad Id", label="x"),), HELPER, InvalidInput, "needs an id"),
        ((QuickReply(id="a", label=" "),), HELPER, InvalidInput, "must not be empty"),
        ((QuickReply(id="a", label="x" * 61),), HELPER, InvalidInput, "at most 60"),
        (
            (QuickReply(id="a", label="Yes"), QuickReply(id="b", label="yes")),
            HELPER,
            InvalidInput,
            "another option",
        ),
    ],
)
async def test_quick_replies_that_cannot_be_are_refused_and_nothing_is_stored(
    fake_world_with_bot: World,
    replies: tuple[QuickReply, ...],
    sender: Participant,
    error: type[Exception],
    message: str,
) -> None:
    world = fake_world_with_bot
    greeting = await with_the_bot(world)
    with nothing_stored(world), pytest.raises(error, match=message):
        await world.services.integrator_messages.post(
            bot_post(greeting.conversation_id, "q-1", replies=replies, sender=sender)
        )
