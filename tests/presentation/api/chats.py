"""Conversations for the REST API tests, driven through the real services: a visitor
starts, an agent (auto-accepting) takes the chat and answers."""

from __future__ import annotations

from business import commands as c
from business.conversation import Conversation
from business.model import DEFAULT_QUEUE, AgentId, QueueName, TenantId
from tests.harness import World

ALICE = AgentId("alice-id")
ALICE_ADDRESS = "alice@agents.example"
BOB = AgentId("bob-id")
BOB_ADDRESS = "bob@agents.example"


async def alice(world: World) -> AgentId:
    """Alice, ready in support and sales, with room for five chats (made once)."""
    if await world.agents.get_agent(ALICE) is None:
        await world.agent(
            ALICE,
            address=ALICE_ADDRESS,
            name="Alice",
            queues=(DEFAULT_QUEUE, QueueName("sales")),
            max_chats=5,
        )
    return ALICE


async def bob(world: World, *, ready: bool = True) -> AgentId:
    """Bob, in support, who answers offers himself (no auto-accept)."""
    if await world.agents.get_agent(BOB) is None:
        await world.agent(
            BOB, address=BOB_ADDRESS, name="Bob", max_chats=5, ready=ready, auto_accept=False
        )
    return BOB


async def chat(
    world: World,
    text: str = "Hello, my order is late",
    *,
    name: str = "Vera",
    answer: str | None = "Hi Vera, let me check",
) -> Conversation:
    """An active chat of a new visitor with Alice, who answered (unless ``answer`` is
    None); returns it as stored now."""
    await alice(world)
    conv = await world.start(await world.visitor(), text, form={"name": name})
    if answer is not None:
        await world.agent_says(ALICE, conv.id, answer)
    return await world.conversations.get_conversation(conv.id)


async def waiting_chat(world: World, tenant_id: TenantId, text: str = "Anyone?") -> Conversation:
    """A chat nobody took yet (no agent of that tenant is ready)."""
    visitor = await world.visitor(tenant_id)
    return await world.conversations.start_conversation(
        c.StartConversation(
            visitor_id=visitor,
            queue=DEFAULT_QUEUE,
            form={"name": "Walter"},
            message=c.FirstMessage(client_msg_id="w-1", text=text),
        )
    )
