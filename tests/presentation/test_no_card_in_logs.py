"""No card number in the logs on the visitor's side: a visitor sends one over the real
Socket.IO connection (starting the chat and in a later message), with every logger at
DEBUG, over SQLite and PostgreSQL, and no log record holds the number (message and
arguments formatted); the agent's side is ``tests/xmpp_bridge/test_no_card_in_logs``."""

from __future__ import annotations

import logging

import pytest

from tests.harness import World
from tests.presentation.conftest import ready_agent
from tests.visitor_client import Visitor
from tests.xmpp_bridge.test_no_card_in_logs import leaked

CARD = "4111 1111 1111 1111"
OTHER_CARD = "5555555555554444"


async def test_no_card_number_is_logged_on_the_visitor_path(
    visitor: Visitor, world: World, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    await ready_agent(world)
    conversation_id = await visitor.start(f"my card is {CARD}")
    await visitor.ok(
        "message.send",
        {"conversation_id": conversation_id, "client_msg_id": "m-2", "text": f"or {OTHER_CARD}"},
    )
    # Resent: the ack of the stored message again, and no second row.
    await visitor.ok(
        "message.send",
        {"conversation_id": conversation_id, "client_msg_id": "m-2", "text": f"or {OTHER_CARD}"},
    )

    assert caplog.records, "DEBUG was captured"
    assert leaked(caplog.records, CARD, OTHER_CARD) == []
