"""One visitor cannot cut every agent off (issue 5, hole 1), on the real Prosody.

A ``conversation.start`` within the limits (20 form fields and 50 custom fields of 2,000
characters) made an offer of about 700 KB once XML-escaped; Prosody closes a component
connection on a stanza over 512 KiB, and every reconnect sent that offer first again,
so no other visitor's chat reached an agent. Now the offer is cut to the stanza budget,
and a stanza the server refuses anyway is parked instead of being sent again and again.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest

from chat_engine.engine import Engine
from tests.e2e.conftest import RegisterAgent
from tests.e2e.test_chat_flow import (
    WAIT,
    conversation_jid,
    from_agent,
    new_visitor,
    online_agent,
    start_chat,
    wait_event,
)

pytestmark = pytest.mark.e2e

# '&' is written '&amp;' in XML: each such field is 10,000 bytes on the wire, and the
# seventy of them over 700 KB, well past Prosody's 512 KiB for a component stanza.
FIELD = "&" * 2000
BUDGET = 64 * 1024
"""The default per-stanza byte budget."""
QUICKLY = 5.0
"""How long the normal visitor's offer may take: seconds, not reconnect cycles."""


class LinkWatch:
    """Records every moment the component link is not up, sampled every few ms."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self.dropped = 0

    @contextlib.asynccontextmanager
    async def watching(self) -> AsyncIterator[None]:
        async def watch() -> None:
            while True:
                if not self._engine.bridge.connected:
                    self.dropped += 1
                await asyncio.sleep(0.005)

        task = asyncio.create_task(watch())
        try:
            yield
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task


async def test_an_oversized_start_leaves_the_link_up_and_the_other_chat_goes_through(
    engine: Engine,
    register_agent: RegisterAgent,
    cleanup: list[Any],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING, logger="xmpp_bridge")
    agent = await online_agent(engine, register_agent("olga"), "Olga", cleanup, max_chats=2)
    oversized = await new_visitor(engine, cleanup)
    normal = await new_visitor(engine, cleanup)
    watch = LinkWatch(engine)

    async with watch.watching():
        started = time.monotonic()
        oversized_ack, normal_id = await asyncio.gather(
            oversized.ok(
                "conversation.start",
                {
                    "form": {f"field{n:02}": FIELD for n in range(1, 21)},
                    "context": {
                        "page_url": "https://shop.example/checkout",
                        "page_title": "Checkout",
                        "custom": {f"custom{n:02}": FIELD for n in range(1, 51)},
                    },
                    "message": {"client_msg_id": "big-1", "text": "My order is huge"},
                },
            ),
            start_chat(normal, "A quick question", name="Nina"),
        )

        normal_offer = await agent.wait_body(
            "A quick question", sender=conversation_jid(engine, normal_id), timeout=QUICKLY
        )
        took = time.monotonic() - started
        oversized_jid = conversation_jid(engine, str(oversized_ack["conversation"]["id"]))
        oversized_offer = await agent.wait_for(
            lambda m: m.from_jid == oversized_jid and "My order is huge" in m.body, timeout=WAIT
        )
        # The chat goes on over the same link.
        agent.send(conversation_jid(engine, normal_id), "How can I help?")
        await wait_event(normal, from_agent("How can I help?"))

    assert took < QUICKLY
    assert "Nina" in normal_offer.body
    # Abridged to the budget (the agent reads the rest in the chat history), not refused.
    assert len(oversized_offer.body.encode()) < BUDGET
    assert oversized_offer.body.count(FIELD) < 70
    assert "could not be delivered" not in oversized_offer.body
    # The link never went down: no reconnect, nothing logged about a lost link.
    assert watch.dropped == 0
    assert engine.bridge.connected
    lost = [r.getMessage() for r in caplog.records if "lost its link" in r.getMessage()]
    assert lost == []
