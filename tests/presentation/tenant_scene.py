"""Two tenants for the REST matrix of ids in bodies and queries
(``test_tenant_matrix_bodies``): tenant B ("other") with one of everything, read back
through B's own admin key, and any number of fresh tenants A, each with its own queue,
agent, visitor, open chat, webhook and admin key, so that one request's effects in A
cannot change what the next one meets.
"""

from __future__ import annotations

import asyncio
import itertools
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from business import commands as c
from business.api_channel import ReceiveApiMessage
from business.integrator_commands import EndByIntegrator
from business.model import DEFAULT_QUEUE, AgentId, ApiKeyScope, QueueName, TenantId
from business.webhook_commands import CreateWebhook
from tests.harness import World
from tests.presentation.api.client import ApiClient
from tests.presentation.api.conftest import OTHER, make_key

B = OTHER
B_QUEUE = "b-only"
B_ADDRESS = "bob@bravo.example"
B_FREE_ADDRESS = "dora@bravo.example"
"""B's agent who is ready with room: what a leaking transfer or thread would reach."""
B_CANNED = "bcanned"
B_MSG_ID = "b-1"
"""The ``client_msg_id`` of B's visitor's first message."""
B_EXTERNAL_ID = "+15550177"
B_PROVIDER_MESSAGE_ID = "SM-1"
B_HOOK = "https://93.184.216.34/bravo-hidden-hook"
SECRETS = (
    "Bravo hidden title",
    "Bob Bravo-Hidden",
    "Dora Bravo-Hidden",
    "Bravo hidden canned",
    "Bravo hidden question",
    "Bravo hidden waiting",
    "Bravo hidden complaint",
    "Bravo Hidden Visitor",
    "Bravo hidden text message",
    "Bravo Hidden Texter",
    "bravo-hidden-hook",
    "bravo-manual.pdf",
    "bravo-hidden-key",
)
"""Strings only B wrote: none may show in an answer to A (but for a value A sent)."""


@dataclass(frozen=True, kw_only=True)
class Theirs:
    """Tenant B's things, as A would have to name them."""

    admin: str
    """B's own admin key, to read B's state back."""
    agent_id: str
    visitor_id: str
    conversation_id: str
    """Active, with B's agent, who shared a file in it."""
    waiting_id: str
    """Queued in B's queue: what a leaking router would give A's agent."""
    file_id: str
    file_url: str
    """The file's signed link (absolute), as B's key reads it in the conversation's
    events."""


@dataclass(frozen=True, kw_only=True)
class Mine:
    """One fresh tenant A: its admin key and its own things, in queue ``support``."""

    tenant_id: TenantId
    admin: str
    agent_id: str
    agent_address: str
    visitor_id: str
    conversation_id: str
    webhook_id: str


async def make_theirs(world: World, api: ApiClient) -> Theirs:
    services = world.services
    await services.queues.create(
        c.CreateQueue(tenant_id=B, queue=QueueName(B_QUEUE), title="Bravo hidden title")
    )
    # One place, so the second chat waits in the queue.
    agent = AgentId("bob-bravo-id")
    await world.agent(
        agent,
        address=B_ADDRESS,
        name="Bob Bravo-Hidden",
        tenant_id=B,
        queues=(QueueName(B_QUEUE),),
        max_chats=1,
    )
    await world.agent(
        AgentId("dora-bravo-id"),
        address=B_FREE_ADDRESS,
        name="Dora Bravo-Hidden",
        tenant_id=B,
        max_chats=5,
        auto_accept=False,
    )
    for queue in (None, QueueName(B_QUEUE)):
        await services.canned.add(
            c.AddCannedResponse(tenant_id=B, queue=queue, name=B_CANNED, text="Bravo hidden canned")
        )
    await services.webhooks.create(
        CreateWebhook(tenant_id=B, url=B_HOOK, description="Bravo hidden hook")
    )
    await services.webhooks.create(CreateWebhook(tenant_id=B, url=B_HOOK + "-2"))
    await services.api_keys.create(
        c.CreateApiKey(scope=ApiKeyScope.READ, tenant_id=B, name="bravo-hidden-key")
    )
    visitor = await world.visitor(B)
    form = {"name": "Bravo Hidden Visitor"}
    # Two conversations of one visitor (one at a time: a second start is the first).
    ended = await world.start(
        visitor, "Bravo hidden complaint", queue=QueueName(B_QUEUE), form=form
    )
    await services.integrator_control.end(EndByIntegrator(tenant_id=B, conversation_id=ended.id))
    active = await world.start(
        visitor,
        "Bravo hidden question",
        queue=QueueName(B_QUEUE),
        client_msg_id=B_MSG_ID,
        form=form,
    )
    await world.agent_shares_file(agent, active.id, name="bravo-manual.pdf")
    ended_too = await world.start(await world.visitor(B), "Bravo hidden complaint", form=form)
    await services.integrator_control.end(
        EndByIntegrator(tenant_id=B, conversation_id=ended_too.id)
    )
    waiting = await world.start(
        await world.visitor(B), "Bravo hidden waiting", queue=QueueName(B_QUEUE), form=form
    )
    await services.api_channel.receive(
        ReceiveApiMessage(
            tenant_id=B,
            queue=QueueName(B_QUEUE),
            external_id=B_EXTERNAL_ID,
            provider="sms",
            provider_message_id=B_PROVIDER_MESSAGE_ID,
            text="Bravo hidden text message",
            name="Bravo Hidden Texter",
        )
    )
    admin = await make_key(world, ApiKeyScope.ADMIN, B)
    events = await api.get(f"/conversations/{active.id}/events", admin)
    assert events.status == 200, events.body
    (file_url,) = [url for e in events.body["items"] for url in e.get("attachments", ())]
    file_id = urlsplit(file_url).path.split("/")[2]
    if file_url.startswith("/"):
        file_url = api.base.removesuffix("/api/v1") + file_url
    waiting_now = await world.conversations.get_conversation(waiting.id)
    assert waiting_now.agent_id is None, "B's last chat is to wait in the queue"
    return Theirs(
        admin=admin,
        agent_id=agent,
        visitor_id=visitor,
        conversation_id=active.id,
        waiting_id=waiting.id,
        file_id=file_id,
        file_url=file_url,
    )


_numbers = itertools.count(1)


async def make_mine(world: World) -> Mine:
    """A fresh tenant A with an agent who took a chat of A's visitor."""
    n = next(_numbers)
    tenant = TenantId(f"alpha-{n}")
    await world.tenants.ensure_tenant(tenant, name=f"Alpha {n}", queues=(DEFAULT_QUEUE,))
    address = f"alice-{n}@alpha.example"
    agent = await world.agent(
        AgentId(f"alice-{n}-id"), address=address, tenant_id=tenant, max_chats=3, name="Alice"
    )
    visitor = await world.visitor(tenant)
    conv = await world.start(visitor, "Mine, hello", form={"name": "Mine"})
    hook = await world.services.webhooks.create(
        CreateWebhook(tenant_id=tenant, url=f"https://93.184.216.35/alpha-{n}")
    )
    return Mine(
        tenant_id=tenant,
        admin=await make_key(world, ApiKeyScope.ADMIN, tenant),
        agent_id=agent,
        agent_address=address,
        visitor_id=visitor,
        conversation_id=conv.id,
        webhook_id=hook.id,
    )


_LISTS = (
    "/queues",
    "/agents",
    "/canned-responses",
    "/api-keys",
    "/webhooks",
    "/conversations",
    "/reports/conversations",
)
_SINGLE = (
    "/widget-config",
    "/identity-settings",
    "/file-settings",
    "/redaction-settings",
    "/retention-settings",
    "/audit-log",
)


async def their_state(api: ApiClient, theirs: Theirs) -> dict[str, Any]:
    """What B's own key reads of B: every list and setting, every conversation's
    events and visitor, each webhook's deliveries, and the file's bytes (read at once)."""
    key = theirs.admin

    async def listed(path: str) -> tuple[str, Any]:
        return path, await api.all_items(path, key, limit=100)

    async def read(path: str, params: dict[str, str] | None = None) -> tuple[str, Any]:
        reply = await api.get(path, key, params=params)
        assert reply.status == 200, (path, reply.body)
        return path, reply.body

    async def file() -> tuple[str, Any]:
        async with api.http.get(theirs.file_url) as response:
            return "file", (response.status, await response.read())

    state = dict(await asyncio.gather(*map(listed, _LISTS), *map(read, _SINGLE), file()))
    # When a key was last used is the one thing reading changes (to the minute).
    for item in state["/api-keys"]:
        item.pop("last_used_at")
    more = [
        read(f"/conversations/{conv['id']}/{kind}", {"limit": "100"})
        for conv in state["/conversations"]
        for kind in ("events", "internal-events")
    ]
    more += [read(f"/visitors/{v}") for v in {c["visitor"]["id"] for c in state["/conversations"]}]
    more += [listed(f"/webhooks/{hook['id']}/deliveries") for hook in state["/webhooks"]]
    state |= dict(await asyncio.gather(*more))
    # Signed links carry their expiry, which moves with the clock: compare them without.
    unsigned: dict[str, Any] = _unsigned(state)
    return unsigned


def _unsigned(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _unsigned(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_unsigned(v) for v in value]
    if isinstance(value, str) and "?exp=" in value:
        return value.partition("?exp=")[0]
    return value
