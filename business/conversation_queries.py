"""Reading a tenant's conversations, for integrators: search them, get one with its
counts, page through its events, render its transcript.

Every read names the caller's tenant and is a read-only unit of work. A conversation of
another tenant is ``NotFound``, exactly as one that does not exist; a search never
returns one. Pages of conversations are keyset pages: the cursor encodes the
(``created_at``, ``id``) of the last conversation of a page, so each page costs the
same however deep it is, and conversations started meanwhile never shift or repeat
what follows.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo

from business.access import tenant_conversation
from business.conversation import Conversation
from business.conversation_query_ports import (
    ConversationCriteria,
    ConversationKey,
    MessageCounts,
)
from business.errors import InvalidInput
from business.events import StoredEvent
from business.file_links import AttachmentUrl
from business.history import SyncResult
from business.integrator_commands import (
    MAX_PAGE,
    ReadAllEvents,
    ReadEvents,
    SearchConversations,
)
from business.model import ConversationId, TenantId
from business.transactions import Transactions
from business.transcripts import Transcript, render_transcript
from business.validation import Limits, check_queue_name

_ALL = 2**31 - 1
_CURSOR_MAX = 256
"""Characters a cursor has at most (one we made has about 90)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class ConversationPage:
    conversations: Sequence[Conversation]
    """Newest first."""
    next_cursor: str | None
    """The cursor of the next page; None: this is the last."""


@dataclass(frozen=True, slots=True, kw_only=True)
class ConversationDetails:
    conversation: Conversation
    """With its members besides its owner (``Conversation.members``: invited agents,
    consultants, monitors, supervisors who barged in, an agent offered a place)."""
    counts: MessageCounts


@dataclass(frozen=True, slots=True, kw_only=True)
class EventPage:
    """Stored events in ``pos`` order (``ReadAllEvents``)."""

    events: Sequence[StoredEvent]
    has_more: bool


class ConversationQueryService:
    def __init__(
        self, *, transactions: Transactions, limits: Limits, attachment_url: AttachmentUrl
    ) -> None:
        """``attachment_url``: how transcripts show files (``FileLinks.lasting``)."""
        self._tx = transactions
        self._limits = limits
        self._attachment_url = attachment_url

    async def search(self, query: SearchConversations) -> ConversationPage:
        """A page of the tenant's conversations matching ``query``, newest first."""
        criteria = criteria_of(query)
        after = None if query.cursor is None else decode_cursor(query.cursor)
        limit = check_page_limit(query.limit)
        async with self._tx.read() as tx:
            found = await tx.conversation_queries.search(criteria, after=after, limit=limit + 1)
        return page_of(found, limit)

    async def get(
        self, tenant_id: TenantId, conversation_id: ConversationId
    ) -> ConversationDetails:
        """One conversation of the tenant, with how many messages each kind of sender
        wrote and how many notes it has (one indexed count over its events)."""
        async with self._tx.read() as tx:
            conv = await tenant_conversation(tx, tenant_id, conversation_id)
            counts = await tx.conversation_queries.message_counts(conv.id)
        return ConversationDetails(conversation=conv, counts=counts)

    async def events(self, query: ReadEvents) -> SyncResult:
        """What the visitor's ``sync`` gives from the same ``seq``: the events the visitor
        sees, in order, and whether there are more after them."""
        if query.after_seq < 0:
            raise InvalidInput("after_seq must not be negative")
        limit = self._event_limit(query.limit)
        async with self._tx.read() as tx:
            conv = await tenant_conversation(tx, query.tenant_id, query.conversation_id)
            events = await tx.events.list_after(conv.id, query.after_seq, limit + 1)
        return SyncResult(events=events[:limit], has_more=len(events) > limit)

    async def all_events(self, query: ReadAllEvents) -> EventPage:
        """Every stored event after ``after_pos``, the agent desk's too. A separate call,
        not a flag of ``events``: events only agents see take no ``seq``, so these are
        paged by ``pos``, and a caller can never mistake one number for the other."""
        if query.after_pos < 0:
            raise InvalidInput("after_pos must not be negative")
        limit = self._event_limit(query.limit)
        async with self._tx.read() as tx:
            conv = await tenant_conversation(tx, query.tenant_id, query.conversation_id)
            events = await tx.events.list_after_pos(conv.id, query.after_pos, limit + 1)
        return EventPage(events=events[:limit], has_more=len(events) > limit)

    async def transcript(
        self,
        tenant_id: TenantId,
        conversation_id: ConversationId,
        *,
        internal: bool = False,
        tz: tzinfo = UTC,
    ) -> Transcript:
        """The conversation's transcript (``business.transcripts``): what the visitor saw,
        or with ``internal`` what the agents saw too."""
        async with self._tx.read() as tx:
            conv = await tenant_conversation(tx, tenant_id, conversation_id)
            if internal:
                events: Sequence[StoredEvent] = await tx.events.list_after_pos(conv.id, 0, _ALL)
            else:
                events = await tx.events.list_after(conv.id, 0, _ALL)
        return render_transcript(
            conv, events, attachment_url=self._attachment_url, internal=internal, tz=tz
        )

    def _event_limit(self, limit: int | None) -> int:
        most = self._limits.max_sync_events
        if limit is None:
            return most
        if not 1 <= limit <= most:
            raise InvalidInput(f"limit must be between 1 and {most}")
        return limit


def criteria_of(query: SearchConversations) -> ConversationCriteria:
    """The search ``query`` asks for, checked."""
    for name, moment in (("since", query.since), ("until", query.until)):
        if moment is not None and moment.utcoffset() is None:
            raise InvalidInput(f"{name} must have a time zone")
    if query.since is not None and query.until is not None and query.since >= query.until:
        raise InvalidInput("since must be before until")
    return ConversationCriteria(
        tenant_id=query.tenant_id,
        states=frozenset(query.states),
        queue=None if query.queue is None else check_queue_name(query.queue),
        agent_id=query.agent_id,
        visitor_id=query.visitor_id,
        since=query.since,
        until=query.until,
        channel=query.channel,
    )


def check_page_limit(limit: int) -> int:
    if isinstance(limit, bool) or not 1 <= limit <= MAX_PAGE:
        raise InvalidInput(f"limit must be between 1 and {MAX_PAGE}")
    return limit


def page_of(found: Sequence[Conversation], limit: int) -> ConversationPage:
    """A page of ``limit`` from a search that asked for one more, to learn whether
    another page follows without counting."""
    shown = list(found[:limit])
    more = len(found) > limit and bool(shown)
    return ConversationPage(
        conversations=shown,
        next_cursor=encode_cursor(ConversationKey.of(shown[-1])) if more else None,
    )


def encode_cursor(key: ConversationKey) -> str:
    """Opaque to callers: base64url of the UTC instant (to the microsecond) and the id."""
    raw = f"{key.created_at.astimezone(UTC).isoformat()}|{key.id}"
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> ConversationKey:
    """``encode_cursor``'s key back; ``InvalidInput`` for anything it did not make."""
    if not cursor or len(cursor) > _CURSOR_MAX:
        raise InvalidInput("cursor is malformed")
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        moment, _, conversation_id = raw.partition("|")
        created_at = datetime.fromisoformat(moment)
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise InvalidInput("cursor is malformed") from None
    if not conversation_id or created_at.utcoffset() is None:
        raise InvalidInput("cursor is malformed")
    return ConversationKey(created_at=created_at, id=ConversationId(conversation_id))
