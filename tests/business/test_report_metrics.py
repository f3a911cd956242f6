"""A conversation's report: the metrics read off its events, and the row the end writes
in its own transaction (on the fakes, with a clock moved by hand)."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from datetime import timedelta

import pytest

from business import commands as c
from business.conversation import ChangeBuilder, Conversation
from business.events import DomainEvent, StateChanged, StoredEvent, WrapUpRecorded
from business.model import (
    DEFAULT_QUEUE,
    DEFAULT_TENANT,
    AgentId,
    ConversationId,
    ConversationState,
    OfferKind,
    ParticipantKind,
    QueueName,
    TenantId,
    VisitorId,
)
from business.ports import UnitOfWork
from business.report_metrics import (
    REPORT_FIELDS,
    ConversationMetrics,
    ConversationOutcome,
    conversation_metrics,
    metrics_record,
)
from business.transactions import Transactions
from tests.fakes import FakeClock
from tests.harness import ALICE, BOB, World

T0 = FakeClock().current


def report(engine: World, conv: Conversation | ConversationId) -> ConversationMetrics | None:
    cid = conv if isinstance(conv, str) else conv.id
    return engine.fakes.reports.get(ConversationId(cid))


async def codes(engine: World, *names: str) -> None:
    await engine.services.queue_settings.configure(
        c.ConfigureQueue(tenant_id=DEFAULT_TENANT, queue=DEFAULT_QUEUE, wrap_up_codes=names)
    )


async def agent_ends(
    engine: World, agent_id: AgentId, conv: Conversation, wrap_up: str = ""
) -> None:
    await engine.conversations.end_by_agent(
        c.EndConversationByAgent(agent_id=agent_id, conversation_id=conv.id, wrap_up=wrap_up)
    )


async def visitor_ends(engine: World, conv: Conversation) -> None:
    await engine.conversations.end_by_visitor(
        c.EndConversationByVisitor(visitor_id=conv.visitor_id, conversation_id=conv.id)
    )


# -- through the services: the row the end writes ---------------------------------------


async def test_an_answered_chat_has_every_figure_and_its_wrap_up(engine: World) -> None:
    await codes(engine, "resolved")
    await engine.agent(ALICE, name="Alice", auto_accept=False)
    visitor = await engine.visitor()
    conv = await engine.start(visitor, "hello?")  # at T0, offered to Alice at once
    engine.advance(12)
    await engine.services.offers.accept(c.AcceptOffer(agent_id=ALICE, conversation_id=conv.id))
    engine.advance(3)
    await engine.agent_says(ALICE, conv.id, "Hi, Alice here")
    await engine.visitor_says(visitor, conv.id, "my grinder is loud")  # +1 s each
    await engine.visitor_says(visitor, conv.id, "since Monday")
    await engine.agent_says(ALICE, conv.id, "Let me check")
    assert report(engine, conv) is None  # nothing until the end
    engine.advance(40)

    await agent_ends(engine, ALICE, conv, "resolved sent a new burr")

    assert report(engine, conv) == ConversationMetrics(
        conversation_id=conv.id,
        tenant_id=DEFAULT_TENANT,
        queue=DEFAULT_QUEUE,
        visitor_id=visitor,
        agent_id=ALICE,
        agent_name="Alice",
        created_at=T0,
        assigned_at=T0 + timedelta(seconds=12),
        ended_at=T0 + timedelta(seconds=57),
        ended_by=ParticipantKind.AGENT,
        wait_seconds=12.0,
        first_response_seconds=3.0,
        handle_seconds=45.0,
        messages_visitor=3,
        messages_agent=2,
        transfers=0,
        bot_handled=False,
        wrap_up="resolved",
        outcome=ConversationOutcome.ANSWERED,
    )


async def test_a_visitor_who_gives_up_in_the_queue_abandoned_it(engine: World) -> None:
    conv = await engine.start(await engine.visitor(), "anyone?")
    engine.advance(30)
    await visitor_ends(engine, conv)
    found = report(engine, conv)
    assert found is not None
    assert found.outcome is ConversationOutcome.ABANDONED_IN_QUEUE
    assert found.ended_by is ParticipantKind.VISITOR
    assert (found.agent_id, found.assigned_at) == (None, None)
    assert (found.wait_seconds, found.first_response_seconds, found.handle_seconds) == (
        None,
        None,
        None,
    )
    assert (found.messages_visitor, found.messages_agent) == (1, 0)
    assert found.ended_at - found.created_at == timedelta(seconds=30)


async def test_taken_but_left_by_the_visitor_before_an_answer(engine: World) -> None:
    await engine.agent(ALICE, name="Alice")  # takes it at once
    conv = await engine.start(await engine.visitor(), "hi")
    engine.advance(8)
    await visitor_ends(engine, conv)
    found = report(engine, conv)
    assert found is not None
    assert found.outcome is ConversationOutcome.VISITOR_LEFT
    assert (found.wait_seconds, found.first_response_seconds, found.handle_seconds) == (
        0.0,
        None,
        8.0,
    )


async def test_taken_and_closed_without_a_word_is_closed_unanswered(engine: World) -> None:
    await engine.agent(ALICE, name="Alice")
    conv = await engine.start(await engine.visitor(), "buy cheap watches")
    await agent_ends(engine, ALICE, conv, "spam")
    found = report(engine, conv)
    assert found is not None
    assert found.outcome is ConversationOutcome.CLOSED_UNANSWERED
    assert found.ended_by is ParticipantKind.AGENT
    assert found.wrap_up is None  # not one of the queue's codes: only a note


async def test_after_a_transfer_the_report_names_the_last_owner(engine: World) -> None:
    await engine.agent(ALICE, name="Alice", max_chats=5)
    await engine.agent(BOB, name="Bob", max_chats=5, auto_accept=False)
    visitor = await engine.visitor()
    conv = await engine.start(visitor, "refund please")
    engine.advance(2)
    await engine.agent_says(ALICE, conv.id, "one moment, billing will help")
    await engine.services.participants.offer(
        c.OfferToColleague(
            agent_id=ALICE, conversation_id=conv.id, kind=OfferKind.TRANSFER, target=BOB
        )
    )
    engine.advance(5)
    await engine.services.offers.accept(c.AcceptOffer(agent_id=BOB, conversation_id=conv.id))
    await engine.agent_says(BOB, conv.id, "Bob from billing")
    engine.advance(10)
    await visitor_ends(engine, conv)

    found = report(engine, conv)
    assert found is not None
    assert (found.agent_id, found.agent_name, found.transfers) == (BOB, "Bob", 1)
    # Assigned when Alice took it; answered by her; handled until the end.
    assert (found.wait_seconds, found.first_response_seconds, found.handle_seconds) == (
        0.0,
        2.0,
        17.0,
    )
    assert (found.messages_agent, found.outcome) == (2, ConversationOutcome.ANSWERED)


async def test_a_wrap_up_recorded_after_the_end_updates_the_report(engine: World) -> None:
    await codes(engine, "resolved", "callback")
    await engine.agent(ALICE, name="Alice")
    conv = await engine.start(await engine.visitor(), "hi")
    await engine.agent_says(ALICE, conv.id, "hello")
    await visitor_ends(engine, conv)
    assert (found := report(engine, conv)) is not None
    assert found.wrap_up is None
    engine.advance(60)

    # However the desk comes to record it, it is a wrap_up event on the ended chat.
    ended = engine.conv(conv.id)
    builder = ChangeBuilder(ended)
    at = engine.clock.now()
    builder.add_hidden(
        lambda pos: WrapUpRecorded(
            conversation_id=conv.id,
            pos=pos,
            created_at=at,
            by=ended.agent,
            code="callback",
            note=None,
        )
    )
    async with Transactions(engine.uow, engine.publisher)() as tx:
        await tx.apply(builder.done())
        await tx.commit()

    assert report(engine, conv) == dataclasses.replace(found, wrap_up="callback")


class _FailingStager:
    async def stage(
        self, uow: UnitOfWork, conversation: Conversation, events: Sequence[DomainEvent]
    ) -> None:
        if not conversation.is_open:
            raise RuntimeError("the disk is full")


async def test_an_end_rolled_back_leaves_no_report_and_a_report_needs_an_end(
    engine: World,
) -> None:
    await engine.agent(ALICE, name="Alice")
    conv = await engine.start(await engine.visitor(), "hi")
    await engine.agent_says(ALICE, conv.id, "hello")
    assert engine.fakes.reports == {}  # messages and assignment write none

    engine.publisher.add_stager(_FailingStager())
    with pytest.raises(RuntimeError):
        await visitor_ends(engine, conv)
    assert engine.conv(conv.id).is_open
    assert engine.fakes.reports == {}


# -- the function itself --------------------------------------------------------------


def _events(engine: World, conv: Conversation) -> list[StoredEvent]:
    return engine.stored(conv.id)


async def test_the_metrics_do_not_depend_on_the_order_events_come_in(engine: World) -> None:
    await engine.agent(ALICE, name="Alice")
    conv = await engine.start(await engine.visitor(), "hi")
    await engine.agent_says(ALICE, conv.id, "hello")
    engine.advance(5)
    await visitor_ends(engine, conv)
    ended = engine.conv(conv.id)
    events = _events(engine, conv)

    assert conversation_metrics(ended, reversed(events)) == report(engine, conv)


async def test_an_open_conversation_has_no_metrics(engine: World) -> None:
    conv = await engine.start(await engine.visitor(), "hi")
    with pytest.raises(ValueError, match="has not ended"):
        conversation_metrics(conv, _events(engine, conv))


async def test_the_record_is_plain_values_in_field_order(engine: World) -> None:
    conv = await engine.start(await engine.visitor(), "hi")
    engine.advance(1.5)
    await visitor_ends(engine, conv)
    found = report(engine, conv)
    assert found is not None

    record = metrics_record(found)

    assert tuple(record) == REPORT_FIELDS
    assert record["created_at"] == "2026-01-01T12:00:00+00:00"
    assert record["ended_at"] == "2026-01-01T12:00:01.500000+00:00"
    assert record["outcome"] == "abandoned_in_queue"
    assert record["ended_by"] == "visitor"
    assert record["bot_handled"] is False
    assert record["wait_seconds"] is None


def test_who_ended_it_is_unknown_without_their_leave() -> None:
    # A future end by the engine itself of a chat nobody took: no leave is stored.
    conv = Conversation(
        id=ConversationId("c-1"),
        tenant_id=TenantId("t"),
        visitor_id=VisitorId("v"),
        visitor_name="Visitor",
        queue=QueueName("support"),
        state=ConversationState.ENDED,
        created_at=T0,
    )
    events: list[StoredEvent] = [
        StateChanged(
            conversation_id=conv.id, seq=1, pos=1, created_at=T0, state=ConversationState.QUEUED
        ),
        StateChanged(
            conversation_id=conv.id,
            seq=2,
            pos=2,
            created_at=T0 + timedelta(seconds=600),
            state=ConversationState.ENDED,
        ),
    ]
    found = conversation_metrics(conv, events)
    assert found.ended_by is None
    assert found.outcome is ConversationOutcome.CLOSED_IN_QUEUE
