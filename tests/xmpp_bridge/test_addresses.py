"""Which JID at the component means what."""

from __future__ import annotations

import pytest

from business.model import ConversationId, QueueName
from tests.xmpp_bridge.support import ADDRESSING
from xmpp_bridge.addresses import Elsewhere, Target, ToConversation, ToEngine, ToQueue


@pytest.mark.parametrize(
    ("jid", "target"),
    [
        ("chat.localhost", ToEngine()),
        ("support@chat.localhost", ToQueue(QueueName("support"))),
        ("c-0a1b@chat.localhost", ToConversation(ConversationId("0a1b"))),
        ("c-@chat.localhost", Elsewhere()),
        ("support@localhost", Elsewhere()),
        ("localhost", Elsewhere()),
        ("@chat.localhost", Elsewhere()),
    ],
)
def test_targets(jid: str, target: Target) -> None:
    assert ADDRESSING.target(jid) == target


def test_jids_built_are_the_jids_read() -> None:
    cid = ConversationId("9f86d081884c7d65")

    assert ADDRESSING.target(ADDRESSING.conversation_jid(cid)) == ToConversation(cid)
    assert ADDRESSING.target(ADDRESSING.queue_jid(QueueName("sales"))) == ToQueue(
        QueueName("sales")
    )
