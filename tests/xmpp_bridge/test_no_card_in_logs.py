"""No card number in the logs on the agent's side: a visitor's card goes out to the
agent and an agent's card comes in over a real slixmpp connection, with every logger at
DEBUG, and no log record holds the number (message and arguments formatted)."""

from __future__ import annotations

import logging

import pytest

from business.events import MessagePosted
from business.model import ParticipantKind
from tests.harness import World
from tests.xmpp_bridge.component_server import ComponentServer
from tests.xmpp_bridge.support import eventually
from tests.xmpp_bridge.test_bridge import Bridges, bodies, bridges, server, subscribed_alice

__all__ = ["bridges", "server"]  # fixtures

VISITOR_CARD = "4111 1111 1111 1111"
AGENT_CARD = "5555-5555-5555-4444"


def leaked(records: list[logging.LogRecord], *cards: str) -> list[str]:
    """The records that show one of ``cards``, with or without its separators."""
    forms = {form for card in cards for form in (card, card.replace(" ", "").replace("-", ""))}
    return [
        f"{record.name}: {text[:200]}"
        for record in records
        if any(form in (text := record.getMessage()) for form in forms)
    ]


async def test_no_card_number_is_logged_on_the_agent_path(
    world: World, server: ComponentServer, bridges: Bridges, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    await subscribed_alice(world)
    await bridges.connected(server.port)
    visitor = await world.visitor()
    conversation = await world.start(visitor, f"my card is {VISITOR_CARD}")
    await server.wait_until(lambda: any("my card is" in b for b in bodies(server.stanzas)))

    server.inject(
        f"<message from='alice@localhost/laptop' to='c-{conversation.id}@chat.localhost' "
        f"type='chat' id='x1'><body>is it {AGENT_CARD}?</body></message>"
    )

    def stored() -> bool:
        return any(
            isinstance(e, MessagePosted) and e.sender.kind is ParticipantKind.AGENT
            for e in world.fakes.events[conversation.id]
        )

    await eventually(stored)
    texts = [e.text for e in world.fakes.events[conversation.id] if isinstance(e, MessagePosted)]
    assert texts == ["my card is **** **** **** 1111", "is it ****-****-****-4444?"]
    assert [b for b in bodies(server.stanzas) if "my card is" in b] != []
    assert any(r.name.startswith("slixmpp") for r in caplog.records), "DEBUG was captured"
    assert leaked(caplog.records, VISITOR_CARD, AGENT_CARD) == []
