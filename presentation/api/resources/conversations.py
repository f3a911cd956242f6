"""``/conversations``: reading the key's tenant's conversations — search, one with its
members and counts, its events, its transcript.

Through ``ConversationQueryService`` (``business.conversation_queries``): another
tenant's conversation is ``not_found``, exactly as one that does not exist. What is
done to a conversation (messages, end, transfer) is ``conversation_actions``.
"""

from __future__ import annotations

import zoneinfo
from datetime import UTC, tzinfo
from typing import Final

from pydantic import Field

from business.integrator_commands import MAX_PAGE, ReadAllEvents, ReadEvents, SearchConversations
from business.model import (
    AgentId,
    Channel,
    ConversationId,
    ConversationState,
    QueueName,
    VisitorId,
)
from presentation.api.conversation_models import (
    ConversationDetailsOut,
    ConversationPage,
    TranscriptOut,
    conversation_out,
    details_out,
    transcript_out,
)
from presentation.api.event_models import EventPage, InternalEventPage, internal_out, visible_out
from presentation.api.fields import (
    CURSOR_PATTERN,
    SEQUENCE_MAX,
    EntityId,
    Instant,
    QueueName as QueueNameField,
)
from presentation.api.media import Media
from presentation.api.problems import ApiError
from presentation.api.registry import (
    ADMINS,
    READERS_AND_BOTS,
    Call,
    Empty,
    Params,
    Resource,
)
from presentation.errors import INVALID_INPUT

resource = Resource(
    "conversations",
    "Conversations of your tenant: find them, read them, and (as a bot or the system) "
    "write in them, end them and transfer them.",
)

TEXT: Final = "text/plain; charset=utf-8"
_STATE = "(?:" + "|".join(state.value for state in ConversationState) + ")"
EVENTS_MAX = 1000
"""The most events a page may ask for; the engine's ``limits.max_sync_events`` (500 by
default) caps it further."""


class ConversationPath(Params):
    conversation_id: EntityId


class ConversationQuery(Params):
    state: str | None = Field(
        None,
        pattern=rf"^{_STATE}(?:,{_STATE})*$",
        description="in any of these states, comma-separated: `queued,active`",
    )
    queue: QueueNameField | None = None
    agent_id: EntityId | None = Field(
        None, description="whose it is: the agent who has it, or had it last"
    )
    visitor_id: EntityId | None = None
    since: Instant | None = Field(None, description="started at or after this instant")
    until: Instant | None = Field(None, description="started before this instant")
    channel: Channel | None = Field(
        None, description="where the visitor writes from: `web` or `api`"
    )
    cursor: str | None = Field(
        None,
        pattern=CURSOR_PATTERN,
        description="`next_cursor` of the previous page; leave out for the first",
    )
    limit: int = Field(default=50, ge=1, le=MAX_PAGE, description="conversations per page")


class EventQuery(Params):
    after_seq: int = Field(
        default=0, ge=0, le=SEQUENCE_MAX, description="the last `seq` you have; 0: from the start"
    )
    limit: int | None = Field(
        default=None,
        ge=1,
        le=EVENTS_MAX,
        description="at most this many; the engine's `limits.max_sync_events` (500) caps it",
    )


class InternalEventQuery(Params):
    after_pos: int = Field(
        default=0, ge=0, le=SEQUENCE_MAX, description="the last `pos` you have; 0: from the start"
    )
    limit: int | None = Field(
        default=None,
        ge=1,
        le=EVENTS_MAX,
        description="at most this many; the engine's `limits.max_sync_events` (500) caps it",
    )


class TranscriptQuery(Params):
    tz: str | None = Field(
        None,
        pattern=r"^[A-Za-z][A-Za-z0-9_+/-]{0,63}$",
        description="an IANA time zone for the times in `text`, e.g. `Europe/Paris`; UTC "
        "when left out",
    )


@resource.route(
    "GET",
    "/conversations",
    summary="Search conversations",
    scopes=READERS_AND_BOTS,
    params=Empty,
    query=ConversationQuery,
    body=Empty,
    response=ConversationPage,
)
async def list_conversations(call: Call[Empty, ConversationQuery, Empty]) -> ConversationPage:
    """Newest first; every filter given must hold. A page's `next_cursor` continues after
    its last conversation, so conversations started meanwhile never shift or repeat the
    pages that follow."""
    query = call.query
    states = () if query.state is None else tuple(dict.fromkeys(query.state.split(",")))
    page = await call.services.conversation_queries.search(
        SearchConversations(
            tenant_id=call.tenant_id,
            states=tuple(ConversationState(state) for state in states),
            queue=None if query.queue is None else QueueName(query.queue),
            agent_id=None if query.agent_id is None else AgentId(query.agent_id),
            visitor_id=None if query.visitor_id is None else VisitorId(query.visitor_id),
            since=query.since,
            until=query.until,
            cursor=query.cursor,
            limit=query.limit,
            channel=query.channel,
        )
    )
    return ConversationPage(
        items=[conversation_out(conv) for conv in page.conversations],
        next_cursor=page.next_cursor,
    )


@resource.route(
    "GET",
    "/conversations/{conversation_id}",
    summary="Get a conversation",
    scopes=READERS_AND_BOTS,
    params=ConversationPath,
    query=Empty,
    body=Empty,
    response=ConversationDetailsOut,
)
async def get_conversation(call: Call[ConversationPath, Empty, Empty]) -> ConversationDetailsOut:
    """With the agents in it besides its owner (`members`) and its messages counted by
    who wrote them."""
    found = await call.services.conversation_queries.get(
        call.tenant_id, ConversationId(call.params.conversation_id)
    )
    return details_out(found.conversation, found.counts)


@resource.route(
    "GET",
    "/conversations/{conversation_id}/events",
    summary="Read a conversation's events",
    scopes=READERS_AND_BOTS,
    params=ConversationPath,
    query=EventQuery,
    body=Empty,
    response=EventPage,
)
async def list_conversation_events(
    call: Call[ConversationPath, EventQuery, Empty],
) -> EventPage:
    """What the visitor saw, in order, after `after_seq`: messages, corrections, joins and
    leaves, state changes, read marks. The same events the visitor protocol's `sync`
    gives. Read on from the last `seq` while `has_more`."""
    result = await call.services.conversation_queries.events(
        ReadEvents(
            tenant_id=call.tenant_id,
            conversation_id=ConversationId(call.params.conversation_id),
            after_seq=call.query.after_seq,
            limit=_capped(call.query.limit, call.services.limits.max_sync_events),
        )
    )
    signed = call.services.files.links.lasting
    return EventPage(
        items=[visible_out(e, signed) for e in result.events], has_more=result.has_more
    )


@resource.route(
    "GET",
    "/conversations/{conversation_id}/internal-events",
    summary="Read all of a conversation's events, the agents' too",
    scopes=ADMINS,
    params=ConversationPath,
    query=InternalEventQuery,
    body=Empty,
    response=InternalEventPage,
)
async def list_internal_events(
    call: Call[ConversationPath, InternalEventQuery, Empty],
) -> InternalEventPage:
    """Every stored event after `after_pos`, in order: besides what the visitor saw,
    internal notes, offers and their outcome, agents joining as members, transfers,
    whispers, consult messages, wrap-ups, returns from hold. Those have a `pos` and no
    `seq`, so this list is paged by `pos`. Admin keys only: it holds what agents wrote
    for each other."""
    page = await call.services.conversation_queries.all_events(
        ReadAllEvents(
            tenant_id=call.tenant_id,
            conversation_id=ConversationId(call.params.conversation_id),
            after_pos=call.query.after_pos,
            limit=_capped(call.query.limit, call.services.limits.max_sync_events),
        )
    )
    return InternalEventPage(
        items=[internal_out(event, call.services.files.links.lasting) for event in page.events],
        has_more=page.has_more,
    )


@resource.route(
    "GET",
    "/conversations/{conversation_id}/transcript",
    summary="Get a conversation's transcript",
    scopes=READERS_AND_BOTS,
    params=ConversationPath,
    query=TranscriptQuery,
    body=Empty,
    response=TranscriptOut,
    media=("text/plain",),
)
async def get_transcript(
    call: Call[ConversationPath, TranscriptQuery, Empty],
) -> TranscriptOut | Media:
    """What the visitor saw, line by line (messages with their corrections, who joined
    and left, the end), never internal notes. JSON, or the plain text alone with
    `Accept: text/plain`."""
    transcript = await call.services.conversation_queries.transcript(
        call.tenant_id, ConversationId(call.params.conversation_id), tz=_zone(call.query.tz)
    )
    if call.media == "text/plain":
        return Media(content_type=TEXT, body=transcript.text.encode())
    return transcript_out(transcript)


def _capped(limit: int | None, most: int) -> int | None:
    return None if limit is None else min(limit, most)


def _zone(name: str | None) -> tzinfo:
    if name is None:
        return UTC
    try:
        return zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, OSError):
        raise ApiError(
            INVALID_INPUT, f"query: tz {name!r} is no time zone this server knows"
        ) from None
