from __future__ import annotations

from datetime import UTC, datetime, timedelta

from business.model import (
    DEFAULT_QUEUE,
    DEFAULT_TENANT,
    Agent,
    AgentId,
    ParticipantKind,
    VisitorContext,
)

T0 = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)


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


def agent(*, ready_since: datetime | None = None, last_routed_at: datetime | None = None) -> Agent:
    return Agent(
        id=AgentId("a1"),
        tenant_id=DEFAULT_TENANT,
        address="alice@example.com",
        name="Alice",
        max_chats=2,
        queues=(DEFAULT_QUEUE,),
        ready=True,
        ready_since=ready_since,
        last_routed_at=last_routed_at,
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


def test_an_agent_takes_part_by_id_and_name_never_by_address() -> None:
    who = agent().as_participant()
    assert (who.kind, who.name, who.id) == (ParticipantKind.AGENT, "Alice", "a1")
