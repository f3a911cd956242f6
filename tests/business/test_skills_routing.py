"""Skills-based routing: a queue's chats go only to agents with every skill it requires,
at the required level or higher; nobody else is a fallback."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime

from business import commands as c
from business.model import (
    DEFAULT_QUEUE,
    DEFAULT_TENANT,
    Agent,
    AgentId,
    ConversationState,
    QueueName,
)
from business.routing import choose_agent
from tests.harness import ALICE, BOB, CAROL, SALES, World

T0 = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
ACTIVE, QUEUED = ConversationState.ACTIVE, ConversationState.QUEUED


def make_agent(jid: str, skills: Mapping[str, int], *, ready_since: datetime = T0) -> Agent:
    return Agent(
        id=AgentId(jid),
        tenant_id=DEFAULT_TENANT,
        address=jid,
        name=jid.partition("@")[0],
        max_chats=2,
        queues=(DEFAULT_QUEUE,),
        ready=True,
        ready_since=ready_since,
        skills=dict(skills),
    )


# -- choose_agent -------------------------------------------------------------------------


def test_without_required_skills_anybody_ready_qualifies() -> None:
    chosen = choose_agent([make_agent("a@x", {}), make_agent("b@x", {"billing": 3})], {})
    assert chosen is not None
    assert chosen.id == "a@x"


def test_an_agent_without_a_required_skill_is_passed_over_even_when_least_busy() -> None:
    unskilled = make_agent("a@x", {"french": 5})
    skilled = make_agent("b@x", {"billing": 1})
    chosen = choose_agent([unskilled, skilled], {AgentId("b@x"): 1}, required={"billing": 1})
    assert chosen is skilled


def test_a_level_below_the_minimum_does_not_qualify_and_the_minimum_does() -> None:
    agents = [make_agent("a@x", {"french": 1}), make_agent("b@x", {"french": 2})]
    chosen = choose_agent(agents, {}, required={"french": 2})
    assert chosen is not None
    assert chosen.id == "b@x"
    assert choose_agent(agents, {}, required={"french": 3}) is None


def test_every_required_skill_is_needed() -> None:
    agents = [
        make_agent("a@x", {"billing": 3}),
        make_agent("b@x", {"french": 3}),
        make_agent("c@x", {"billing": 2, "french": 1, "german": 1}),
    ]
    chosen = choose_agent(agents, {}, required={"billing": 2, "french": 1})
    assert chosen is not None
    assert chosen.id == "c@x"


def test_nobody_qualifying_means_nobody_gets_the_chat() -> None:
    agents = [make_agent("a@x", {}), make_agent("b@x", {"billing": 1})]
    assert choose_agent(agents, {}, required={"billing": 2}) is None


def test_a_higher_level_than_required_is_no_preference() -> None:
    # Among the qualified the usual order decides: the longest idle, not the most skilled.
    expert = make_agent("a@x", {"billing": 10}, ready_since=T0.replace(hour=13))
    novice = make_agent("b@x", {"billing": 1}, ready_since=T0)
    assert choose_agent([expert, novice], {}, required={"billing": 1}) is novice


# -- the router -----------------------------------------------------------------------


async def skilled_agent(
    engine: World,
    agent_id: AgentId,
    skills: Mapping[str, int],
    *,
    queues: tuple[QueueName, ...] = (DEFAULT_QUEUE,),
    ready: bool = True,
) -> None:
    await engine.agents.add_agent(
        c.AddAgent(
            address=agent_id,
            agent_id=agent_id,
            queues=queues,
            max_chats=2,
            tenant_id=DEFAULT_TENANT,
            skills=skills,
            # Routing is what is tested here: the chat becomes theirs at once.
            auto_accept=True,
        )
    )
    if ready:
        await engine.agents.set_availability(c.SetAgentAvailability(agent_id=agent_id, ready=True))


async def require(
    engine: World, skills: Mapping[str, int], queue: QueueName = DEFAULT_QUEUE
) -> None:
    await engine.services.queue_settings.configure(
        c.ConfigureQueue(tenant_id=DEFAULT_TENANT, queue=queue, skills=skills)
    )


async def test_a_chat_waits_for_an_agent_with_the_skills(engine: World) -> None:
    await require(engine, {"french": 2})
    await skilled_agent(engine, ALICE, {})
    await skilled_agent(engine, BOB, {"french": 1})
    conv = await engine.start(await engine.visitor(), text="Bonjour")
    assert conv.state is QUEUED
    assert conv.queue_position == 1

    await skilled_agent(engine, CAROL, {"french": 3})
    after = engine.conv(conv.id)
    assert after.state is ACTIVE
    assert after.agent_id == CAROL


async def test_only_the_queue_with_the_requirement_is_restricted(engine: World) -> None:
    await require(engine, {"billing": 1}, queue=SALES)
    await skilled_agent(engine, ALICE, {}, queues=(DEFAULT_QUEUE, SALES))
    support = await engine.start(await engine.visitor())
    sales = await engine.start(await engine.visitor(), queue=SALES)
    assert support.agent_id == ALICE
    assert sales.state is QUEUED


async def test_giving_an_agent_the_skill_routes_the_waiting_chat(engine: World) -> None:
    await require(engine, {"billing": 2})
    await skilled_agent(engine, ALICE, {"billing": 1})
    conv = await engine.start(await engine.visitor())
    assert conv.state is QUEUED

    await skilled_agent(engine, ALICE, {"billing": 2})
    assert engine.conv(conv.id).agent_id == ALICE


async def test_dropping_the_requirement_lets_the_next_dispatch_route(engine: World) -> None:
    await require(engine, {"billing": 1})
    await skilled_agent(engine, ALICE, {})
    conv = await engine.start(await engine.visitor())
    assert conv.state is QUEUED

    await require(engine, {})
    # Configuration does not route by itself; the next dispatch (a start, a presence
    # change, an end) uses the new settings.
    assert engine.conv(conv.id).state is QUEUED
    await engine.router.dispatch(DEFAULT_TENANT, DEFAULT_QUEUE)
    assert engine.conv(conv.id).agent_id == ALICE


async def test_waiting_chats_keep_their_positions_while_nobody_qualifies(engine: World) -> None:
    await require(engine, {"german": 1})
    await skilled_agent(engine, ALICE, {"french": 3})
    first = await engine.start(await engine.visitor())
    engine.advance(1)
    second = await engine.start(await engine.visitor())
    assert (first.queue_position, second.queue_position) == (1, 2)
    assert engine.fakes.queues[(DEFAULT_TENANT, DEFAULT_QUEUE)].waiting == 2
