"""``message.updated`` and ``read`` on the wire (docs/visitor-protocol.md): an agent's
correction and an agent's read reach the visitor live and on sync; the visitor's own
read goes to the agent desk, never back to the visitor's tabs."""

from __future__ import annotations

from datetime import UTC, datetime

from business import commands as c
from business.conversation import Conversation
from business.events import MessageUpdated, VisitorRead
from business.model import (
    ConversationId,
    ConversationState,
    EventId,
    Participant,
    ParticipantKind,
    QueueName,
    TenantId,
    VisitorId,
)
from presentation import SocketIoVisitorNotifier
from presentation.wire import event_to_wire
from tests.harness import World
from tests.presentation.conftest import ready_agent
from tests.presentation.test_notifier import RecordingServer
from tests.visitor_client import Visitor

AT = datetime(2026, 3, 1, 9, 30, 15, 123456, tzinfo=UTC)
ALICE = Participant(kind=ParticipantKind.AGENT, name="Alice", id="alice@agents.example")


def test_message_updated_names_the_message_it_replaces_and_hides_the_jid() -> None:
    event = MessageUpdated(
        conversation_id=ConversationId("c1"), seq=9, pos=11, created_at=AT,
        id=EventId("e9"), replaces=EventId("e4"), sender=ALICE, text="Tuesday",
    )  # fmt: skip

    assert event_to_wire(event) == {
        "conversation_id": "c1",
        "seq": 9,
        "type": "message.updated",
        "created_at": "2026-03-01T09:30:15.123Z",
        "id": "e9",
        "replaces": "e4",
        "from": {"kind": "agent", "name": "Alice"},
        "text": "Tuesday",
    }


async def test_the_visitors_own_read_is_not_sent_back_to_their_tabs() -> None:
    sio = RecordingServer()
    conversation = Conversation(
        id=ConversationId("c1"),
        tenant_id=TenantId("default"),
        visitor_id=VisitorId("v1"),
        visitor_name="Ada",
        queue=QueueName("support"),
        state=ConversationState.ACTIVE,
        created_at=AT,
    )

    await SocketIoVisitorNotifier(sio).notify(
        conversation, [VisitorRead(conversation_id=conversation.id, up_to_seq=3)]
    )

    assert sio.emitted == []


async def test_a_correction_and_a_read_reach_the_visitor_live_and_on_sync(
    visitor: Visitor, world: World
) -> None:
    conversation_id = await visitor.start("Is it Monday?")
    agent = await ready_agent(world)
    cid = ConversationId(conversation_id)
    original = await world.agent_says(agent, cid, "See you Monday", "xmpp:s1")
    await visitor.drain()

    await world.services.corrections.correct_agent_message(
        c.CorrectAgentMessage(
            agent_id=agent, conversation_id=cid, replaces="xmpp:s1", text="Tuesday"
        )
    )
    await world.services.read_markers.mark_read_by_agent(
        c.MarkAgentRead(agent_id=agent, conversation_id=cid, up_to_seq=1)
    )

    updated = await visitor.next_event()
    assert updated["type"] == "message.updated"
    assert updated["replaces"] == original.id
    assert updated["text"] == "Tuesday"
    assert updated["from"] == {"kind": "agent", "name": "Alice"}
    read = await visitor.next_event()
    assert (read["type"], read["up_to_seq"], read["by"]) == (
        "read",
        1,
        {"kind": "agent", "name": "Alice"},
    )
    synced = await visitor.ok("sync", {"conversation_id": conversation_id, "after_seq": 0})
    assert [e["type"] for e in synced["events"][-2:]] == ["message.updated", "read"]
