"""The link refuses a stanza over the byte budget before it reaches the socket."""

from __future__ import annotations

import pytest

from business.model import QueueName
from tests.xmpp_bridge.support import ADDRESSING, ALICE_JID, CapturingSender, body_of
from xmpp_bridge.converters import stanza_to_xml
from xmpp_bridge.custom import PresenceKind, QueuePresence, TextReply
from xmpp_bridge.link import Link, StanzaTooLarge

# No real server has such an address, which is the point: nothing the converters can
# shorten, so only the link stands between it and the server.
ABSURD_ADDRESS = "a" * 1000 + "@" + ".".join(["b" * 60] * 50)


def link_with(budget: int) -> tuple[Link, CapturingSender]:
    link = Link(ADDRESSING, stanza_budget=budget)
    sender = CapturingSender()
    link.attach(sender)
    return link, sender


def test_stanzas_within_the_budget_are_sent() -> None:
    link, sender = link_with(4096)

    assert link.send(TextReply(sender="chat.localhost", to=ALICE_JID, text="hello"))

    [stanza] = sender.take()
    assert body_of(stanza) == "hello"


def test_a_stanza_over_the_budget_is_refused_with_its_size() -> None:
    link, sender = link_with(4096)
    presence = QueuePresence(
        queue=QueueName("support"), to=ABSURD_ADDRESS, kind=PresenceKind.AVAILABLE
    )

    with pytest.raises(StanzaTooLarge) as refused:
        link.send(presence)

    assert refused.value.budget == 4096
    assert refused.value.size is not None
    assert refused.value.size > 4096
    assert sender.take() == []


def test_nothing_of_an_item_is_sent_when_one_of_its_stanzas_is_too_large() -> None:
    link, sender = link_with(4096)
    # Split in parts for the budget, but every part carries the absurd address.
    reply = TextReply(sender="chat.localhost", to=ABSURD_ADDRESS, text="x" * 20_000)

    with pytest.raises(StanzaTooLarge):
        link.send(reply)

    assert sender.take() == []


def test_the_budget_is_what_the_converters_aim_for() -> None:
    link, sender = link_with(8192)

    link.send(TextReply(sender="chat.localhost", to=ALICE_JID, text="€" * 10_000))

    parts = sender.take()
    assert len(parts) > 1
    assert all(len(stanza_to_xml(part).encode()) <= 8192 for part in parts)
