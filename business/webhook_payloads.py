"""Domain events to webhook events: their type and JSON body.

Every body is ``{"type", "timestamp", "data"}`` (the Standard Webhooks payload shape);
``data`` always has ``tenant_id``, ``conversation_id``, ``queue`` and where the visitor
writes from (``channel``, and for the API channel ``provider`` and ``external_id``: what
an integrator's bridge needs to forward an agent's message), and each type adds its own
fields (``docs/integrator-guide.md``, Webhooks).

What goes out follows what the visitor sees, plus the notes a subscription asks for by
name: ``message.created`` and ``participant.*`` carry exactly the messages, joins and
leaves of the visitor's stream (with the ids the integrator's other calls use), never a
consultant's desk message, a whisper, a silent monitor or an offer. Text written only
for agents is sent in one place, ``note.created``, which a subscription must name
(``business.webhook_model.INTERNAL_EVENT_TYPES``); the note an agent gives with a
transfer and the note of a wrap-up stay inside (the transfer and the wrap-up code go
out without them).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TypeAlias, assert_never

from business.conversation import Conversation
from business.events import (
    ChatReturned,
    DeskMessage,
    IdleNoticed,
    MemberJoined,
    MemberLeft,
    MessagePosted,
    MessageUpdated,
    NoteAdded,
    OfferClosed,
    OfferMade,
    ParticipantJoined,
    ParticipantLeft,
    ReadMarked,
    StateChanged,
    StoredEvent,
    Transferred,
    VisitorIdentified,
    Whispered,
    WrapUpRecorded,
)
from business.file_links import AttachmentUrl
from business.model import ConversationState, Participant
from business.report_metrics import ConversationMetrics, metrics_record
from business.rich import reply_to_json, rich_to_json
from business.threads import IDENTITY_INITIATED
from business.webhook_model import WebhookEventType

Json: TypeAlias = "str | int | float | bool | list[Json] | dict[str, Json] | None"
JsonObject: TypeAlias = "dict[str, Json]"


@dataclass(frozen=True, slots=True, kw_only=True)
class WebhookEvent:
    """One webhook event made from a stored event."""

    type: WebhookEventType
    pos: int
    part: int
    """Its place among the webhook events of that stored event (0, 1, ...)."""
    created_at: datetime
    """The stored event's."""
    body: str


def iso_utc(moment: datetime) -> str:
    """ISO-8601 in UTC with a ``Z``, millisecond precision (as the visitor protocol)."""
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def participant_data(participant: Participant) -> JsonObject:
    """Kind, name and id (the visitor's or agent's id: the integrator's to know)."""
    return {"kind": participant.kind.value, "name": participant.name, "id": participant.id}


def envelope(event_type: WebhookEventType, timestamp: datetime, data: JsonObject) -> str:
    """The body as sent: compact JSON, UTF-8 text as is."""
    document: JsonObject = {"type": event_type.value, "timestamp": iso_utc(timestamp), "data": data}
    return json.dumps(document, ensure_ascii=False, separators=(",", ":"))


def webhook_events(
    conversation: Conversation,
    events: Sequence[StoredEvent],
    *,
    attachment_url: AttachmentUrl,
    metrics: ConversationMetrics | None = None,
) -> list[WebhookEvent]:
    """The webhook events of one change's ``events`` (``conversation`` as it is after
    them), in order; ``metrics``: the conversation's, when the change ends it. A
    message's attachments are as ``attachment_url`` makes them (``FileLinks.lasting``:
    signed URLs to the engine's files, valid for ``files.agent_url_seconds``)."""
    made: list[WebhookEvent] = []
    for event in events:
        mapped = _mapped(conversation, event, events, metrics, attachment_url)
        for part, (event_type, data) in enumerate(mapped):
            common: JsonObject = {
                "tenant_id": conversation.tenant_id,
                "conversation_id": conversation.id,
                "queue": conversation.queue,
                "channel": conversation.channel.value,
                "provider": conversation.provider,
                "external_id": conversation.external_id,
            }
            flag = conversation.context.custom.get(IDENTITY_INITIATED)
            if flag is not None:  # a messaging thread: who started it
                common[IDENTITY_INITIATED] = flag == "true"
            body = envelope(event_type, event.created_at, common | data)
            made.append(
                WebhookEvent(
                    type=event_type,
                    pos=event.pos,
                    part=part,
                    created_at=event.created_at,
                    body=body,
                )
            )
    return made


def _mapped(
    conversation: Conversation,
    event: StoredEvent,
    change: Sequence[StoredEvent],
    metrics: ConversationMetrics | None,
    attachment_url: AttachmentUrl,
) -> list[tuple[WebhookEventType, JsonObject]]:
    match event:
        case MessagePosted():
            return [(WebhookEventType.MESSAGE_CREATED, _message(event, attachment_url))]
        case MessageUpdated():
            data: JsonObject = {
                "seq": event.seq,
                "id": event.id,
                "replaces": event.replaces,
                "created_at": iso_utc(event.created_at),
                "from": participant_data(event.sender),
                "text": event.text,
            }
            return [(WebhookEventType.MESSAGE_UPDATED, data)]
        case ParticipantJoined() | ParticipantLeft():
            kind = (
                WebhookEventType.PARTICIPANT_JOINED
                if isinstance(event, ParticipantJoined)
                else WebhookEventType.PARTICIPANT_LEFT
            )
            data = {
                "seq": event.seq,
                "created_at": iso_utc(event.created_at),
                "participant": participant_data(event.participant),
                "role": event.role,
            }
            return [(kind, data)]
        case StateChanged():
            data = {
                "seq": event.seq,
                "created_at": iso_utc(event.created_at),
                "state": event.state.value,
                "queue_position": event.queue_position,
            }
            if event.locked is not None:
                data["locked"] = event.locked
            if event.reason is not None:
                data["reason"] = event.reason
            mapped = [(WebhookEventType.STATE_CHANGED, data)]
            if event.state is ConversationState.ENDED:
                ended = conversation_ended_data(conversation, change, metrics)
                mapped.append((WebhookEventType.ENDED, ended))
            return mapped
        case NoteAdded():
            data = {
                "id": event.id,
                "created_at": iso_utc(event.created_at),
                "by": participant_data(event.by),
                "text": event.text,
            }
            return [(WebhookEventType.NOTE_CREATED, data)]
        case Transferred():
            data = {
                "created_at": iso_utc(event.created_at),
                "by": participant_data(event.by),
                "to": None if event.to is None else participant_data(event.to),
                "to_queue": event.queue,
            }
            return [(WebhookEventType.TRANSFERRED, data)]
        case VisitorIdentified(visitor=who, changes=changes):
            updated: JsonObject = {"visitor": participant_data(who), "changes": dict(changes)}
            return [(WebhookEventType.VISITOR_UPDATED, updated)]
        case (
            ReadMarked()
            | OfferMade()
            | OfferClosed()
            | WrapUpRecorded()
            | MemberJoined()
            | MemberLeft()
            | DeskMessage()
            | ChatReturned()
            | Whispered()
            | IdleNoticed()
        ):
            # The desk's own business (offers, consultants, monitors, whispers), or
            # carried by another event (a wrap-up's code in conversation.ended).
            return []
        case _:
            assert_never(event)


def _message(event: MessagePosted, attachment_url: AttachmentUrl) -> JsonObject:
    return {
        "seq": event.seq,
        "id": event.id,
        "created_at": iso_utc(event.created_at),
        "from": participant_data(event.sender),
        "text": event.text,
        "attachments": [attachment_url(a) for a in event.attachments],
        # A bot's buttons, as the visitor sees them (empty for everybody else).
        "quick_replies": [{"id": r.id, "label": r.label} for r in event.quick_replies],
        # Rich content (``business.rich``) and a visitor's answer to it, when there are.
        **({} if event.rich is None else {"rich": rich_to_json(event.rich)}),
        **({} if event.reply_to is None else {"reply_to": reply_to_json(event.reply_to)}),
    }


def conversation_ended_data(
    conversation: Conversation,
    change: Sequence[StoredEvent],
    metrics: ConversationMetrics | None = None,
) -> JsonObject:
    """The ``data`` of ``conversation.ended`` (besides tenant, conversation and queue),
    from the conversation as it ended and the events of the change that ended it, and
    its ``metrics`` (the conversation report's row, ``business.report_metrics``) under
    ``metrics``: the one place that says what an ended conversation reports.
    """
    wrap_up = next((e for e in change if isinstance(e, WrapUpRecorded)), None)
    left = next((e for e in change if isinstance(e, ParticipantLeft)), None)
    ended = next((e for e in change if isinstance(e, StateChanged) and e.by is not None), None)
    ended_by = (
        ended.by
        if ended is not None
        else left.participant
        if left is not None
        else (wrap_up.by if wrap_up else None)
    )
    agent: Json = None
    if conversation.agent_id is not None:
        agent = {"id": conversation.agent_id, "name": conversation.agent_name}
    return {
        "visitor": {"id": conversation.visitor_id, "name": conversation.visitor_name},
        "agent": agent,
        "created_at": iso_utc(conversation.created_at),
        "assigned_at": _iso_or_none(conversation.assigned_at),
        "ended_at": _iso_or_none(conversation.ended_at),
        "ended_by": None if ended_by is None else participant_data(ended_by),
        "last_seq": conversation.last_seq,
        # The code only: a wrap-up note is the agent's words for the desk.
        "wrap_up_code": None if wrap_up is None else wrap_up.code,
        # Why the engine ended it itself (``inactivity``); None when somebody did.
        "reason": None if ended is None else ended.reason,
        "metrics": None if metrics is None else dict(metrics_record(metrics)),
    }


def _iso_or_none(moment: datetime | None) -> str | None:
    return None if moment is None else iso_utc(moment)
