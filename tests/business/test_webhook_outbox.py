"""The webhook outbox (``business.webhook_outbox``): which events become deliveries for
which subscription, what their bodies say and what they never say, and that they are
stored exactly when the events are."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Sequence
from typing import Any

import pytest

from business import commands as c
from business.conversation import Conversation
from business.errors import InvalidTransition
from business.model import DEFAULT_QUEUE, DEFAULT_TENANT, AgentId, AgentRole, OfferKind
from business.webhook_commands import Redeliver
from business.webhook_model import DeliveryStatus, WebhookDelivery
from tests.business.support import nothing_stored
from tests.business.webhook_support import OTHER, Hooks, make_hooks
from tests.fakes_webhooks import FakeWebhookDeliveries
from tests.harness import ALICE, BOB, SALES, assert_published_once, assert_store_consistent

SAM = AgentId("sam")


@pytest.fixture
async def hooks() -> AsyncIterator[Hooks]:
    hooks = await make_hooks()
    yield hooks
    assert_store_consistent(hooks.world.fakes)
    assert_published_once(hooks.world)


def body(delivery: WebhookDelivery) -> dict[str, Any]:
    document = json.loads(delivery.body)
    assert isinstance(document, dict)
    return document


def of(deliveries: Sequence[WebhookDelivery], event_type: str) -> list[dict[str, Any]]:
    return [body(d)["data"] for d in deliveries if d.event_type.value == event_type]


async def chat(hooks: Hooks, text: str = "hello") -> Conversation:
    world = hooks.world
    if ALICE not in world.fakes.agents:
        await world.agent(ALICE, name="Alice", max_chats=10)
    conv = await world.start(await world.visitor(), text=text)
    assert conv.agent_id == ALICE
    return conv


async def test_a_tenant_without_subscriptions_gets_no_deliveries(hooks: Hooks) -> None:
    await hooks.subscribe(tenant_id=OTHER)
    conv = await chat(hooks)
    await hooks.world.agent_says(ALICE, conv.id, "hi, how can I help?")
    assert hooks.deliveries() == []


async def test_a_chat_becomes_its_events_in_order_with_their_data(hooks: Hooks) -> None:
    sub = await hooks.subscribe()
    conv = await chat(hooks, "my order is late")
    await hooks.world.agent_says(ALICE, conv.id, "let me look")
    await hooks.world.conversations.end_by_visitor(
        c.EndConversationByVisitor(visitor_id=conv.visitor_id, conversation_id=conv.id)
    )

    deliveries = hooks.deliveries()
    assert hooks.types() == [
        "conversation.state_changed",  # queued
        "message.created",
        "participant.joined",
        "conversation.state_changed",  # active
        "message.created",
        "participant.left",
        "conversation.state_changed",  # ended
        "conversation.ended",
    ]
    assert {d.subscription_id for d in deliveries} == {sub.id}
    assert all(d.status is DeliveryStatus.PENDING for d in deliveries)
    assert all(d.next_attempt_at == d.created_at == d.queued_at for d in deliveries)
    assert len({d.id for d in deliveries}) == len(deliveries)
    assert all(d.id.startswith("msg_") for d in deliveries)
    # One change (the end) makes state_changed and ended from one event, in that order.
    last = deliveries[-1].pos
    assert [(d.pos, d.part) for d in deliveries[-2:]] == [(last, 0), (last, 1)]

    first = body(deliveries[1])
    assert first["type"] == "message.created"
    assert first["timestamp"].endswith("Z")
    visitor_message, agent_message = of(deliveries, "message.created")
    assert visitor_message["tenant_id"] == DEFAULT_TENANT
    assert visitor_message["conversation_id"] == conv.id
    assert visitor_message["queue"] == DEFAULT_QUEUE
    assert visitor_message["seq"] == 2
    assert visitor_message["text"] == "my order is late"
    assert visitor_message["from"] == {
        "kind": "visitor",
        "name": conv.visitor_name,
        "id": conv.visitor_id,
    }
    assert agent_message["from"] == {"kind": "agent", "name": "Alice", "id": ALICE}
    assert agent_message["quick_replies"] == []
    joined = of(deliveries, "participant.joined")[0]
    assert joined["participant"]["id"] == ALICE
    assert joined["role"] == "owner"
    states = [d["state"] for d in of(deliveries, "conversation.state_changed")]
    assert states == ["queued", "active", "ended"]
    (ended,) = of(deliveries, "conversation.ended")
    assert ended["agent"] == {"id": ALICE, "name": "Alice"}
    assert ended["ended_by"]["kind"] == "visitor"
    assert ended["ended_at"] is not None
    assert ended["last_seq"] == 7
    assert ended["wrap_up_code"] is None
    # The conversation's report row, as the reports give it.
    metrics = ended["metrics"]
    assert metrics["conversation_id"] == conv.id
    assert (metrics["messages_visitor"], metrics["messages_agent"]) == (1, 1)
    assert metrics["outcome"] == "answered"
    assert metrics["ended_by"] == "visitor"
    assert metrics["wait_seconds"] == 0


async def test_event_types_choose_what_a_subscription_gets(hooks: Hooks) -> None:
    ended_only = await hooks.subscribe("conversation.ended")
    messages = await hooks.subscribe("message.created")
    await hooks.subscribe(enabled=False)
    conv = await chat(hooks)
    await hooks.world.agent_says(ALICE, conv.id, "hi")
    await hooks.world.conversations.end_by_agent(
        c.EndConversationByAgent(agent_id=ALICE, conversation_id=conv.id)
    )
    by_sub = {
        sub: hooks.types([d for d in hooks.deliveries() if d.subscription_id == sub])
        for sub in {d.subscription_id for d in hooks.deliveries()}
    }
    assert by_sub == {
        ended_only.id: ["conversation.ended"],
        messages.id: ["message.created", "message.created"],
    }
    # The same event to two subscriptions: two deliveries with the same body.
    everything = await hooks.subscribe()
    more = await chat(hooks)
    await hooks.world.agent_says(ALICE, more.id, "again")
    said = [d for d in hooks.deliveries() if d.conversation_id == more.id]
    bodies = {d.body for d in said if d.event_type.value == "message.created"}
    assert len(bodies) == 2  # the visitor's and Alice's message, each sent twice
    assert {d.subscription_id for d in said} == {messages.id, everything.id}


async def test_notes_go_only_where_asked_for_and_desk_talk_nowhere(hooks: Hooks) -> None:
    world = hooks.world
    everything = await hooks.subscribe()
    notes = await hooks.subscribe("note.created", "conversation.transferred")
    await world.services.queue_settings.configure(
        c.ConfigureQueue(tenant_id=DEFAULT_TENANT, queue=DEFAULT_QUEUE, wrap_up_codes=("solved",))
    )
    await world.agents.add_agent(
        c.AddAgent(
            address="sam@example.com",
            agent_id=SAM,
            queues=(SALES,),
            max_chats=1,
            tenant_id=DEFAULT_TENANT,
            name="Sam",
            role=AgentRole.SUPERVISOR,
            supervises=(DEFAULT_QUEUE,),
        )
    )
    conv = await chat(hooks)
    await world.agent(BOB, name="Bob", max_chats=2, auto_accept=False)
    await world.services.notes.add_note(
        c.AddNote(agent_id=ALICE, conversation_id=conv.id, text="SECRET-NOTE vip customer")
    )
    await world.services.supervision.monitor(c.Monitor(supervisor_id=SAM, target=conv.id))
    await world.services.supervision.whisper(
        c.Whisper(supervisor_id=SAM, conversation_id=conv.id, text="SECRET-WHISPER")
    )
    await world.services.participants.offer(
        c.OfferToColleague(
            agent_id=ALICE, conversation_id=conv.id, kind=OfferKind.CONSULT, target=BOB
        )
    )
    await world.agent_writes(BOB, conv.id, "SECRET-CONSULT known bug")
    await world.services.participants.leave(
        c.LeaveConversation(agent_id=BOB, conversation_id=conv.id)
    )
    await world.services.participants.offer(
        c.OfferToColleague(
            agent_id=ALICE,
            conversation_id=conv.id,
            kind=OfferKind.TRANSFER,
            target=BOB,
            note="SECRET-TRANSFER-NOTE",
        )
    )
    await world.services.offers.accept(c.AcceptOffer(agent_id=BOB, conversation_id=conv.id))
    await world.conversations.end_by_agent(
        c.EndConversationByAgent(
            agent_id=BOB, conversation_id=conv.id, wrap_up="solved SECRET-WRAP-UP-NOTE"
        )
    )

    deliveries = hooks.deliveries()
    to_everything = [d for d in deliveries if d.subscription_id == everything.id]
    to_notes = [d for d in deliveries if d.subscription_id == notes.id]
    assert hooks.types(to_notes) == ["note.created", "conversation.transferred"]
    (note,) = of(to_notes, "note.created")
    assert note["text"] == "SECRET-NOTE vip customer"
    assert note["by"]["id"] == ALICE
    (transfer,) = of(to_notes, "conversation.transferred")
    assert transfer["by"]["id"] == ALICE
    assert transfer["to"]["id"] == BOB
    assert "note" not in transfer
    assert "note.created" not in hooks.types(to_everything)
    # The visitor's view: Alice leaves, Bob joins; the consultant and the monitor never
    # appear, and no desk text leaves the engine, in any delivery.
    people = [
        (d["participant"]["id"], kind.split(".")[1])
        for kind in ("participant.joined", "participant.left")
        for d in of(to_everything, kind)
    ]
    assert sorted(people) == sorted(
        [(ALICE, "joined"), (ALICE, "left"), (BOB, "joined"), (BOB, "left")]
    )
    (ended,) = of(to_everything, "conversation.ended")
    assert ended["wrap_up_code"] == "solved"
    assert ended["agent"]["id"] == BOB
    assert ended["metrics"]["transfers"] == 1
    assert ended["metrics"]["wrap_up"] == "solved"
    for delivery in deliveries:
        for secret in ("SECRET-WHISPER", "SECRET-CONSULT", "SECRET-TRANSFER", "SECRET-WRAP-UP"):
            assert secret not in delivery.body
        assert SAM not in delivery.body
        if delivery.subscription_id == everything.id:
            assert "SECRET-NOTE" not in delivery.body


async def test_a_subscription_change_counts_from_the_next_event(hooks: Hooks) -> None:
    conv = await chat(hooks)
    assert hooks.deliveries() == []
    sub = await hooks.subscribe("message.created")
    await hooks.world.agent_says(ALICE, conv.id, "now you see me")
    assert [of([d], "message.created")[0]["text"] for d in hooks.deliveries()] == ["now you see me"]
    await hooks.world.services.webhooks.delete(DEFAULT_TENANT, sub.id)
    assert hooks.deliveries() == []
    await hooks.world.agent_says(ALICE, conv.id, "and now you do not")
    assert hooks.deliveries() == []


async def test_a_failing_outbox_write_stores_nothing_of_the_change(
    hooks: Hooks, monkeypatch: pytest.MonkeyPatch
) -> None:
    await hooks.subscribe()
    conv = await chat(hooks)
    count = len(hooks.deliveries())

    async def broken(self: object, deliveries: object) -> None:
        raise RuntimeError("the outbox is full")

    monkeypatch.setattr(FakeWebhookDeliveries, "add_many", broken)
    with nothing_stored(hooks.world), pytest.raises(RuntimeError, match="outbox is full"):
        await hooks.world.agent_says(ALICE, conv.id, "lost")
    monkeypatch.undo()
    await hooks.world.agent_says(ALICE, conv.id, "stored, and staged")
    assert len(hooks.deliveries()) == count + 1


async def test_the_outbox_tells_its_listeners_after_a_commit_that_staged(hooks: Hooks) -> None:
    woken: list[str] = []
    outbox = hooks.world.services.webhook_outbox
    outbox.on_committed(lambda: woken.append("wake"))
    hooks.world.publisher.subscribe(outbox)
    conv = await chat(hooks)
    assert woken == []  # nothing staged: no subscription
    await hooks.subscribe("message.created")
    await hooks.world.agent_says(ALICE, conv.id, "hi")
    assert woken == ["wake"]
    pending = hooks.deliveries()[0]
    with pytest.raises(InvalidTransition):
        await hooks.world.services.webhooks.redeliver(
            Redeliver(tenant_id=pending.tenant_id, delivery_id=pending.id)
        )
    assert woken == ["wake"]
