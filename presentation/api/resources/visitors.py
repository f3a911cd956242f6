"""``/visitors``: a visitor of the key's tenant, and their conversations.

Through ``VisitorQueryService`` (``business.visitor_queries``): another tenant's visitor
is ``not_found``, exactly as one that does not exist. A visitor's token is never shown
(only its hash is stored).
"""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from business.integrator_commands import MAX_PAGE, ListVisitorConversations
from business.model import VisitorId
from presentation.api.conversation_models import ConversationPage, conversation_out
from presentation.api.fields import CURSOR_PATTERN, EntityId
from presentation.api.registry import READERS, Call, Empty, Params, Resource

resource = Resource("visitors", "Visitors of your tenant and their conversations.")


class VisitorOut(BaseModel):
    id: str
    name: str | None = Field(description="the name they gave, if any")
    created_at: datetime
    last_agent_id: str | None = Field(
        description="the agent of their last conversation that had one (who is preferred "
        "for their next, within the queue's `last_agent_window`)"
    )
    last_agent_name: str | None = Field(description="that agent's name; null once removed")
    last_served_at: datetime | None = Field(description="when that conversation ended")
    identity: VisitorIdentityOut | None = Field(
        None, description="their verified signed identity; null: anonymous"
    )


class VisitorIdentityOut(BaseModel):
    sub: str = Field(description="who your site's signed identity says they are")
    name: str | None
    email: str | None
    extra: dict[str, str] = Field(description="the token's `extra` values, as text")
    verified_at: datetime | None = Field(
        description="when a token last verified it; null: no token has yet (an outbound "
        "thread to a `sub` nobody had signed in as gave it its visitor: `POST /threads`)"
    )


class VisitorPath(Params):
    visitor_id: EntityId


class VisitorConversationQuery(Params):
    cursor: str | None = Field(
        None,
        pattern=CURSOR_PATTERN,
        description="`next_cursor` of the previous page; leave out for the first",
    )
    limit: int = Field(default=50, ge=1, le=MAX_PAGE, description="conversations per page")


@resource.route(
    "GET",
    "/visitors/{visitor_id}",
    summary="Get a visitor",
    scopes=READERS,
    params=VisitorPath,
    query=Empty,
    body=Empty,
    response=VisitorOut,
)
async def get_visitor(call: Call[VisitorPath, Empty, Empty]) -> VisitorOut:
    found = await call.services.visitor_queries.get(
        call.tenant_id, VisitorId(call.params.visitor_id)
    )
    return VisitorOut(
        id=found.id,
        name=found.name,
        created_at=found.created_at,
        last_agent_id=found.last_agent_id,
        last_agent_name=found.last_agent_name,
        last_served_at=found.last_served_at,
        identity=None
        if found.identity is None
        else VisitorIdentityOut(
            sub=found.identity.sub,
            name=found.identity.name,
            email=found.identity.email,
            extra=dict(found.identity.extra),
            verified_at=found.identity.verified_at,
        ),
    )


@resource.route(
    "GET",
    "/visitors/{visitor_id}/conversations",
    summary="List a visitor's conversations",
    scopes=READERS,
    params=VisitorPath,
    query=VisitorConversationQuery,
    body=Empty,
    response=ConversationPage,
)
async def list_visitor_conversations(
    call: Call[VisitorPath, VisitorConversationQuery, Empty],
) -> ConversationPage:
    """Newest first, paged as `GET /conversations` is."""
    page = await call.services.visitor_queries.conversations(
        ListVisitorConversations(
            tenant_id=call.tenant_id,
            visitor_id=VisitorId(call.params.visitor_id),
            cursor=call.query.cursor,
            limit=call.query.limit,
        )
    )
    return ConversationPage(
        items=[conversation_out(conv) for conv in page.conversations],
        next_cursor=page.next_cursor,
    )
