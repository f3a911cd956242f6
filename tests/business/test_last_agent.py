"""Last-agent routing: a returning visitor goes first to the agent who served them last,
if that agent can take the chat, within the queue's ``last_agent_window``."""

from __future__ import annotations

from business import commands as c
from business.model import DEFAULT_QUEUE, DEFAULT_TENANT, VisitorId
from data import Database
from tests.harness import ALICE, BOB, World, make_world


async def served_by_alice_then_busier(world: World) -> VisitorId:
    """Vera chatted with Alice (ended); Alice has another chat now, Bob none: Bob is the
    one routing would pick for anybody else."""
    await world.agent(ALICE, max_chats=2)
    vera = await world.visitor()
    first = await world.start(vera, text="hi")
    assert first.agent_id == ALICE
    world.advance(60)
    await world.conversations.end_by_agent(
        c.EndConversationByAgent(agent_id=ALICE, conversation_id=first.id)
    )
    other = await world.start(await world.visitor(), text="me")
    assert other.agent_id == ALICE
    await world.agent(BOB, max_chats=2)
    return vera


async def test_a_returning_visitor_goes_to_their_last_agent(engine: World) -> None:
    vera = await served_by_alice_then_busier(engine)
    anybody = await engine.start(await engine.visitor(), text="new here")
    assert anybody.agent_id == BOB  # least busy, for a visitor without history
    engine.advance(3600)

    again = await engine.start(vera, text="me again")

    assert again.preferred_agent_id == ALICE
    assert again.agent_id == ALICE


async def test_after_the_window_the_usual_rule_applies(engine: World) -> None:
    vera = await served_by_alice_then_busier(engine)
    engine.advance(86_401)
    again = await engine.start(vera, text="me again")
    assert again.preferred_agent_id is None
    assert again.agent_id == BOB


async def test_a_last_agent_who_cannot_take_it_is_skipped(engine: World) -> None:
    vera = await served_by_alice_then_busier(engine)
    await engine.agents.set_availability(c.SetAgentAvailability(agent_id=ALICE, ready=False))
    again = await engine.start(vera, text="me again")
    assert again.preferred_agent_id == ALICE
    assert again.agent_id == BOB


async def test_a_queue_can_turn_it_off(engine: World) -> None:
    await engine.services.queue_settings.configure(
        c.ConfigureQueue(tenant_id=DEFAULT_TENANT, queue=DEFAULT_QUEUE, last_agent_window=0)
    )
    vera = await served_by_alice_then_busier(engine)
    again = await engine.start(vera, text="me again")
    assert again.preferred_agent_id is None
    assert again.agent_id == BOB


async def test_the_last_agent_is_stored(database: Database) -> None:
    world = await make_world(uow=database.unit_of_work)
    vera = await served_by_alice_then_busier(world)
    database.caches.clear()
    again = await world.start(vera, text="me again")
    assert again.preferred_agent_id == ALICE
    assert again.agent_id == ALICE
    stored = await world.conversations.get_conversation(again.id)
    assert stored.preferred_agent_id == ALICE
