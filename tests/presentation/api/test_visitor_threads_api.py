"""``POST /threads``: an integrator opens a messaging thread to a known visitor, named by
id or by signed ``sub``, with no conversation to start from, through a real app over
SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import datetime

from business import commands as c
from business.identity_model import IdentityMode
from business.model import DEFAULT_QUEUE, DEFAULT_TENANT, ConversationState, QueueName
from tests.harness import World
from tests.presentation.api.chats import ALICE, ALICE_ADDRESS, alice
from tests.presentation.api.client import ApiClient
from tests.presentation.api.conftest import Keys
from tests.presentation.test_identity_socket import claims, configure as identities, hs256

BILLING = QueueName("billing")


async def messaging(world: World) -> None:
    await alice(world)
    await world.services.queue_settings.configure(
        c.ConfigureQueue(tenant_id=DEFAULT_TENANT, queue=DEFAULT_QUEUE, mode="messaging")
    )


async def test_a_thread_to_a_visitor_by_id(api: ApiClient, keys: Keys, world: World) -> None:
    await messaging(world)
    visitor = await world.visitor()  # never chatted
    body = {
        "queue": "support",
        "agent_address": ALICE_ADDRESS,
        "visitor_id": visitor,
        "text": "Your order shipped.",
    }

    reply = await api.post("/threads", keys.bot, body)

    assert reply.status == 201, reply.body
    assert reply.body["state"] == ConversationState.ON_HOLD.value
    assert reply.body["queue"] == "support"
    (listed,) = await world.services.threads.threads(visitor)
    assert (listed.id, listed.unread, listed.preview) == (
        reply.body["id"],
        1,
        "Your order shipped.",
    )
    stored = await world.conversations.get_conversation(reply.body["id"])
    assert stored.agent_id == ALICE
    assert stored.context.custom["identity_initiated_thread"] == "false"
    read_only = await api.post("/threads", keys.read, body)
    assert read_only.status == 403


async def test_a_thread_to_a_new_identity(api: ApiClient, keys: Keys, world: World) -> None:
    await messaging(world)
    body = {
        "queue": "support",
        "agent_address": ALICE_ADDRESS,
        "identity_sub": "customer-7",
        "text": "Welcome aboard!",
    }
    off = await api.post("/threads", keys.admin, body)
    assert "signed identities are off" in off.problem(409, "conflict")
    await identities(world, IdentityMode.OPTIONAL)

    reply = await api.post("/threads", keys.admin, body)

    assert reply.status == 201, reply.body
    visitor = await api.get(f"/visitors/{reply.body['visitor']['id']}", keys.admin)
    assert visitor.body["identity"]["sub"] == "customer-7"
    again = await api.post("/threads", keys.admin, body)
    assert again.body["visitor"]["id"] == reply.body["visitor"]["id"]


async def test_refusals(api: ApiClient, keys: Keys, world: World) -> None:
    await messaging(world)
    visitor = await world.visitor()
    base = {"queue": "support", "agent_address": ALICE_ADDRESS, "text": "Hello"}
    for body in (base, base | {"visitor_id": visitor, "identity_sub": "customer-7"}):
        reply = await api.post("/threads", keys.admin, body)
        assert "visitor_id or identity_sub" in reply.problem(400, "invalid_input")
    mine = base | {"visitor_id": visitor}
    live = await api.post("/threads", keys.admin, mine | {"queue": "sales"})
    assert "live queue" in live.problem(409, "conflict")
    await world.services.queues.create(c.CreateQueue(tenant_id=DEFAULT_TENANT, queue=BILLING))
    await world.services.queue_settings.configure(
        c.ConfigureQueue(tenant_id=DEFAULT_TENANT, queue=BILLING, mode="messaging")
    )
    outside = await api.post("/threads", keys.admin, mine | {"queue": "billing"})
    assert "not an agent of queue billing" in outside.problem(409, "conflict")
    nobody = await api.post("/threads", keys.admin, base | {"visitor_id": "0" * 32})
    nobody.problem(404, "not_found")
    assert await world.services.threads.threads(visitor) == []


async def test_a_bot_key_opens_threads_to_known_subs_only(
    api: ApiClient, keys: Keys, world: World
) -> None:
    await messaging(world)
    await identities(world, IdentityMode.OPTIONAL)
    body = {
        "queue": "support",
        "agent_address": ALICE_ADDRESS,
        "identity_sub": "customer-7",
        "text": "Welcome aboard!",
    }

    refused = await api.post("/threads", keys.bot, body)

    assert "only an administrator may create a visitor" in refused.problem(403, "forbidden")
    async with world.uow() as uow:
        assert await uow.visitor_identities.get_by_sub(DEFAULT_TENANT, "customer-7") is None
    # Once the sub is somebody (an admin's thread made it), a bot writes to them too.
    first = await api.post("/threads", keys.admin, body)
    assert first.status == 201, first.body
    again = await api.post("/threads", keys.bot, body)
    assert again.status == 201, again.body
    assert again.body["visitor"]["id"] == first.body["visitor"]["id"]


async def test_a_new_subs_identity_is_not_verified_until_a_token_verifies_it(
    api: ApiClient, keys: Keys, world: World
) -> None:
    await messaging(world)
    await identities(world, IdentityMode.OPTIONAL)
    body = {
        "queue": "support",
        "agent_address": ALICE_ADDRESS,
        "identity_sub": "customer-42",
        "text": "Your card is on its way",
    }
    opened = await api.post("/threads", keys.admin, body)
    visitor = f"/visitors/{opened.body['visitor']['id']}"

    before = await api.get(visitor, keys.admin)

    assert before.body["identity"]["sub"] == "customer-42"
    assert before.body["identity"]["verified_at"] is None
    signed_in = world.clock.now()
    await world.sessions.open_session(
        c.OpenSession(tenant_id=DEFAULT_TENANT, identity=hs256(claims(sub="customer-42")))
    )
    after = await api.get(visitor, keys.admin)
    verified_at = datetime.fromisoformat(after.body["identity"]["verified_at"])
    assert signed_in <= verified_at <= world.clock.now()
