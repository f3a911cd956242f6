"""Reading a tenant's visitors, for integrators: one visitor, and their conversations.

A visitor of another tenant is ``NotFound``, exactly as one that does not exist. Their
token is never shown (it is not even stored: only its hash).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from business.conversation_queries import (
    ConversationPage,
    check_page_limit,
    decode_cursor,
    page_of,
)
from business.conversation_query_ports import ConversationCriteria
from business.errors import NotFound
from business.identity_model import VisitorIdentity
from business.integrator_commands import ListVisitorConversations
from business.model import AgentId, TenantId, Visitor, VisitorId
from business.transactions import Transaction, Transactions


@dataclass(frozen=True, slots=True, kw_only=True)
class VisitorDetails:
    id: VisitorId
    name: str | None
    """The name they gave, if any."""
    created_at: datetime
    last_agent_id: AgentId | None
    """The agent of their last conversation that had one (last-agent routing)."""
    last_agent_name: str | None
    """That agent's name now; None if there is none or they were removed since."""
    last_served_at: datetime | None
    """When that conversation ended."""
    identity: VisitorIdentity | None = None
    """The verified identity (``business.identities``); None: anonymous."""


class VisitorQueryService:
    def __init__(self, *, transactions: Transactions) -> None:
        self._tx = transactions

    async def get(self, tenant_id: TenantId, visitor_id: VisitorId) -> VisitorDetails:
        async with self._tx.read() as tx:
            visitor = await _tenant_visitor(tx, tenant_id, visitor_id)
            agent = None
            if visitor.last_agent_id is not None:
                agent = await tx.agents.get(visitor.last_agent_id)
            identity = await tx.visitor_identities.get_for_visitor(visitor.id)
        return VisitorDetails(
            id=visitor.id,
            name=visitor.name,
            created_at=visitor.created_at,
            last_agent_id=visitor.last_agent_id,
            last_agent_name=None if agent is None or agent.tenant_id != tenant_id else agent.name,
            last_served_at=visitor.last_served_at,
            identity=identity,
        )

    async def conversations(self, query: ListVisitorConversations) -> ConversationPage:
        """A page of the visitor's conversations, newest first (the cursor as for
        ``ConversationQueryService.search``)."""
        after = None if query.cursor is None else decode_cursor(query.cursor)
        limit = check_page_limit(query.limit)
        criteria = ConversationCriteria(tenant_id=query.tenant_id, visitor_id=query.visitor_id)
        async with self._tx.read() as tx:
            await _tenant_visitor(tx, query.tenant_id, query.visitor_id)
            found = await tx.conversation_queries.search(criteria, after=after, limit=limit + 1)
        return page_of(found, limit)


async def _tenant_visitor(tx: Transaction, tenant_id: TenantId, visitor_id: VisitorId) -> Visitor:
    visitor = await tx.visitors.get(visitor_id)
    if visitor is None or visitor.tenant_id != tenant_id:
        raise NotFound("unknown visitor")
    return visitor
