"""Two engine processes on one PostgreSQL and one Prosody: active/standby.

Prosody takes one component connection per domain, so the second process waits (it is
refused with ``conflict`` and retries) while it still serves visitors behind the load
balancer. What an agent would notice if delivery ownership got this wrong: the chats
of visitors on the standby never reach them (the standby owned them without a link),
or reach them only once the active one stops.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from chat_engine.engine import Engine
from chat_engine.prosody import ProsodyServer
from chat_engine.settings import Settings
from tests.conftest import fresh_database_url
from tests.e2e.conftest import RegisterAgent, _settings
from tests.e2e.test_chat_flow import (
    WAIT,
    conversation_jid,
    new_visitor,
    online_agent,
    start_chat,
)

pytestmark = [pytest.mark.e2e, pytest.mark.postgres]

SETTLE = 1.0


@pytest.fixture
async def shared_settings(prosody: ProsodyServer, tmp_path: Path) -> AsyncIterator[Settings]:
    async with fresh_database_url("postgres", tmp_path) as url:
        settings = _settings(prosody, url)
        xmpp = dataclasses.replace(settings.xmpp, delivery_heartbeat=0.2, delivery_lease=1.0)
        yield dataclasses.replace(settings, xmpp=xmpp)


async def test_the_standbys_visitors_reach_agents_through_the_active_one_then_through_it(
    shared_settings: Settings, register_agent: RegisterAgent, cleanup: list[Any]
) -> None:
    active, standby = Engine(shared_settings), Engine(shared_settings)
    await active.start()
    try:
        await active.bridge.wait_connected(WAIT)
        await standby.start()
        agent = await online_agent(active, register_agent("sam"), "Sam", cleanup, max_chats=3)
        assert not standby.bridge.connected  # Prosody refuses the second connection

        # A visitor whose socket is on the standby: the active process delivers.
        visitor = await new_visitor(standby, cleanup)
        cid = await start_chat(visitor, "Hello through the standby")
        conv_jid = conversation_jid(standby, cid)
        await agent.wait_body("Hello through the standby", sender=conv_jid, timeout=WAIT)
        owned = standby.bridge.owned_delivery
        assert owned is not None
        assert owned.woken >= 1
        assert owned.claimed == 0

        # The active one stops; the standby gets the link and delivers from then on.
        await active.stop()
        await standby.bridge.wait_connected(WAIT)
        await visitor.ok(
            "message.send",
            {"conversation_id": cid, "client_msg_id": "m-2", "text": "Now the standby is on"},
        )
        await agent.wait_body("Now the standby is on", sender=conv_jid, timeout=WAIT)
        await asyncio.sleep(SETTLE)
        bodies = agent.bodies_from(conv_jid)
        assert sum("Hello through the standby" in b for b in bodies) == 1
        assert sum("Now the standby is on" in b for b in bodies) == 1
        # It owns the conversation now (claimed by its replay on connecting or by the
        # message's own claim, whichever came first).
        async with standby.database.engine.connect() as connection:
            owner = await connection.scalar(
                text("SELECT node_id FROM delivery_owners WHERE conversation_id = :c"),
                {"c": cid},
            )
        assert owner == owned.node
    finally:
        await standby.stop()
        await active.stop()
