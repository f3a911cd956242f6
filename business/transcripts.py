"""A conversation's transcript: its events as lines (who, when, what) and as plain text.

A pure function of the conversation and its stored events, so the integrators' API, the
e-mail transcript and anything later render the same thing. The visitor's transcript
(the default) shows only what the visitor saw: messages (a corrected one with its last
text), who joined and left, and the end. Internal notes, consult messages, whispers,
transfers and wrap-ups are the agents' business and appear only with ``internal``, for
the agent desk and administrators. Offers, queue positions and read marks are never
lines: they are bookkeeping, not conversation.

The few words it writes are the constants below, ready for translation.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, tzinfo
from enum import StrEnum
from typing import assert_never

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
from business.model import ConversationId, ConversationState, ParticipantKind, QueueName
from business.rich_fallback import fallback_text

HEADER = "Conversation with {visitor} (queue {queue})"
STARTED = "Started {at}"
ENDED_AT = "ended {at}"
JOINED = "{name} joined the chat."
LEFT = "{name} left the chat."
CHAT_ENDED = "The chat ended."
EDITED = "(edited)"
NOTE = "Note by {name}: {text}"
CONSULT = "{name} (consult, agents only): {text}"
WHISPER = "{name} (whisper, agents only): {text}"
TRANSFERRED_TO_AGENT = "{by} transferred the chat to {to}."
TRANSFERRED_TO_QUEUE = "{by} handed the chat to queue {queue}."
WRAP_UP = "Wrap-up by {name}: {what}"
TIME_FORMAT = "%Y-%m-%d %H:%M:%S %Z"


class LineKind(StrEnum):
    MESSAGE = "message"
    JOINED = "joined"
    LEFT = "left"
    ENDED = "ended"
    # Only in an internal transcript:
    NOTE = "note"
    CONSULT = "consult"
    WHISPER = "whisper"
    TRANSFER = "transfer"
    WRAP_UP = "wrap_up"


@dataclass(frozen=True, slots=True, kw_only=True)
class TranscriptLine:
    at: datetime
    kind: LineKind
    sender_kind: ParticipantKind | None
    """Who it is about or from; None for the end."""
    sender_name: str | None
    text: str
    """What was said (a message's latest text), or for the other kinds the whole line
    as the plain text shows it."""
    attachments: tuple[str, ...] = ()
    edited: bool = False
    """A message its sender corrected afterwards: ``text`` is the correction."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Transcript:
    conversation_id: ConversationId
    visitor_name: str
    queue: QueueName
    started_at: datetime
    ended_at: datetime | None
    lines: tuple[TranscriptLine, ...]
    text: str
    """The lines as plain text under a two-line header, one line each: ``[time] Name:
    text`` for messages, ``[time] text`` for the others."""


def render_transcript(
    conversation: Conversation,
    events: Iterable[StoredEvent],
    *,
    attachment_url: AttachmentUrl,
    internal: bool = False,
    tz: tzinfo = UTC,
) -> Transcript:
    """``events`` (the conversation's, in ``pos`` order) as a transcript, times in
    ``tz``; with ``internal``, what only the agents saw too. Attachments are shown as
    ``attachment_url`` makes them (``business.file_links.FileLinks.lasting``: the
    engine's files as signed URLs, never their stored ``file:<id>``)."""
    lines: list[TranscriptLine] = []
    by_id: dict[str, int] = {}
    for event in events:
        if isinstance(event, MessageUpdated) and event.replaces in by_id:
            index = by_id[event.replaces]
            lines[index] = replace(lines[index], text=event.text, edited=True)
            continue
        line = _line(event, internal, attachment_url)
        if line is None:
            continue
        if isinstance(event, MessagePosted):
            by_id[event.id] = len(lines)
        lines.append(line)
    return Transcript(
        conversation_id=conversation.id,
        visitor_name=conversation.visitor_name,
        queue=conversation.queue,
        started_at=conversation.created_at,
        ended_at=conversation.ended_at,
        lines=tuple(lines),
        text=_text(conversation, lines, tz),
    )


def _line(
    event: StoredEvent, internal: bool, attachment_url: AttachmentUrl
) -> TranscriptLine | None:
    at = event.created_at
    match event:
        case MessagePosted(sender=who):
            # Rich content as the same plain lines agents read (its choices, its links).
            rich = fallback_text(event.rich) if event.rich is not None else ""
            return TranscriptLine(
                at=at,
                kind=LineKind.MESSAGE,
                sender_kind=who.kind,
                sender_name=who.name,
                text="\n".join(part for part in (event.text, rich) if part),
                attachments=tuple(attachment_url(a) for a in event.attachments),
            )
        case MessageUpdated(sender=who):
            # A correction of a message not among the events given: its text alone.
            return TranscriptLine(
                at=at,
                kind=LineKind.MESSAGE,
                sender_kind=who.kind,
                sender_name=who.name,
                text=event.text,
                edited=True,
            )
        case ParticipantJoined(participant=who):
            text = JOINED.format(name=who.name)
            return TranscriptLine(
                at=at, kind=LineKind.JOINED, sender_kind=who.kind, sender_name=who.name, text=text
            )
        case ParticipantLeft(participant=who):
            text = LEFT.format(name=who.name)
            return TranscriptLine(
                at=at, kind=LineKind.LEFT, sender_kind=who.kind, sender_name=who.name, text=text
            )
        case StateChanged(state=state):
            if state is not ConversationState.ENDED:
                return None
            return TranscriptLine(
                at=at, kind=LineKind.ENDED, sender_kind=None, sender_name=None, text=CHAT_ENDED
            )
        case ReadMarked() | OfferMade() | OfferClosed() | MemberJoined() | MemberLeft():
            return None
        case ChatReturned() | VisitorIdentified() | IdleNoticed():
            return None
        case _ if not internal:
            return None
        case NoteAdded(by=who, text=said):
            text = NOTE.format(name=who.name, text=said)
            return TranscriptLine(
                at=at, kind=LineKind.NOTE, sender_kind=who.kind, sender_name=who.name, text=text
            )
        case DeskMessage(sender=who, text=said):
            text = CONSULT.format(name=who.name, text=said)
            return TranscriptLine(
                at=at,
                kind=LineKind.CONSULT,
                sender_kind=who.kind,
                sender_name=who.name,
                text=text,
                attachments=tuple(attachment_url(a) for a in event.attachments),
            )
        case Whispered(by=who, text=said):
            text = WHISPER.format(name=who.name, text=said)
            return TranscriptLine(
                at=at, kind=LineKind.WHISPER, sender_kind=who.kind, sender_name=who.name, text=text
            )
        case Transferred(by=who, to=to, queue=queue):
            if to is not None:
                text = TRANSFERRED_TO_AGENT.format(by=who.name, to=to.name)
            else:
                text = TRANSFERRED_TO_QUEUE.format(by=who.name, queue=queue)
            if event.note:
                text = f"{text} {event.note}"
            return TranscriptLine(
                at=at, kind=LineKind.TRANSFER, sender_kind=who.kind, sender_name=who.name, text=text
            )
        case WrapUpRecorded(by=who, code=code, note=note):
            what = "; ".join(part for part in (code, note) if part)
            text = WRAP_UP.format(name=who.name, what=what)
            return TranscriptLine(
                at=at, kind=LineKind.WRAP_UP, sender_kind=who.kind, sender_name=who.name, text=text
            )
        case _:
            assert_never(event)


def _text(conversation: Conversation, lines: list[TranscriptLine], tz: tzinfo) -> str:
    def when(moment: datetime) -> str:
        return moment.astimezone(tz).strftime(TIME_FORMAT)

    started = STARTED.format(at=when(conversation.created_at))
    if conversation.ended_at is not None:
        started += ", " + ENDED_AT.format(at=when(conversation.ended_at))
    out = [HEADER.format(visitor=conversation.visitor_name, queue=conversation.queue), started, ""]
    for line in lines:
        if line.kind is LineKind.MESSAGE:
            said = " ".join(part for part in (line.text, *line.attachments) if part)
            if line.edited:
                said = f"{said} {EDITED}"
            out.append(f"[{when(line.at)}] {line.sender_name}: {said}")
        else:
            out.append(f"[{when(line.at)}] {line.text}")
    return "\n".join(out) + "\n"
