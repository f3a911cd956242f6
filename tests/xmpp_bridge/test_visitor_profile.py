"""``!info`` and ``!history`` from the agent's client."""

from __future__ import annotations

import jwt

from business import commands as c
from business.api_channel import ReceiveApiMessage
from business.identity_model import IdentityMode
from business.model import DEFAULT_QUEUE, DEFAULT_TENANT
from business.outbound_visitors import OpenThreadToVisitor
from tests.harness import World
from tests.presentation.test_identity_socket import SECRET, claims, configure
from tests.xmpp_bridge.support import ALICE, ALICE_JID, body_of, from_agent, harness


async def test_info_and_history_answer_in_the_window(world: World) -> None:
    h = harness(world)
    await world.add_agent(ALICE, ready=True)
    vera = await world.visitor()
    first = await world.start(vera, "Where is my parcel?")
    await world.conversations.end_by_agent(
        c.EndConversationByAgent(agent_id=ALICE, conversation_id=first.id)
    )
    world.advance(60)
    now = await world.start(vera, "Hello again")
    await h.delivered()

    await h.receive(from_agent(now.id, "!info"))
    [info] = await h.bodies()
    assert info.startswith("Visitor: Vera\nIdentity: anonymous (not verified)")
    assert "Earlier chats: 1" in info

    await h.receive(from_agent(now.id, "!history 3"))
    [history] = await h.bodies()
    assert history.startswith("Earlier chats with this visitor (1, newest first):")
    assert "[Vera] Where is my parcel?" in history

    await h.receive(from_agent(now.id, "!history lots"))
    error, text = await h.delivered()
    assert error.xml.attrib["type"] == "error"
    assert "!history <number of messages>" in (body_of(text) or "")


async def test_info_names_the_channel_and_the_address_of_an_api_visitor(world: World) -> None:
    h = harness(world)
    await world.add_agent(ALICE, ready=True)
    got = await world.services.api_channel.receive(
        ReceiveApiMessage(
            tenant_id=DEFAULT_TENANT,
            queue=DEFAULT_QUEUE,
            external_id="+15550100",
            provider="sms",
            provider_message_id="SM1",
            text="Where is my parcel?",
            name="Dana",
        )
    )
    await h.delivered()

    await h.receive(from_agent(got.conversation.id, "!info"))
    [info] = await h.bodies()
    assert "Channel: via sms (API channel): +15550100" in info.splitlines()
    # The address is the integration's word, not the anonymous widget's.
    assert (
        "Identity: the address the integration gave (not verified by the engine)"
        in info.splitlines()
    )
    assert "anonymous" not in info


async def test_a_signed_identity_is_named_in_the_offer_and_in_info(world: World) -> None:
    h = harness(world)
    await world.add_agent(ALICE, ready=True)
    await configure(world, IdentityMode.OPTIONAL)
    token = jwt.encode(
        claims(extra={"plan": "pro", "customer_since": 2019}), SECRET, algorithm="HS256"
    )
    session = await world.sessions.open_session(
        c.OpenSession(tenant_id=DEFAULT_TENANT, identity=token)
    )
    # No pre-chat form name: the verified name is the visitor's (a typed one would win).
    world.visitor_form = {}
    now = await world.start(session.visitor.id, "Hello")
    offer = "\n".join(body_of(stanza) or "" for stanza in await h.delivered())
    assert "New chat from Ada Lovelace" in offer

    await h.receive(from_agent(now.id, "!info"))
    [info] = await h.bodies()
    lines = info.splitlines()
    assert lines[:2] == [
        "Visitor: Ada Lovelace",
        "Identity: verified customer-42 (Ada Lovelace, ada@example.com)",
    ]
    assert "plan (verified): pro" in lines
    assert "customer_since (verified): 2019" in lines
    assert "anonymous" not in info


async def test_info_says_a_sub_named_by_an_outbound_thread_is_not_yet_verified(
    world: World,
) -> None:
    h = harness(world)
    await world.add_agent(ALICE, ready=True)
    await world.services.queue_settings.configure(
        c.ConfigureQueue(tenant_id=DEFAULT_TENANT, queue=DEFAULT_QUEUE, mode="messaging")
    )
    await configure(world, IdentityMode.OPTIONAL)
    opened = await world.services.outbound_visitor_threads.open_thread(
        OpenThreadToVisitor(
            tenant_id=DEFAULT_TENANT,
            queue=DEFAULT_QUEUE,
            agent_address=ALICE_JID,
            sub="customer-42",
            text="Your new card is on its way",
        )
    )
    await h.delivered()

    await h.receive(from_agent(opened.id, "!info"))
    [info] = await h.bodies()

    assert (
        "Identity: customer-42, not yet verified (named by an outbound thread)" in info.splitlines()
    )
    assert "verified customer-42" not in info
