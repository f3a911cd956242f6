"""``POST /conversations/{id}/threads``: an integrator opens a messaging thread to a
visitor in an agent's name, through a real app over SQLite and PostgreSQL."""

from __future__ import annotations

from business import commands as c
from business.model import DEFAULT_QUEUE, DEFAULT_TENANT, ConversationState
from tests.harness import World
from tests.presentation.api.chats import ALICE, BOB_ADDRESS, bob, chat
from tests.presentation.api.client import ApiClient
from tests.presentation.api.conftest import Keys


async def test_an_integrator_opens_a_thread_in_an_agents_name(
    api: ApiClient, keys: Keys, world: World
) -> None:
    live = await chat(world)
    body = {"agent_address": BOB_ADDRESS, "text": "Your order shipped."}
    unknown = await api.post(f"/conversations/{live.id}/threads", keys.bot, body)
    unknown.problem(404, "not_found")  # Bob is not an agent yet
    await bob(world, ready=False)  # not ready: the thread waits parked anyway
    refused = await api.post(f"/conversations/{live.id}/threads", keys.bot, body)
    assert "messaging queues only" in refused.problem(409, "conflict")

    await world.services.queue_settings.configure(
        c.ConfigureQueue(tenant_id=DEFAULT_TENANT, queue=DEFAULT_QUEUE, mode="messaging")
    )
    reply = await api.post(f"/conversations/{live.id}/threads", keys.bot, body)
    assert reply.status == 201, reply.body
    assert reply.body["id"] != live.id
    assert reply.body["state"] == ConversationState.ON_HOLD.value
    threads = {t.id: t for t in await world.services.threads.threads(live.visitor_id)}
    assert threads[reply.body["id"]].preview == "Your order shipped."
    assert threads[reply.body["id"]].unread == 1
    stored = await world.conversations.get_conversation(reply.body["id"])
    assert stored.agent_id != ALICE
    assert stored.context.custom["identity_initiated_thread"] == "false"
    read_only = await api.post(f"/conversations/{live.id}/threads", keys.read, body)
    assert read_only.status == 403
