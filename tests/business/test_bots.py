"""Bot-first queues: a chat starts with the queue's bot, which greets with its menu,
answers keywords and menu choices, counts misses, and hands over to the queue (by
choice, keyword or misses) as a new chat would enter it, with the whole transcript for
the agent. Runs on the fakes, SQLite and PostgreSQL (``bot_world``)."""

from __future__ import annotations

import dataclasses

import pytest

from business import commands as c
from business.errors import InvalidInput
from business.events import MessagePosted, OfferMade
from business.model import DEFAULT_QUEUE, DEFAULT_TENANT, ConversationState, ParticipantKind
from tests.business.bot_support import BOT_CONFIG, MENU, bot_messages, now, shown
from tests.harness import ALICE, SALES, World

BOT, QUEUED, ACTIVE = ConversationState.BOT, ConversationState.QUEUED, ConversationState.ACTIVE


async def waiting(world: World) -> int:
    queue = await world.services.queue_settings.get(DEFAULT_TENANT, DEFAULT_QUEUE)
    assert queue is not None
    return queue.waiting


async def test_a_chat_starts_with_the_bot_which_greets_with_its_menu(bot_world: World) -> None:
    await bot_world.agent(ALICE)  # ready and free: the bot still goes first
    conv = await bot_world.start(await bot_world.visitor(), text="hello")

    assert conv.state is BOT
    assert (conv.agent_id, conv.offered_to, conv.queue_position) == (None, None, None)
    assert shown(bot_world, conv) == [
        ("state", "bot"),
        ("visitor", "hello"),
        ("bot", BOT_CONFIG.greeting),
    ]
    (greeting,) = bot_messages(bot_world, conv)
    assert greeting.sender.name == "Ava"
    assert greeting.quick_replies == MENU
    # "hello" means nothing to the bot, but its greeting and menu answer that: no miss.
    assert conv.bot_misses == 0
    assert await waiting(bot_world) == 0
    assert conv.last_seq == greeting.seq  # the start returns after the greeting


async def test_keyword_answers_and_menu_choices(bot_world: World) -> None:
    conv = await bot_world.start(await bot_world.visitor())
    before = conv.last_seq

    await bot_world.visitor_says(conv.visitor_id, conv.id, "How long does a refund take?")
    await bot_world.visitor_says(conv.visitor_id, conv.id, "Opening hours")

    assert shown(bot_world, conv, before) == [
        ("visitor", "How long does a refund take?"),
        ("bot", "Refunds take five days."),
        ("visitor", "Opening hours"),
        ("bot", "We are open 9-17, Mon-Fri."),
    ]
    # Every message of the bot carries the menu.
    assert {m.quick_replies for m in bot_messages(bot_world, conv)} == {MENU}
    after = await now(bot_world, conv)
    assert (after.state, after.bot_misses) == (BOT, 0)


async def test_misses_in_a_row_hand_over_and_an_answer_starts_the_count_again(
    bot_world: World,
) -> None:
    await bot_world.agent(ALICE, name="Alice")
    conv = await bot_world.start(await bot_world.visitor())
    say = bot_world.visitor_says

    await say(conv.visitor_id, conv.id, "blah")
    assert (await now(bot_world, conv)).bot_misses == 1
    await say(conv.visitor_id, conv.id, "any refund?")
    assert (await now(bot_world, conv)).bot_misses == 0
    await say(conv.visitor_id, conv.id, "blah blah")
    assert (await now(bot_world, conv)).state is BOT
    await say(conv.visitor_id, conv.id, "blah blah blah")

    after = await now(bot_world, conv)
    assert (after.state, after.agent_id, after.bot_misses) == (ACTIVE, ALICE, 0)
    assert shown(bot_world, conv, conv.last_seq)[-7:] == [
        ("visitor", "blah blah"),
        ("bot", BOT_CONFIG.miss_text),
        ("visitor", "blah blah blah"),
        ("bot", BOT_CONFIG.handover_text),
        ("state", "queued"),
        ("joined", "Alice"),
        ("state", "active"),
    ]
    # The hand-over says goodbye without buttons: the menu means nothing any more.
    assert bot_messages(bot_world, conv)[-1].quick_replies == ()


async def test_talk_to_a_person_enters_the_queue_and_the_offer_carries_the_bots_part(
    bot_world: World,
) -> None:
    await bot_world.agent(ALICE, name="Alice", auto_accept=False)
    conv = await bot_world.start(await bot_world.visitor(), text="hi")
    await bot_world.visitor_says(conv.visitor_id, conv.id, "refund?")

    await bot_world.visitor_says(conv.visitor_id, conv.id, "Talk to a person")

    offered = await now(bot_world, conv)
    assert (offered.state, offered.offered_to) == (QUEUED, ALICE)
    (offer,) = [e for e in bot_world.published(conv.id) if isinstance(e, OfferMade)]
    (history,) = await bot_world.history.histories([(conv.id, offer.pos)])
    assert not isinstance(history, BaseException)
    said = [(e.sender.kind, e.text) for e in history if isinstance(e, MessagePosted)]
    assert said == [
        (ParticipantKind.VISITOR, "hi"),
        (ParticipantKind.BOT, BOT_CONFIG.greeting),
        (ParticipantKind.VISITOR, "refund?"),
        (ParticipantKind.BOT, "Refunds take five days."),
        (ParticipantKind.VISITOR, "Talk to a person"),
        (ParticipantKind.BOT, BOT_CONFIG.handover_text),
    ]
    # Delivery to Alice starts at the offer, which carries all of that.
    assert offered.agent_delivered_pos == offer.pos - 1


async def test_a_first_message_asking_for_a_person_hands_over_at_once(bot_world: World) -> None:
    conv = await bot_world.start(await bot_world.visitor(), text="I need a human, now")

    assert conv.state is QUEUED
    assert conv.queue_position == 1
    assert shown(bot_world, conv) == [
        ("state", "bot"),
        ("visitor", "I need a human, now"),
        ("bot", BOT_CONFIG.greeting),
        ("bot", BOT_CONFIG.handover_text),
        ("state", "queued"),
    ]
    assert await waiting(bot_world) == 1


async def test_the_queue_limit_leaves_bot_chats_alone_and_holds_back_the_hand_over(
    bot_world: World,
) -> None:
    await bot_world.services.tenants.set_queue_limit(DEFAULT_TENANT, DEFAULT_QUEUE, 1)
    first = await bot_world.start(await bot_world.visitor(), text="agent please")
    assert first.state is QUEUED  # nobody is ready: it waits, and the queue is full

    # A full queue refuses no chat with the bot: it is in no queue.
    second = await bot_world.start(await bot_world.visitor(), text="hello")
    assert second.state is BOT
    await bot_world.visitor_says(second.visitor_id, second.id, "Talk to a person")

    held = await now(bot_world, second)
    assert held.state is BOT
    assert shown(bot_world, second, second.last_seq) == [
        ("visitor", "Talk to a person"),
        ("bot", BOT_CONFIG.busy_text),
    ]
    assert bot_messages(bot_world, second)[-1].quick_replies == MENU
    assert await waiting(bot_world) == 1

    # A place is free again: the next request gets in.
    await bot_world.conversations.end_by_visitor(
        c.EndConversationByVisitor(visitor_id=first.visitor_id, conversation_id=first.id)
    )
    await bot_world.visitor_says(second.visitor_id, second.id, "Talk to a person")
    assert (await now(bot_world, second)).state is QUEUED
    assert await waiting(bot_world) == 1


async def test_a_queue_without_a_bot_starts_queued_as_before(bot_world: World) -> None:
    conv = await bot_world.start(await bot_world.visitor(), text="hi", queue=SALES)

    assert conv.state is QUEUED
    assert shown(bot_world, conv) == [("state", "queued"), ("visitor", "hi")]


async def test_the_visitor_ends_a_chat_with_the_bot(bot_world: World) -> None:
    conv = await bot_world.start(await bot_world.visitor(), text="hi")

    ended = await bot_world.conversations.end_by_visitor(
        c.EndConversationByVisitor(visitor_id=conv.visitor_id, conversation_id=conv.id)
    )

    assert ended.state is ConversationState.ENDED
    assert shown(bot_world, conv, conv.last_seq) == [
        ("left", ended.visitor_name),
        ("state", "ended"),
    ]


async def test_configuring_a_bot_and_removing_it(bot_world: World) -> None:
    settings = bot_world.services.queue_settings
    queue = await settings.get(DEFAULT_TENANT, DEFAULT_QUEUE)
    assert queue is not None
    assert queue.bot == BOT_CONFIG

    renamed = dataclasses.replace(BOT_CONFIG, name="Max")
    changed = await settings.configure(
        c.ConfigureQueue(tenant_id=DEFAULT_TENANT, queue=DEFAULT_QUEUE, bot=renamed)
    )
    assert changed.bot == renamed
    # Other settings stay as they were.
    assert changed.offer_timeout == queue.offer_timeout
    with pytest.raises(InvalidInput, match="either a bot or no bot"):
        await settings.configure(
            c.ConfigureQueue(
                tenant_id=DEFAULT_TENANT, queue=DEFAULT_QUEUE, bot=renamed, remove_bot=True
            )
        )
    removed = await settings.configure(
        c.ConfigureQueue(tenant_id=DEFAULT_TENANT, queue=DEFAULT_QUEUE, remove_bot=True)
    )
    assert removed.bot is None
    conv = await bot_world.start(await bot_world.visitor(), text="hi")
    assert conv.state is QUEUED
