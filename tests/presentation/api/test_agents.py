"""``/agents``: list, get, add, change and remove, through ``AgentService.add_agent``
(what ``chat-engine agent add`` runs) and ``AgentRemovalService``."""

from __future__ import annotations

from business import commands as c
from business.model import AgentId
from tests.harness import World
from tests.presentation.api.client import ApiClient, Json
from tests.presentation.api.conftest import Keys

ALICE = {"address": "alice@agents.example", "max_chats": 3, "queues": ["support"]}


async def _add(api: ApiClient, keys: Keys, body: Json = ALICE) -> Json:
    reply = await api.post("/agents", keys.admin, body)
    assert reply.status == 201, reply.body
    return reply.body


async def test_an_admin_adds_an_agent_with_defaults(api: ApiClient, keys: Keys) -> None:
    agent = await _add(api, keys)
    assert agent == {
        "id": agent["id"],
        "address": "alice@agents.example",
        "name": "alice",
        "max_chats": 3,
        "queues": ["support"],
        "role": "agent",
        "supervises": [],
        "skills": {},
        "auto_accept": False,
        "ready": False,
    }
    assert (await api.get(f"/agents/{agent['id']}", keys.read)).body == agent
    assert (await api.get("/agents", keys.read)).body == {"items": [agent], "next_cursor": None}


async def test_a_supervisor_with_skills_and_new_queues(
    api: ApiClient, keys: Keys, world: World
) -> None:
    agent = await _add(
        api,
        keys,
        {
            "address": "Boss@Agents.Example",
            "name": "The Boss",
            "max_chats": 2,
            "queues": ["vip"],
            "role": "supervisor",
            "supervises": ["support", "vip"],
            "skills": {"french": 3},
            "auto_accept": True,
        },
    )
    # The address as the agent desk writes it (the JID normalised).
    assert agent["address"] == "boss@agents.example"
    assert agent["role"] == "supervisor"
    assert agent["supervises"] == ["support", "vip"]
    assert agent["skills"] == {"french": 3}
    assert agent["auto_accept"] is True
    # The queue it named was made.
    assert (await api.get("/queues/vip", keys.read)).status == 200


async def test_adding_an_address_that_is_an_agent_is_a_conflict(api: ApiClient, keys: Keys) -> None:
    await _add(api, keys)
    reply = await api.post("/agents", keys.admin, {**ALICE, "max_chats": 9})
    assert "agent already" in reply.problem(409, "conflict")
    # The other tenant cannot take the address either, nor change the agent.
    other = await api.post("/agents", keys.other_admin, ALICE)
    other.problem(409, "conflict")
    (agent,) = (await api.get("/agents", keys.read)).body["items"]
    assert agent["max_chats"] == 3


async def test_the_business_rules_hold(api: ApiClient, keys: Keys) -> None:
    not_jid = await api.post("/agents", keys.admin, {**ALICE, "address": "not a jid"})
    not_jid.problem(400, "invalid_input")
    not_supervisor = await api.post("/agents", keys.admin, {**ALICE, "supervises": ["support"]})
    assert "supervisor" in not_supervisor.problem(400, "invalid_input")
    assert (await api.get("/agents", keys.read)).body["items"] == []


async def test_patch_changes_only_what_it_names(api: ApiClient, keys: Keys) -> None:
    agent = await _add(api, keys)
    reply = await api.patch(f"/agents/{agent['id']}", keys.admin, {"max_chats": 5})
    assert reply.status == 200
    assert reply.body == {**agent, "max_chats": 5}
    reply = await api.patch(
        f"/agents/{agent['id']}",
        keys.admin,
        {"queues": ["support", "sales"], "skills": {"billing": 2}, "name": "Alice A."},
    )
    assert reply.body == {
        **agent,
        "max_chats": 5,
        "queues": ["support", "sales"],
        "skills": {"billing": 2},
        "name": "Alice A.",
    }


async def test_patch_and_get_of_an_unknown_agent_are_404(api: ApiClient, keys: Keys) -> None:
    (await api.get("/agents/nobody", keys.read)).problem(404, "not_found")
    (await api.patch("/agents/nobody", keys.admin, {"max_chats": 2})).problem(404, "not_found")
    (await api.delete("/agents/nobody", keys.admin)).problem(404, "not_found")


async def test_an_agent_without_open_chats_is_removed(
    api: ApiClient, keys: Keys, world: World
) -> None:
    agent = await _add(api, keys)
    reply = await api.delete(f"/agents/{agent['id']}", keys.admin)
    assert reply.status == 204
    (await api.get(f"/agents/{agent['id']}", keys.read)).problem(404, "not_found")
    assert await world.services.agents.find_agent("alice@agents.example") is None
    # The address is free again.
    again = await _add(api, keys)
    assert again["id"] != agent["id"]


async def test_an_agent_with_an_open_chat_is_not_removed(
    api: ApiClient, keys: Keys, world: World
) -> None:
    agent_id = await world.agent(AgentId("alice@agents.example"), max_chats=3, ready=True)
    conv = await world.start(await world.visitor(), "hello")
    assert (await world.conversations.get_conversation(conv.id)).agent_id == agent_id
    reply = await api.delete(f"/agents/{agent_id}", keys.admin)
    assert "open chat" in reply.problem(409, "conflict")
    assert (await api.get(f"/agents/{agent_id}", keys.read)).status == 200


async def test_removing_a_supervisor_ends_their_monitoring(
    api: ApiClient, keys: Keys, world: World
) -> None:
    alice = await world.agent(AgentId("alice@agents.example"), ready=False)
    boss = await _add(
        api,
        keys,
        {
            "address": "boss@agents.example",
            "max_chats": 1,
            "queues": ["support"],
            "role": "supervisor",
            "supervises": ["support"],
        },
    )
    await world.services.supervision.monitor(
        c.Monitor(supervisor_id=AgentId(boss["id"]), target="alice@agents.example")
    )
    watched = await world.services.agents.get_agent(alice)
    assert watched is not None
    assert [m.agent_id for m in watched.monitored_by] == [boss["id"]]
    assert (await api.delete(f"/agents/{boss['id']}", keys.admin)).status == 204
    watched = await world.services.agents.get_agent(alice)
    assert watched is not None
    assert watched.monitored_by == ()
