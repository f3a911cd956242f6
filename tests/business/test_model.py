from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

import pytest

from business.errors import InvalidTransition
from business.model import (
    DEFAULT_QUEUE,
    DEFAULT_TENANT,
    Agent,
    AgentId,
    Conversation,
    ConversationId,
    ConversationState,
    VisitorContext,
    VisitorId,
)

T0 = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
Q, A, E = ConversationState.QUEUED, ConversationState.ACTIVE, ConversationState.ENDED
ALLOWED = {(Q, A), (Q, E), (A, E)}


def conversation(state: ConversationState) -> Conversation:
    return Conversation(
        id=ConversationId("c1"),
        tenant_id=DEFAULT_TENANT,
        visitor_id=VisitorId("v1"),
        visitor_name="Ann",
        queue=DEFAULT_QUEUE,
        state=state,
        created_at=T0,
        queue_position=3 if state is Q else None,
        last_seq=4,
    )


@pytest.mark.parametrize(("start", "to"), sorted(ALLOWED))
def test_allowed_transitions_change_the_state(
    start: ConversationState, to: ConversationState
) -> None:
    before = conversation(start)
    after = before.transition(to, T0 + timedelta(minutes=5))
    assert after.state is to
    assert before.state is start, "the old value must not change"
    assert after.last_seq == before.last_seq


@pytest.mark.parametrize(
    ("start", "to"),
    sorted(set(itertools.product(ConversationState, repeat=2)) - ALLOWED),
)
def test_refused_transitions_raise(start: ConversationState, to: ConversationState) -> None:
    with pytest.raises(InvalidTransition, match=f"is {start}, cannot become {to}"):
        conversation(start).transition(to, T0)


def test_ending_records_the_time_and_leaves_the_queue() -> None:
    ended = conversation(Q).transition(E, T0 + timedelta(minutes=7))
    assert ended.ended_at == T0 + timedelta(minutes=7)
    assert ended.queue_position is None
    assert not ended.is_open


def test_becoming_active_keeps_the_end_time_unset() -> None:
    active = conversation(Q).transition(A, T0)
    assert active.ended_at is None
    assert active.is_open


def test_merged_context_takes_set_fields_and_merges_custom_variables() -> None:
    old = VisitorContext(
        page_url="https://shop.example/cart",
        page_title="Cart",
        referrer="https://search.example/",
        custom={"plan": "free", "cart": "3"},
    )
    new = VisitorContext(page_url="https://shop.example/pay", custom={"cart": "4", "coupon": "X"})
    merged = old.merged(new)
    assert merged == VisitorContext(
        page_url="https://shop.example/pay",
        page_title="Cart",
        referrer="https://search.example/",
        custom={"plan": "free", "cart": "4", "coupon": "X"},
    )
    assert old.custom == {"plan": "free", "cart": "3"}, "merging must not change the old value"


def test_merging_an_empty_context_changes_nothing() -> None:
    old = VisitorContext(page_url="https://shop.example/", custom={"a": "1"})
    assert old.merged(VisitorContext()) == old


def test_an_empty_string_is_a_value_not_a_gap() -> None:
    old = VisitorContext(page_title="Cart")
    assert old.merged(VisitorContext(page_title="")).page_title == ""


def agent(**times: datetime | None) -> Agent:
    return Agent(
        id=AgentId("alice@example.com"),
        tenant_id=DEFAULT_TENANT,
        name="Alice",
        max_chats=2,
        queues=(DEFAULT_QUEUE,),
        ready=True,
        **times,
    )


def test_idle_since_is_none_for_an_agent_never_ready_nor_routed() -> None:
    assert agent().idle_since() is None


def test_idle_since_is_when_the_agent_became_ready_before_any_chat() -> None:
    assert agent(ready_since=T0).idle_since() == T0


def test_idle_since_is_the_last_chat_when_it_came_after_becoming_ready() -> None:
    later = T0 + timedelta(minutes=10)
    assert agent(ready_since=T0, last_routed_at=later).idle_since() == later


def test_idle_since_is_becoming_ready_again_after_the_last_chat() -> None:
    later = T0 + timedelta(minutes=10)
    assert agent(ready_since=later, last_routed_at=T0).idle_since() == later


def test_idle_since_without_ready_since_is_the_last_chat() -> None:
    assert agent(last_routed_at=T0).idle_since() == T0
