"""The report of a chat in a bot-first queue, on the fakes, SQLite and PostgreSQL
(``bot_world``: the rules bot first in ``support``, none in ``sales``): ``bot_handled``
when a bot wrote in it, ``bot_resolved`` when it ended with the bot and no agent ever
took it, and how that differs from ``abandoned_in_queue``."""

from __future__ import annotations

from business import commands as c
from business.conversation import Conversation
from business.integrator_commands import EndByIntegrator, PostIntegratorMessage
from business.model import DEFAULT_TENANT, ParticipantKind
from business.report_metrics import ConversationMetrics, ConversationOutcome
from tests.business.integrator_support import HELPER
from tests.harness import ALICE, SALES, World


async def report(world: World, conv: Conversation) -> ConversationMetrics:
    return await world.services.reports.get(DEFAULT_TENANT, conv.id)


async def visitor_ends(world: World, conv: Conversation) -> None:
    await world.conversations.end_by_visitor(
        c.EndConversationByVisitor(visitor_id=conv.visitor_id, conversation_id=conv.id)
    )


async def test_a_chat_the_visitor_ends_with_the_bot_is_bot_resolved(bot_world: World) -> None:
    conv = await bot_world.start(await bot_world.visitor(), text="refund?")
    await bot_world.visitor_says(conv.visitor_id, conv.id, "Opening hours")

    await visitor_ends(bot_world, conv)

    row = await report(bot_world, conv)
    assert (row.outcome, row.bot_handled, row.ended_by) == (
        ConversationOutcome.BOT_RESOLVED,
        True,
        ParticipantKind.VISITOR,
    )
    assert (row.assigned_at, row.wait_seconds, row.agent_id) == (None, None, None)
    assert (row.messages_visitor, row.messages_agent, row.transfers) == (2, 0, 0)


async def test_a_chat_an_integrator_closes_while_with_the_bot_is_bot_resolved_too(
    bot_world: World,
) -> None:
    conv = await bot_world.start(await bot_world.visitor(), text="hello")

    await bot_world.services.integrator_control.end(
        EndByIntegrator(tenant_id=DEFAULT_TENANT, conversation_id=conv.id)
    )

    row = await report(bot_world, conv)
    assert (row.outcome, row.bot_handled, row.ended_by) == (
        ConversationOutcome.BOT_RESOLVED,
        True,
        ParticipantKind.SYSTEM,
    )


async def test_handed_over_then_left_in_the_queue_is_abandoned_not_bot_resolved(
    bot_world: World,
) -> None:
    conv = await bot_world.start(await bot_world.visitor(), text="Talk to a person")

    await visitor_ends(bot_world, conv)  # nobody was ready to take it

    row = await report(bot_world, conv)
    assert (row.outcome, row.bot_handled) == (ConversationOutcome.ABANDONED_IN_QUEUE, True)


async def test_handed_over_and_answered_is_answered_and_bot_handled(bot_world: World) -> None:
    await bot_world.agent(ALICE, name="Alice")
    conv = await bot_world.start(await bot_world.visitor(), text="Talk to a person")
    await bot_world.agent_says(ALICE, conv.id, "Alice here")

    await visitor_ends(bot_world, conv)

    row = await report(bot_world, conv)
    assert (row.outcome, row.bot_handled, row.agent_id) == (
        ConversationOutcome.ANSWERED,
        True,
        ALICE,
    )


async def test_answered_then_sent_back_to_the_bot_stays_answered(bot_world: World) -> None:
    await bot_world.agent(ALICE, name="Alice")
    conv = await bot_world.start(await bot_world.visitor(), text="Talk to a person")
    await bot_world.agent_says(ALICE, conv.id, "Alice here")
    await bot_world.services.bots.send_back(c.ReturnToBot(agent_id=ALICE, conversation_id=conv.id))

    await visitor_ends(bot_world, conv)  # with the bot again

    row = await report(bot_world, conv)
    assert (row.outcome, row.bot_handled, row.transfers) == (
        ConversationOutcome.ANSWERED,
        True,
        1,
    )


async def test_a_queue_without_a_bot_is_bot_handled_only_when_a_bot_wrote(
    bot_world: World,
) -> None:
    await bot_world.agent(ALICE, name="Alice", queues=(SALES,))
    plain = await bot_world.start(await bot_world.visitor(), text="hi", queue=SALES)
    helped = await bot_world.start(await bot_world.visitor(), text="hi", queue=SALES)
    await bot_world.services.integrator_messages.post(
        PostIntegratorMessage(
            tenant_id=DEFAULT_TENANT,
            conversation_id=helped.id,
            sender=HELPER,
            client_msg_id="h-1",
            text="Your order shipped yesterday.",
        )
    )

    for conv in (plain, helped):
        await visitor_ends(bot_world, conv)

    assert (await report(bot_world, plain)).bot_handled is False
    assert (await report(bot_world, helped)).bot_handled is True
    # An agent took both: whatever the bot did, they are no bot's resolution.
    assert (await report(bot_world, helped)).outcome is ConversationOutcome.VISITOR_LEFT
