"""The conversation aggregate: each change allocates the next seqs and says what it did."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from business.conversation import Change, Conversation
from business.errors import InvalidInput, InvalidTransition
from business.events import (
    DeskEvent,
    MessagePosted,
    OfferClosed,
    OfferMade,
    ParticipantJoined,
    ParticipantLeft,
    StateChanged,
)
from business.model import (
    DEFAULT_QUEUE,
    DEFAULT_TENANT,
    Agent,
    AgentId,
    ConversationId,
    ConversationState,
    EventId,
    Participant,
    ParticipantKind,
    VisitorContext,
    VisitorId,
)
from business.offer_rules import make_offer

T0 = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
Q, A, E = ConversationState.QUEUED, ConversationState.ACTIVE, ConversationState.ENDED
ALICE = Agent(
    id=AgentId("a1"),
    tenant_id=DEFAULT_TENANT,
    address="alice@example.com",
    name="Alice",
    max_chats=2,
    queues=(DEFAULT_QUEUE,),
)


def opened(text: str | None = "Hi") -> Change:
    return Conversation.open(
        id=ConversationId("c1"),
        tenant_id=DEFAULT_TENANT,
        visitor_id=VisitorId("v1"),
        visitor_name="Ann",
        queue=DEFAULT_QUEUE,
        position=3,
        now=T0,
        context=VisitorContext(page_url="https://shop.example/"),
        form={"name": "Ann"},
        first_message=None if text is None else (EventId("m1"), "first", text),
    )


def queued() -> Conversation:
    return opened().conversation


def active() -> Conversation:
    return make_offer(queued(), ALICE, T0, 20, take=True).conversation


def ended() -> Conversation:
    return active().end(active().agent, T0).conversation


def seqs(change: Change) -> list[int]:
    return [e.seq for e in change.events if not isinstance(e, DeskEvent)]


def test_opening_queues_it_with_its_position_and_first_message() -> None:
    change = opened()
    assert change.before is None
    assert change.entered_queue
    assert not change.left_queue
    conv = change.conversation
    assert (conv.state, conv.queue_position, conv.last_seq) == (Q, 3, 2)
    state, message = change.events
    assert isinstance(state, StateChanged)
    assert state.queue_position == 3
    assert state.seq == 1
    assert isinstance(message, MessagePosted)
    assert message.seq == 2
    assert message.sender == Participant(kind=ParticipantKind.VISITOR, name="Ann", id="v1")
    assert (message.id, message.client_msg_id, message.text) == ("m1", "first", "Hi")


def test_opening_without_a_message_stores_only_the_state() -> None:
    change = opened(text=None)
    assert seqs(change) == [1]
    assert change.conversation.last_seq == 1


def test_taking_an_offer_at_once_joins_the_agent_then_activates_and_leaves_the_queue() -> None:
    before = queued()
    change = make_offer(before, ALICE, T0 + timedelta(seconds=9), 20, take=True)
    assert change.left_queue
    assert not change.entered_queue
    offer, taken, joined, state = change.events
    assert isinstance(offer, OfferMade)
    assert isinstance(taken, OfferClosed)
    assert isinstance(joined, ParticipantJoined)
    assert joined.participant == Participant(kind=ParticipantKind.AGENT, name="Alice", id="a1")
    assert isinstance(state, StateChanged)
    assert state.state is A
    conv = change.conversation
    assert (conv.state, conv.agent_id, conv.agent_name, conv.queue_position) == (
        A,
        "a1",
        "Alice",
        None,
    )
    assert conv.assigned_at == T0 + timedelta(seconds=9)
    # The offer carries what was said while queued: delivery starts at the offer.
    assert conv.agent_delivered_pos == before.last_pos
    assert seqs(change) == [before.last_seq + 1, before.last_seq + 2]
    assert before.state is Q, "the old value never changes"


def test_messages_take_the_next_seq_one_by_one() -> None:
    conv = active()
    for expected in range(conv.last_seq + 1, conv.last_seq + 4):
        change = conv.post(
            id=EventId(f"e{expected}"), sender=conv.visitor, text="x", client_msg_id=None, now=T0
        )
        assert seqs(change) == [expected]
        conv = change.conversation
        assert conv.last_seq == expected


def test_an_agent_message_moves_the_delivery_cursor_only_when_nothing_is_pending() -> None:
    delivered = active().mark_delivered_to_agent(active().last_pos)
    assert delivered is not None
    conv = delivered.conversation
    caught_up = conv.post(id=EventId("e"), sender=conv.agent, text="hi", client_msg_id=None, now=T0)
    assert caught_up.conversation.agent_delivered_pos == caught_up.conversation.last_pos
    pending = conv.post(id=EventId("v"), sender=conv.visitor, text="?", client_msg_id=None, now=T0)
    after = pending.conversation.post(
        id=EventId("a"), sender=conv.agent, text="!", client_msg_id=None, now=T0
    )
    assert after.conversation.agent_delivered_pos == conv.agent_delivered_pos


def test_ending_an_active_chat_has_the_ender_leave_and_records_the_time() -> None:
    conv = active()
    change = conv.end(conv.agent, T0 + timedelta(minutes=7))
    left, state = change.events
    assert isinstance(left, ParticipantLeft)
    assert left.participant == conv.agent
    assert isinstance(state, StateChanged)
    assert state.state is E
    assert change.conversation.ended_at == T0 + timedelta(minutes=7)
    assert not change.conversation.is_open
    assert not change.left_queue


def test_an_agent_ending_a_queued_chat_never_joined_so_never_leaves() -> None:
    change = queued().end(Participant(kind=ParticipantKind.AGENT, name="Sam", id="a2"), T0)
    assert [type(e) for e in change.events] == [StateChanged]
    assert change.left_queue
    assert change.conversation.queue_position is None


def test_a_visitor_ending_a_queued_chat_leaves_visibly() -> None:
    conv = queued()
    change = conv.end(conv.visitor, T0)
    assert [type(e) for e in change.events] == [ParticipantLeft, StateChanged]


@pytest.mark.parametrize(
    "change",
    [
        lambda c: c.post(id=EventId("x"), sender=c.visitor, text="x", client_msg_id=None, now=T0),
        lambda c: make_offer(c, ALICE, T0, 20),
        lambda c: c.end(c.visitor, T0),
    ],
    ids=["post", "offer", "end"],
)
def test_an_ended_conversation_refuses_every_change(change: object) -> None:
    with pytest.raises(InvalidTransition, match=r"has ended|cannot be offered"):
        change(ended())  # type: ignore[operator]


def test_an_active_conversation_cannot_be_offered_again() -> None:
    with pytest.raises(InvalidTransition, match="is active, it cannot be offered"):
        make_offer(active(), ALICE, T0, 20)


def test_repositioning_tells_only_a_changed_place_in_the_queue() -> None:
    conv = queued()
    assert conv.reposition(3, T0) is None
    change = conv.reposition(2, T0)
    assert change is not None
    (state,) = change.events
    assert isinstance(state, StateChanged)
    assert state.queue_position == 2
    assert state.state is Q
    assert change.conversation.queue_position == 2
    assert not change.entered_queue
    assert not change.left_queue
    assert active().reposition(1, T0) is None


def test_read_and_delivery_cursors_only_move_forward_and_never_past_the_end() -> None:
    conv = active()
    with pytest.raises(InvalidInput):
        conv.mark_read_by_visitor(conv.last_seq + 1)
    read = conv.mark_read_by_visitor(2)
    assert read is not None
    assert read.conversation.visitor_read_seq == 2
    assert read.events == ()
    assert read.conversation.mark_read_by_visitor(1) is None
    delivered = conv.mark_delivered_to_agent(conv.last_pos + 10)
    assert delivered is not None
    assert delivered.conversation.agent_delivered_pos == conv.last_pos
    assert delivered.conversation.mark_delivered_to_agent(1) is None


def test_context_is_merged_without_events() -> None:
    change = queued().with_context(VisitorContext(page_title="Cart", custom={"plan": "pro"}))
    ctx = change.conversation.context
    assert (ctx.page_url, ctx.page_title, dict(ctx.custom)) == (
        "https://shop.example/",
        "Cart",
        {"plan": "pro"},
    )
    assert change.events == ()
