"""Two tenants behind one engine, over the real Socket.IO server on SQLite and
PostgreSQL: a visitor of the default tenant tries every visitor event on the other
tenant's conversation, queues and visitor token. Each is refused exactly as it is for a
stranger of that tenant (the same ack), nothing of it reaches them, and the other
tenant's conversation is as it was."""

from __future__ import annotations

from typing import Any

import pytest

from business.model import AgentId, ConversationId, ConversationState, QueueName, TenantId
from tests.harness import World
from tests.presentation.conftest import VisitorFactory
from tests.visitor_client import Json, Visitor

OTHER = TenantId("other")
"""The conftest's second tenant (name "Other shop"), with a queue ``support`` too."""
BILLING = QueueName("billing")
"""Only the other tenant has it."""
OLGA = AgentId("olga@other.example")


async def other_tenants_chat(world: World, new_visitor: VisitorFactory) -> tuple[Visitor, str]:
    """Bea, a visitor of the other tenant, chatting with Olga, its agent."""
    await world.tenants.ensure_tenant(
        OTHER, name="Other shop", queues=(QueueName("support"), BILLING)
    )
    await world.agent(OLGA, name="Olga", tenant_id=OTHER, max_chats=5)
    bea = new_visitor()
    await bea.connect({"tenant": OTHER})
    conversation_id = await bea.start("My secret order 4711")
    await world.agent_says(OLGA, conversation_id, "Olga here: your card ends in 1234")
    return bea, conversation_id


def attempts(conversation_id: str) -> list[tuple[str, Json]]:
    """Every visitor event that names a conversation, aimed at ``conversation_id``."""
    return [
        (
            "message.send",
            {"conversation_id": conversation_id, "client_msg_id": "x-1", "text": "hi"},
        ),
        ("typing", {"conversation_id": conversation_id, "state": "composing"}),
        ("read", {"conversation_id": conversation_id, "seq": 1}),
        ("sync", {"conversation_id": conversation_id, "after_seq": 0}),
        ("conversation.end", {"conversation_id": conversation_id}),
    ]


def leaks(ack: Json) -> list[str]:
    """What of the other tenant's chat shows in ``ack``."""
    text = str(ack)
    return [word for word in ("4711", "1234", "Olga", "Other shop") if word in text]


async def stream(visitor: Visitor, conversation_id: str) -> list[Any]:
    synced = await visitor.ok("sync", {"conversation_id": conversation_id, "after_seq": 0})
    return list(synced["events"])


async def test_every_conversation_event_on_another_tenants_chat_is_refused_as_for_a_stranger(
    world: World, new_visitor: VisitorFactory
) -> None:
    bea, conversation_id = await other_tenants_chat(world, new_visitor)
    before = await stream(bea, conversation_id)
    ann = new_visitor()
    await ann.connect({"tenant": "default"})
    # A visitor of the other tenant who is not Bea: the stranger to compare with.
    stranger = new_visitor()
    await stranger.connect({"tenant": OTHER})

    for event, payload in attempts(conversation_id):
        ack = await ann.call(event, payload)
        assert ack == await stranger.call(event, payload), event
        assert ack["ok"] is False, event
        assert ack["error"]["code"] == "forbidden", event
        assert leaks(ack) == [], event

    assert await ann.drain() == []
    after = await stream(bea, conversation_id)
    assert after == before
    conversation = await world.conversations.get_conversation(ConversationId(conversation_id))
    assert conversation.state is ConversationState.ACTIVE
    assert conversation.visitor_read_seq == 0


async def test_starts_and_context_stay_in_the_visitors_own_tenant(
    world: World, new_visitor: VisitorFactory
) -> None:
    bea, conversation_id = await other_tenants_chat(world, new_visitor)
    ann = new_visitor()
    await ann.connect({"tenant": "default"})

    # billing is only the other tenant's: to Ann it is a queue nobody has.
    billing = await ann.call("conversation.start", {"queue": "billing"})
    nosuch = await ann.call("conversation.start", {"queue": "nosuch"})
    assert billing["ok"] is False
    assert billing["error"] == {
        "code": "not_found",
        "message": nosuch["error"]["message"].replace("nosuch", "billing"),
    }
    # support is Ann's own tenant's, however busy the other's is.
    started = await ann.ok("conversation.start", {"queue": "support"})
    own = await world.conversations.get_conversation(ConversationId(started["conversation"]["id"]))
    assert own.tenant_id == TenantId("default")
    assert own.id != conversation_id
    assert own.agent_id is None  # Olga is the other tenant's: nobody takes it here

    await ann.ok("context.update", {"page_title": "Ann's page", "custom": {"plan": "gold"}})
    theirs = await world.conversations.get_conversation(ConversationId(conversation_id))
    assert theirs.context.page_title is None
    assert dict(theirs.context.custom) == {}
    assert (await world.conversations.get_conversation(own.id)).context.page_title == "Ann's page"
    assert [e for e in await bea.drain() if e.get("conversation_id") == own.id] == []


async def test_another_tenants_token_is_a_stranger_under_this_tenant(
    world: World, new_visitor: VisitorFactory
) -> None:
    bea, conversation_id = await other_tenants_chat(world, new_visitor)
    before = await stream(bea, conversation_id)

    impostor = new_visitor()
    session = await impostor.connect({"tenant": "default", "visitor_token": bea.token})

    # A new visitor of the default tenant, with a token of their own: nothing of Bea's.
    assert session["visitor_id"] != bea.session["visitor_id"]
    assert session["visitor_token"] != bea.token
    assert session["conversations"] == []
    assert session["config"]["tenant_name"] == "Default"
    for event, payload in attempts(conversation_id):
        ack = await impostor.call(event, payload)
        assert ack["ok"] is False, event
        assert leaks(ack) == [], event
    await world.agent_says(OLGA, conversation_id, "Anything else?")
    assert [e for e in await impostor.drain() if e.get("conversation_id") == conversation_id] == []

    # Bea's token still is Bea under her own tenant, her chat as it was plus Olga's line.
    await bea.disconnect()
    again = new_visitor()
    session = await again.connect({"tenant": OTHER, "visitor_token": bea.token})
    assert session["visitor_id"] == bea.session["visitor_id"]
    assert [c["id"] for c in session["conversations"]] == [conversation_id]
    after = await stream(again, conversation_id)
    assert after[: len(before)] == before
    assert [e["text"] for e in after[len(before) :]] == ["Anything else?"]


@pytest.mark.parametrize("tenant", ["other", "default"])
async def test_the_session_names_the_tenant_connected_to(
    new_visitor: VisitorFactory, tenant: str
) -> None:
    session = await new_visitor().connect({"tenant": tenant})
    assert session["config"]["tenant_name"] == {"other": "Other shop", "default": "Default"}[tenant]
