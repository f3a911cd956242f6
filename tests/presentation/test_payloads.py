"""Strict parsing of visitor payloads into business commands."""

from __future__ import annotations

import pytest

from business import commands as c
from business.errors import InvalidInput
from business.model import ConversationId, QueueName, TenantId, VisitorContext, VisitorId
from presentation import payloads

V = VisitorId("v1")


def test_auth() -> None:
    assert payloads.parse_auth({"tenant": "default"}) == payloads.ConnectAuth(
        tenant_id=TenantId("default"), visitor_token=None
    )
    parsed = payloads.parse_auth({"tenant": "t", "visitor_token": "tok", "identity": None})
    assert parsed.visitor_token == "tok"


def test_start_with_everything() -> None:
    cmd = payloads.parse_conversation_start(
        {
            "queue": "support",
            "form": {"name": "Ada", "email": "ada@example.org"},
            "context": {
                "page_url": "https://shop.example/",
                "page_title": "Shop",
                "referrer": "https://search.example/",
                "custom": {"plan": "pro"},
            },
            "message": {"client_msg_id": "m1", "text": "hi"},
            "a_future_field": {"ignored": True},
        },
        V,
    )
    assert cmd == c.StartConversation(
        visitor_id=V,
        queue=QueueName("support"),
        form={"name": "Ada", "email": "ada@example.org"},
        context=VisitorContext(
            page_url="https://shop.example/",
            page_title="Shop",
            referrer="https://search.example/",
            custom={"plan": "pro"},
        ),
        message=c.FirstMessage(client_msg_id="m1", text="hi"),
    )


def test_start_with_nothing_and_with_nulls() -> None:
    empty = c.StartConversation(visitor_id=V)
    assert payloads.parse_conversation_start({}, V) == empty
    nulls = {"queue": None, "form": None, "context": None, "message": None}
    assert payloads.parse_conversation_start(nulls, V) == empty


def test_the_other_events() -> None:
    cid = ConversationId("c1")
    assert payloads.parse_message_send(
        {"conversation_id": "c1", "client_msg_id": "m", "text": "t", "attachments": []}, V
    ) == c.SendVisitorMessage(visitor_id=V, conversation_id=cid, client_msg_id="m", text="t")
    assert payloads.parse_typing({"conversation_id": "c1", "state": "paused"}, V) == (
        c.SetVisitorTyping(visitor_id=V, conversation_id=cid, composing=False)
    )
    assert payloads.parse_read({"conversation_id": "c1", "seq": 4}, V).seq == 4
    assert payloads.parse_sync({"conversation_id": "c1", "after_seq": 0}, V).after_seq == 0
    assert payloads.parse_context_update({"page_title": "Cart"}, V) == c.UpdateContext(
        visitor_id=V, context=VisitorContext(page_title="Cart")
    )
    assert payloads.parse_conversation_end({"conversation_id": "c1"}, V).conversation_id == cid


@pytest.mark.parametrize("args", [(), ({}, {}), ({}, {}, {})], ids=["none", "two", "three"])
def test_exactly_one_payload(args: tuple[object, ...]) -> None:
    with pytest.raises(InvalidInput, match="exactly one payload"):
        payloads.single_payload(args)


def test_overlong_conversation_id_is_refused_before_any_lookup() -> None:
    with pytest.raises(InvalidInput, match="conversation_id must be 1 to 128"):
        payloads.parse_conversation_end({"conversation_id": "x" * 129}, V)


def test_empty_queue_is_refused() -> None:
    with pytest.raises(InvalidInput, match="queue must not be empty"):
        payloads.parse_conversation_start({"queue": ""}, V)
