"""Business values to the JSON the visitor protocol sends (PROTOCOL.md, "Server → client").

Only names and kinds of participants go out: agent JIDs and visitor ids stay inside
(``Participant.id`` is never serialised).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import assert_never

from business.conversation import Conversation
from business.events import (
    ConversationEvent,
    MessagePosted,
    MessageUpdated,
    ParticipantJoined,
    ParticipantLeft,
    ReadMarked,
    StateChanged,
    TypingChanged,
    event_type,
)
from business.model import Participant, ParticipantKind
from business.rich import rich_to_json
from business.threads import ThreadSummary

Json = dict[str, object]

CONVERSATION_MODE = "chat"
"""A live chat."""
MESSAGING_MODE = "messaging"
"""A thread of a messaging queue (``business.threads``)."""


def iso_utc(moment: datetime) -> str:
    """ISO-8601 in UTC with a ``Z``, millisecond precision, as JavaScript's Date prints."""
    if moment.tzinfo is UTC:  # what the engine stores and reads: no conversion needed
        return moment.isoformat(timespec="milliseconds")[:-6] + "Z"  # "+00:00" off
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def participant_to_wire(participant: Participant) -> Json:
    return {"kind": participant.kind.value, "name": participant.name}


def as_is(attachment: str) -> str:
    return attachment


def event_to_wire(event: ConversationEvent, attachment_url: Callable[[str], str] = as_is) -> Json:
    """``attachment_url`` turns a stored attachment into what the visitor may fetch
    (``business.file_links.FileLinks.for_visitor``: a fresh signed URL each time)."""
    wire: Json = {
        "conversation_id": event.conversation_id,
        "seq": event.seq,
        "type": event_type(event),
        "created_at": iso_utc(event.created_at),
    }
    match event:
        case MessagePosted():
            wire["id"] = event.id
            # An agent's client_msg_id is their XMPP stanza id: meaningless to the
            # visitor, so only the visitor's own ids go back (to match pending sends).
            if event.client_msg_id is not None and event.sender.kind is ParticipantKind.VISITOR:
                wire["client_msg_id"] = event.client_msg_id
            wire["from"] = participant_to_wire(event.sender)
            wire["text"] = event.text
            wire["attachments"] = [attachment_url(a) for a in event.attachments]
            if event.quick_replies:
                # A bot's buttons; a client that does not know them shows the text alone.
                wire["quick_replies"] = [
                    {"id": reply.id, "label": reply.label} for reply in event.quick_replies
                ]
            if event.rich is not None:
                wire["rich"] = rich_to_json(event.rich)
            if event.reply_to is not None:
                wire["reply_to"] = {
                    "seq": event.reply_to.seq,
                    "payloads": list(event.reply_to.payloads),
                }
        case ParticipantJoined() | ParticipantLeft():
            wire["participant"] = participant_to_wire(event.participant)
        case StateChanged():
            wire["state"] = event.state.value
            if event.queue_position is not None:
                wire["queue_position"] = event.queue_position
            if event.locked is not None:
                wire["locked"] = event.locked
            if event.reason is not None:
                wire["reason"] = event.reason  # an end the engine decided: inactivity
        case ReadMarked():
            wire["by"] = participant_to_wire(event.by)
            # PROTOCOL.md names this field "seq", which the envelope already uses for the
            # event's own seq; "up_to_seq" is the only way to carry both.
            wire["up_to_seq"] = event.up_to_seq
        case MessageUpdated():
            # The corrected text replaces that of message ``replaces`` (its ``id``).
            wire["id"] = event.id
            wire["replaces"] = event.replaces
            wire["from"] = participant_to_wire(event.sender)
            wire["text"] = event.text
        case _:
            assert_never(event)
    return wire


def typing_to_wire(event: TypingChanged) -> Json:
    return {
        "conversation_id": event.conversation_id,
        "from": participant_to_wire(event.sender),
        "state": "composing" if event.composing else "paused",
    }


def conversation_to_wire(conversation: Conversation) -> Json:
    return {
        "id": conversation.id,
        "state": conversation.state.value,
        "last_seq": conversation.last_seq,
    }


def message_ack_to_wire(message: MessagePosted) -> Json:
    # The text as stored (PII masked, ``business.redaction_policy``): what the visitor's
    # echo must show, even when the message's broadcast never reached this tab.
    return {
        "id": message.id,
        "seq": message.seq,
        "created_at": iso_utc(message.created_at),
        "text": message.text,
    }


def thread_to_wire(thread: ThreadSummary) -> Json:
    """One line of ``threads.list``."""
    return {
        "id": thread.id,
        "queue": thread.queue,
        "state": thread.state.value,
        "locked": thread.locked,
        "created_at": iso_utc(thread.created_at),
        "last_seq": thread.last_seq,
        "unread": thread.unread,
        "preview": thread.preview,
        "last_at": None if thread.last_at is None else iso_utc(thread.last_at),
    }
