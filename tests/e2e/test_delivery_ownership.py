"""Delivery ownership with two engine processes on one PostgreSQL and one ejabberd
(``business.delivery_ownership``, ``xmpp_bridge.ownership``).

What an agent would notice if it broke: a message stored by a process that does not own
the conversation (the visitor's socket moved there) arrives twice, or never; a
conversation whose owner stopped or died stays silent.
"""

from __future__ import annotations

import asyncio
import dataclasses
import secrets
from typing import Any

import pytest
from sqlalchemy import text

from business.delivery_ownership import DeliveryOwnership
from business.model import ConversationId
from business.ownership_ports import NodeId
from business.publishing import EventPublisher
from business.transactions import Transactions
from chat_engine.ejabberd import EjabberdServer
from chat_engine.engine import Engine
from chat_engine.settings import Settings
from tests.e2e.agent import ScriptedAgent
from tests.e2e.conftest import AgentAccount
from tests.e2e.test_chat_flow import (
    WAIT,
    add_agent,
    conversation_jid,
    new_visitor,
    queue_jid,
    start_chat,
)
from tests.e2e.test_ejabberd import (
    _where_ready,
    ejabberd_for_two,
    two_engine_settings,
)

pytestmark = pytest.mark.e2e

__all__ = ["ejabberd_for_two", "two_engine_settings"]  # fixtures, used here

SETTLE = 1.5
"""How long to go on listening for a second copy of a stanza once the first came."""


def _quick(settings: Settings) -> Settings:
    """Leases of a second: a dead owner is noticed quickly."""
    xmpp = dataclasses.replace(settings.xmpp, delivery_heartbeat=0.2, delivery_lease=1.0)
    return dataclasses.replace(settings, xmpp=xmpp)


async def _count(agent: ScriptedAgent, sender: str, body: str) -> int:
    """How many times the agent got ``body`` from ``sender``: waits for the first, then
    ``SETTLE`` more for any other copy."""
    await agent.wait_body(body, sender=sender, timeout=WAIT)
    await asyncio.sleep(SETTLE)
    return sum(body in got for got in agent.bodies_from(sender))


async def _owner(engine: Engine, conversation_id: str) -> str | None:
    async with engine.database.engine.connect() as connection:
        row = (
            await connection.execute(
                text("SELECT node_id FROM delivery_owners WHERE conversation_id = :c"),
                {"c": conversation_id},
            )
        ).first()
    return None if row is None else str(row[0])


async def test_each_event_reaches_the_agent_once_from_the_owner_and_a_dead_owners_are_taken_over(
    two_engine_settings: Settings, ejabberd_for_two: EjabberdServer, cleanup: list[Any]
) -> None:
    settings = _quick(two_engine_settings)
    first, second = Engine(settings), Engine(settings)
    await first.start()
    await second.start()
    engines = (first, second)
    try:
        for engine in engines:
            await engine.bridge.wait_connected(WAIT)
        password = secrets.token_urlsafe(12)
        jid = ejabberd_for_two.register(f"owen-{secrets.token_hex(3)}", password)
        account = AgentAccount(
            jid=jid, password=password, host=ejabberd_for_two.host, port=ejabberd_for_two.c2s_port
        )
        await add_agent(first, account, "Owen", max_chats=4)
        agent = ScriptedAgent(account.jid, account.password, host=account.host, port=account.port)
        cleanup.append(agent)
        await agent.connect()
        agent.subscribe(queue_jid(first))
        home = await _where_ready(engines, account.jid)
        other = second if home is first else first
        home_owned, other_owned = home.bridge.owned_delivery, other.bridge.owned_delivery
        assert home_owned is not None
        assert other_owned is not None

        # The conversation starts on the visitor's process, which owns it from the start
        # (no claim).
        visitor = await new_visitor(home, cleanup)
        cid = await start_chat(visitor, "Hello from the first process")
        conv_jid = conversation_jid(home, cid)
        assert await _count(agent, conv_jid, "Hello from the first process") == 1
        assert await _owner(home, cid) == home_owned.node
        assert home_owned.claimed == 0

        # The visitor's socket moves to the other process: what it stores there goes out
        # once, from the owner, nudged by the other.
        moved = await new_visitor(other, cleanup, token=visitor.token)
        await moved.ok(
            "message.send",
            {"conversation_id": cid, "client_msg_id": "m-2", "text": "Now from the other one"},
        )
        assert await _count(agent, conv_jid, "Now from the other one") == 1
        assert await _owner(home, cid) == home_owned.node
        assert other_owned.woken >= 1

        # The owner drains: it hands the conversation over, and the other takes it at
        # the next event.
        await home.stop()
        await moved.ok(
            "message.send",
            {"conversation_id": cid, "client_msg_id": "m-3", "text": "After the drain"},
        )
        assert await _count(agent, conv_jid, "After the drain") == 1
        assert await _owner(other, cid) == other_owned.node

        # An owner that dies: a ghost node claims the conversation and beats while the
        # visitor writes, then stops. What was stored meanwhile is not sent by the
        # process that stored it; once the ghost's lease has run out the survivor takes
        # the conversation over and sends it, once.
        ghost = DeliveryOwnership(
            node=NodeId(f"ghost-{secrets.token_hex(3)}"),
            transactions=Transactions(other.database.unit_of_work, EventPublisher()),
            lease_seconds=1.0,
        )
        await other.stop()  # releases it; started again below, as a new node
        await ghost.beat()
        assert await ghost.claim([ConversationId(cid)]) == {cid}

        async def haunt() -> None:
            while True:
                await ghost.beat()
                await asyncio.sleep(0.2)

        haunting = asyncio.create_task(haunt())
        try:
            await other.start()
            await other.bridge.wait_connected(WAIT)
            survivor = other.bridge.owned_delivery
            assert survivor is not None
            again = await new_visitor(other, cleanup, token=visitor.token)
            await again.ok(
                "message.send",
                {"conversation_id": cid, "client_msg_id": "m-4", "text": "While its owner lives"},
            )
            await asyncio.sleep(SETTLE)
            assert not [b for b in agent.bodies_from(conv_jid) if "While its owner lives" in b]
            assert survivor.woken >= 1
        finally:
            haunting.cancel()
        assert await _count(agent, conv_jid, "While its owner lives") == 1
        assert await _owner(other, cid) == survivor.node
    finally:
        for engine in engines:
            await engine.stop()
