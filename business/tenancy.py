"""Tenants kept apart: one engine serves many, and nothing of one reaches another.

Conversation ids are global; everything else a use case finds by name is looked up in
the tenant of whoever asks: a visitor's token, queue and conversations in the visitor's
tenant (``sessions``, ``starts``, ``access``), an agent's or supervisor's queues,
colleagues and monitored agents in the agent's (``routing``, ``participants``,
``supervision``). Who may act in a conversation follows from who is in it, and only
agents of its tenant ever are: the router offers a queue's chats to that tenant's agents,
and transfers, invitations and monitoring find only that tenant's agents and chats.

Where a use case lets somebody act in a conversation they are not in (a supervisor
monitoring, whispering, barging in), it reads the conversation through
``tenants_conversation``: to anybody of another tenant it does not exist.
"""

from __future__ import annotations

from business.conversation import Conversation
from business.errors import NotFound
from business.model import ConversationId, TenantId
from business.transactions import Transaction


async def tenants_conversation(
    tx: Transaction,
    tenant_id: TenantId,
    conversation_id: ConversationId,
    *,
    for_update: bool = False,
) -> Conversation:
    """The conversation if it belongs to ``tenant_id``; ``NotFound`` ("unknown
    conversation", as for an id nobody has) if it is another tenant's."""
    conv = await tx.conversations.get(conversation_id, for_update=for_update)
    if conv is None or conv.tenant_id != tenant_id:
        raise NotFound("unknown conversation")
    return conv
