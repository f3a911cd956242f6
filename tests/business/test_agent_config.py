"""An agent's role, supervised queues and skills, as ``AgentService.add_agent`` sets them."""

from __future__ import annotations

from collections.abc import Mapping

import pytest

from business import commands as c
from business.errors import InvalidInput
from business.model import (
    DEFAULT_QUEUE,
    DEFAULT_TENANT,
    AgentRole,
    ConversationState,
    QueueName,
)
from tests.business.support import nothing_stored
from tests.harness import SALES, World

SUPERVISOR, AGENT = AgentRole.SUPERVISOR, AgentRole.AGENT


def add(
    *,
    role: AgentRole | None = None,
    supervises: tuple[str, ...] | None = None,
    skills: Mapping[str, int] | None = None,
    queues: tuple[str, ...] = ("support",),
    max_chats: int = 2,
) -> c.AddAgent:
    return c.AddAgent(
        address="sam@example.com",
        queues=tuple(QueueName(q) for q in queues),
        max_chats=max_chats,
        tenant_id=DEFAULT_TENANT,
        role=role,
        supervises=None if supervises is None else tuple(QueueName(q) for q in supervises),
        skills=skills,
    )


async def test_a_new_agent_is_an_agent_without_skills(engine: World) -> None:
    agent = await engine.agents.add_agent(add())
    assert agent.role is AGENT
    assert agent.supervises == ()
    assert agent.skills == {}
    assert engine.fakes.agents[agent.id] == agent


async def test_a_supervisor_with_queues_and_skills(engine: World) -> None:
    agent = await engine.agents.add_agent(
        add(
            role=SUPERVISOR,
            supervises=("support", "sales", "support"),
            skills={"french": 1, "billing": 3},
        )
    )
    assert agent.role is SUPERVISOR
    assert agent.supervises == (DEFAULT_QUEUE, SALES)
    assert agent.skills == {"billing": 3, "french": 1}
    assert engine.fakes.agents[agent.id] == agent


async def test_an_update_keeps_what_it_does_not_name(engine: World) -> None:
    first = await engine.agents.add_agent(
        add(role=SUPERVISOR, supervises=("sales",), skills={"billing": 3})
    )
    again = await engine.agents.add_agent(add(max_chats=5, queues=("sales",)))
    assert again.id == first.id
    assert again.max_chats == 5
    assert (again.role, again.supervises, again.skills) == (SUPERVISOR, (SALES,), {"billing": 3})
    assert engine.fakes.agents[first.id] == again


async def test_an_update_replaces_what_it_names(engine: World) -> None:
    await engine.agents.add_agent(add(role=SUPERVISOR, supervises=("sales",), skills={"a": 1}))
    again = await engine.agents.add_agent(add(supervises=("support",), skills={"b": 2}))
    assert (again.role, again.supervises, again.skills) == (SUPERVISOR, (DEFAULT_QUEUE,), {"b": 2})
    cleared = await engine.agents.add_agent(add(supervises=(), skills={}))
    assert (cleared.supervises, cleared.skills) == ((), {})
    assert engine.fakes.agents[again.id] == cleared


async def test_an_agent_who_stops_supervising_supervises_nothing(engine: World) -> None:
    await engine.agents.add_agent(add(role=SUPERVISOR, supervises=("support", "sales")))
    demoted = await engine.agents.add_agent(add(role=AGENT))
    assert demoted.role is AGENT
    assert demoted.supervises == ()
    assert engine.fakes.agents[demoted.id] == demoted


@pytest.mark.parametrize("role", [None, AGENT])
async def test_only_a_supervisor_supervises(engine: World, role: AgentRole | None) -> None:
    with nothing_stored(engine), pytest.raises(InvalidInput, match="only a supervisor"):
        await engine.agents.add_agent(add(role=role, supervises=("support",)))


async def test_an_agent_cannot_be_given_queues_to_supervise_later(engine: World) -> None:
    await engine.agents.add_agent(add())
    with nothing_stored(engine), pytest.raises(InvalidInput, match="is no supervisor"):
        await engine.agents.add_agent(add(supervises=("sales",)))


async def test_a_supervised_queue_that_does_not_exist_is_created(engine: World) -> None:
    agent = await engine.agents.add_agent(add(role=SUPERVISOR, supervises=("vip",)))
    assert agent.supervises == (QueueName("vip"),)
    assert engine.fakes.queues[(DEFAULT_TENANT, QueueName("vip"))].title == "Vip"


@pytest.mark.parametrize(
    ("skills", "message"),
    [
        ({"billing": 0}, "between 1 and 10, not 0"),
        ({"billing": 11}, "between 1 and 10, not 11"),
        ({"Billing": 1}, "must be a lower-case word"),
        ({"two words": 1}, "must be a lower-case word"),
        ({"x" * 33: 1}, "must be a lower-case word"),
        ({"billing": True}, "must be a whole number"),
        ({f"s{i}": 1 for i in range(51)}, "at most 50 skills"),
    ],
)
async def test_bad_skills_are_refused(engine: World, skills: dict[str, int], message: str) -> None:
    with nothing_stored(engine), pytest.raises(InvalidInput, match=message):
        await engine.agents.add_agent(add(skills=skills))


async def test_a_supervised_queue_name_is_checked(engine: World) -> None:
    with nothing_stored(engine), pytest.raises(InvalidInput, match="queue name 'Sales'"):
        await engine.agents.add_agent(add(role=SUPERVISOR, supervises=("Sales",)))


async def test_a_supervisor_takes_chats_like_any_agent(engine: World) -> None:
    agent = await engine.agents.add_agent(add(role=SUPERVISOR, supervises=("support",)))
    await engine.agents.set_availability(c.SetAgentAvailability(agent_id=agent.id, ready=True))
    conv = await engine.start(await engine.visitor())
    # Offered like any agent's (nobody in this test takes offers at once).
    assert conv.state is ConversationState.QUEUED
    assert conv.offered_to == agent.id
