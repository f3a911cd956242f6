"""Which JID at the component means what."""

from __future__ import annotations

import pytest
from hypothesis import given, strategies as st

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


# Queue names as business accepts them: nothing stops one from looking like a
# conversation address.
queue_names = st.from_regex(r"[a-z0-9][a-z0-9._-]{0,63}", fullmatch=True).map(QueueName)
conversation_ids = st.from_regex(r"[0-9a-f]{1,32}", fullmatch=True).map(ConversationId)


@pytest.mark.parametrize(
    ("queue", "jid"),
    [
        ("support", "support@chat.localhost"),
        ("c-sales", "q-c-sales@chat.localhost"),
        ("q-sales", "q-q-sales@chat.localhost"),
        ("q", "q@chat.localhost"),
        ("c", "c@chat.localhost"),
        ("cq-x", "cq-x@chat.localhost"),
    ],
)
def test_queues_that_look_like_conversations_get_a_distinct_address(queue: str, jid: str) -> None:
    assert ADDRESSING.queue_jid(QueueName(queue)) == jid
    assert ADDRESSING.target(jid) == ToQueue(QueueName(queue))


def test_a_queue_named_like_a_conversation_does_not_take_its_address() -> None:
    queue_jid = ADDRESSING.queue_jid(QueueName("c-0a1b"))

    assert queue_jid != ADDRESSING.conversation_jid(ConversationId("0a1b"))
    assert ADDRESSING.target("c-0a1b@chat.localhost") == ToConversation(ConversationId("0a1b"))


@pytest.mark.parametrize("local", ["q-sales", "q-", "q-support"])
def test_only_the_one_address_of_a_queue_reaches_it(local: str) -> None:
    # ``sales`` lives at sales@; a second spelling would be a second roster contact
    # for the same queue.
    assert ADDRESSING.target(f"{local}@chat.localhost") == Elsewhere()


@given(queue=queue_names)
def test_every_queue_name_round_trips(queue: QueueName) -> None:
    assert ADDRESSING.target(ADDRESSING.queue_jid(queue)) == ToQueue(queue)


@given(a=queue_names, b=queue_names)
def test_distinct_queues_have_distinct_addresses(a: QueueName, b: QueueName) -> None:
    if a != b:
        assert ADDRESSING.queue_jid(a) != ADDRESSING.queue_jid(b)


@given(queue=queue_names, conversation=conversation_ids)
def test_no_queue_takes_a_conversation_address(
    queue: QueueName, conversation: ConversationId
) -> None:
    assert ADDRESSING.queue_jid(queue) != ADDRESSING.conversation_jid(conversation)


@given(local=st.from_regex(r"[a-z0-9][a-z0-9._-]{0,70}", fullmatch=True))
def test_any_address_read_as_a_queue_is_that_queues_own_address(local: str) -> None:
    jid = f"{local}@chat.localhost"
    target = ADDRESSING.target(jid)

    if isinstance(target, ToQueue):
        assert ADDRESSING.queue_jid(target.queue) == jid
