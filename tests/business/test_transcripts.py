"""``render_transcript``: a conversation's events as lines and plain text, the visitor's
(what they saw) or the agents' (``internal``)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from business.conversation import Conversation
from business.events import (
    DeskMessage,
    MessagePosted,
    MessageUpdated,
    NoteAdded,
    OfferMade,
    ParticipantJoined,
    ParticipantLeft,
    ReadMarked,
    StateChanged,
    StoredEvent,
    Transferred,
    Whispered,
    WrapUpRecorded,
)
from business.model import (
    AgentId,
    ConversationId,
    ConversationState,
    EventId,
    Participant,
    ParticipantKind,
    QueueName,
    TenantId,
    VisitorId,
)
from business.rich import parse_rich
from business.transcripts import LineKind, render_transcript

T0 = datetime(2026, 5, 4, 9, 30, tzinfo=UTC)
CID = ConversationId("c-1")
ANN = Participant(kind=ParticipantKind.VISITOR, name="Ann", id="v-1")
ALICE = Participant(kind=ParticipantKind.AGENT, name="Alice", id="a-1")
BOB = Participant(kind=ParticipantKind.AGENT, name="Bob", id="a-2")
HELPER = Participant(kind=ParticipantKind.BOT, name="Helper")


def at(seconds: int) -> datetime:
    return T0 + timedelta(seconds=seconds)


CONV = Conversation(
    id=CID,
    tenant_id=TenantId("default"),
    visitor_id=VisitorId("v-1"),
    visitor_name="Ann",
    queue=QueueName("support"),
    state=ConversationState.ENDED,
    created_at=T0,
    agent_id=AgentId("a-1"),
    agent_name="Alice",
    ended_at=at(600),
)


class Events:
    """Events of CID with the next pos and seq."""

    def __init__(self) -> None:
        self.events: list[StoredEvent] = []
        self.seq = 0

    def visible(self, make: Callable[..., StoredEvent], **fields: object) -> None:
        self.seq += 1
        self.events.append(
            make(conversation_id=CID, seq=self.seq, pos=len(self.events) + 1, **fields)
        )

    def hidden(self, make: Callable[..., StoredEvent], **fields: object) -> None:
        self.events.append(make(conversation_id=CID, pos=len(self.events) + 1, **fields))


def a_chat() -> list[StoredEvent]:
    e = Events()
    e.visible(StateChanged, created_at=at(0), state=ConversationState.QUEUED, queue_position=1)
    e.visible(
        MessagePosted, created_at=at(1), id=EventId("m1"), sender=ANN, text="Do you ship to Norway?"
    )
    e.hidden(OfferMade, created_at=at(2), agent=ALICE, expires_at=at(22))
    e.visible(ParticipantJoined, created_at=at(3), participant=ALICE, role="owner")
    e.visible(StateChanged, created_at=at(3), state=ConversationState.ACTIVE)
    e.visible(
        MessagePosted, created_at=at(4), id=EventId("m2"), sender=ALICE, text="Yes, in 3 days"
    )
    e.hidden(NoteAdded, created_at=at(5), id=EventId("n1"), by=ALICE, text="wants express")
    e.visible(MessageUpdated, created_at=at(6), id=EventId("u1"), replaces=EventId("m2"),
              sender=ALICE, text="Yes, in 2 days")  # fmt: skip
    e.visible(
        MessagePosted,
        created_at=at(7),
        id=EventId("m3"),
        sender=HELPER,
        text="Here is the form:",
        attachments=("https://files.example/form.pdf",),
    )
    e.visible(ReadMarked, created_at=at(8), by=ANN, up_to_seq=5)
    e.hidden(DeskMessage, created_at=at(9), id=EventId("d1"), sender=BOB, text="ask about size")
    e.hidden(Whispered, created_at=at(10), id=EventId("w1"), by=BOB, text="be quick")
    e.hidden(Transferred, created_at=at(11), by=ALICE, to=None, queue="sales", note="pricing")
    e.hidden(WrapUpRecorded, created_at=at(12), by=ALICE, code="solved", note="happy")
    e.visible(ParticipantLeft, created_at=at(13), participant=ANN)
    e.visible(StateChanged, created_at=at(600), state=ConversationState.ENDED)
    return e.events


def test_the_visitors_transcript_is_what_they_saw_with_corrections_applied() -> None:
    transcript = render_transcript(CONV, a_chat(), attachment_url=str)

    assert [(line.kind, line.sender_name, line.text, line.edited) for line in transcript.lines] == [
        (LineKind.MESSAGE, "Ann", "Do you ship to Norway?", False),
        (LineKind.JOINED, "Alice", "Alice joined the chat.", False),
        (LineKind.MESSAGE, "Alice", "Yes, in 2 days", True),
        (LineKind.MESSAGE, "Helper", "Here is the form:", False),
        (LineKind.LEFT, "Ann", "Ann left the chat.", False),
        (LineKind.ENDED, None, "The chat ended.", False),
    ]
    assert transcript.lines[3].sender_kind is ParticipantKind.BOT
    assert transcript.lines[3].attachments == ("https://files.example/form.pdf",)
    # The corrected message keeps its place and time.
    assert transcript.lines[2].at == at(4)
    assert transcript.text == (
        "Conversation with Ann (queue support)\n"
        "Started 2026-05-04 09:30:00 UTC, ended 2026-05-04 09:40:00 UTC\n"
        "\n"
        "[2026-05-04 09:30:01 UTC] Ann: Do you ship to Norway?\n"
        "[2026-05-04 09:30:03 UTC] Alice joined the chat.\n"
        "[2026-05-04 09:30:04 UTC] Alice: Yes, in 2 days (edited)\n"
        "[2026-05-04 09:30:07 UTC] Helper: Here is the form: https://files.example/form.pdf\n"
        "[2026-05-04 09:30:13 UTC] Ann left the chat.\n"
        "[2026-05-04 09:40:00 UTC] The chat ended.\n"
    )
    for secret in ("wants express", "ask about size", "be quick", "pricing", "solved"):
        assert secret not in transcript.text


def test_the_internal_transcript_adds_notes_consults_whispers_transfers_and_wrap_ups() -> None:
    transcript = render_transcript(CONV, a_chat(), internal=True, attachment_url=str)
    internal = [
        (line.kind, line.text)
        for line in transcript.lines
        if line.kind not in (LineKind.MESSAGE, LineKind.JOINED, LineKind.LEFT, LineKind.ENDED)
    ]
    assert internal == [
        (LineKind.NOTE, "Note by Alice: wants express"),
        (LineKind.CONSULT, "Bob (consult, agents only): ask about size"),
        (LineKind.WHISPER, "Bob (whisper, agents only): be quick"),
        (LineKind.TRANSFER, "Alice handed the chat to queue sales. pricing"),
        (LineKind.WRAP_UP, "Wrap-up by Alice: solved; happy"),
    ]
    assert "[2026-05-04 09:30:05 UTC] Note by Alice: wants express\n" in transcript.text


def test_times_are_shown_in_the_zone_asked_for_and_an_open_chat_has_no_end() -> None:
    open_conv = Conversation(
        id=CID,
        tenant_id=TenantId("default"),
        visitor_id=VisitorId("v-1"),
        visitor_name="Ann",
        queue=QueueName("support"),
        state=ConversationState.ACTIVE,
        created_at=T0,
    )
    events = a_chat()[:2]
    transcript = render_transcript(
        open_conv, events, tz=ZoneInfo("Europe/Oslo"), attachment_url=str
    )
    assert transcript.ended_at is None
    assert transcript.text.splitlines()[:4] == [
        "Conversation with Ann (queue support)",
        "Started 2026-05-04 11:30:00 CEST",
        "",
        "[2026-05-04 11:30:01 CEST] Ann: Do you ship to Norway?",
    ]
    assert render_transcript(open_conv, [], attachment_url=str).lines == ()


def test_rich_content_is_in_the_transcript_as_plain_lines() -> None:
    # A bot's buttons with no text of their own (what a rich canned response may be).
    rich = parse_rich(
        {
            "buttons": [
                {"label": "Track my order", "payload": "track"},
                {"label": "Returns policy", "url": "https://shop.example/returns"},
            ]
        }
    )
    e = Events()
    e.visible(MessagePosted, created_at=at(1), id=EventId("m1"), sender=HELPER, text="", rich=rich)
    transcript = render_transcript(CONV, e.events, attachment_url=str)
    (line,) = transcript.lines
    assert "Track my order" in line.text
    assert "https://shop.example/returns" in line.text
    assert "Track my order" in transcript.text
