"""``/visitors/{id}`` and their conversations, through a real app over SQLite and
PostgreSQL."""

from __future__ import annotations

from business.integrator_commands import EndByIntegrator
from business.model import DEFAULT_TENANT, VisitorId
from tests.harness import World
from tests.presentation.api.chats import ALICE, alice, chat
from tests.presentation.api.client import ApiClient
from tests.presentation.api.conftest import Keys


async def test_a_visitor_and_their_last_agent(api: ApiClient, keys: Keys, world: World) -> None:
    conv = await chat(world)
    reply = await api.get(f"/visitors/{conv.visitor_id}", keys.read)
    assert reply.status == 200, reply.body
    assert reply.body["id"] == conv.visitor_id
    assert reply.body["last_agent_id"] is None
    assert reply.body["last_served_at"] is None
    assert "token" not in str(reply.body)

    await world.services.integrator_control.end(
        EndByIntegrator(tenant_id=DEFAULT_TENANT, conversation_id=conv.id)
    )
    reply = await api.get(f"/visitors/{conv.visitor_id}", keys.admin)
    assert reply.body["last_agent_id"] == ALICE
    assert reply.body["last_agent_name"] == "Alice"
    assert reply.body["last_served_at"] is not None
    details = await world.services.visitor_queries.get(DEFAULT_TENANT, VisitorId(conv.visitor_id))
    assert reply.body["name"] == details.name


async def test_a_visitors_conversations_newest_first_in_pages(
    api: ApiClient, keys: Keys, world: World
) -> None:
    await alice(world)
    visitor = await world.visitor()
    started = []
    for n in range(3):
        conv = await world.start(visitor, f"question {n}", client_msg_id=f"q-{n}")
        started.append(conv.id)
        await world.services.integrator_control.end(
            EndByIntegrator(tenant_id=DEFAULT_TENANT, conversation_id=conv.id)
        )
    await chat(world)  # somebody else's
    items = await api.all_items(f"/visitors/{visitor}/conversations", keys.read, limit=2)
    assert [item["id"] for item in items] == started[::-1]
    assert {item["visitor"]["id"] for item in items} == {visitor}


async def test_unknown_visitors_and_bad_requests(api: ApiClient, keys: Keys) -> None:
    for path in ("/visitors/nobody", "/visitors/nobody/conversations"):
        reply = await api.get(path, keys.read)
        assert "unknown visitor" in reply.problem(404, "not_found")
    reply = await api.get("/visitors/nobody/conversations", keys.read, params={"limit": "0"})
    reply.problem(400, "invalid_input")
    reply = await api.get("/visitors/nobody", keys.bot)
    reply.problem(403, "forbidden")
