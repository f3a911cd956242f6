"""Who may touch a conversation: the checks every use case on one makes first.

Tenants are kept apart: one engine serves many, and nothing of one reaches another.
Conversation ids are global; everything else a use case finds by name is looked up in
the tenant of whoever asks: a visitor's token, queue and conversations in the visitor's
tenant (``sessions``, ``starts``, this module), an agent's or supervisor's queues,
colleagues and monitored agents in the agent's (``routing``, ``participants``,
``supervision``). Who may act in a conversation follows from who is in it, and only
agents of its tenant ever are: the router offers a queue's chats to that tenant's agents,
and transfers, invitations and monitoring find only that tenant's agents and chats.
Where a use case lets somebody act in a conversation they are not in (a supervisor
monitoring, whispering, barging in; an integrator), it reads the conversation through
``tenant_conversation``: to anybody of another tenant it does not exist.
"""

from __future__ import annotations

from business.conversation import Conversation
from business.errors import Forbidden, NotFound
from business.model import AgentId, ConversationId, MemberRole, Participant, TenantId, VisitorId
from business.transactions import Transaction


async def visitor_conversation(
    tx: Transaction,
    visitor_id: VisitorId,
    conversation_id: ConversationId,
    *,
    for_update: bool = True,
) -> Conversation:
    return visitors_own(
        await tx.conversations.get(conversation_id, for_update=for_update), visitor_id
    )


async def agent_conversation(
    tx: Transaction,
    agent_id: AgentId,
    conversation_id: ConversationId,
    *,
    for_update: bool = True,
) -> Conversation:
    conv = await tx.conversations.get(conversation_id, for_update=for_update)
    return agents_own(conv, agent_id)


async def any_conversation(
    tx: Transaction, conversation_id: ConversationId, *, for_update: bool = False
) -> Conversation:
    """``for_update``: the read a change (and its next ``seq``) is allocated from."""
    conv = await tx.conversations.get(conversation_id, for_update=for_update)
    if conv is None:
        raise NotFound("unknown conversation")
    return conv


async def tenant_conversation(
    tx: Transaction,
    tenant_id: TenantId,
    conversation_id: ConversationId,
    *,
    for_update: bool = False,
) -> Conversation:
    """``conversation_id`` if it is one of ``tenant_id``'s: another tenant's is
    ``NotFound`` exactly as one that does not exist, so a caller cannot even learn that
    it exists."""
    conv = await tx.conversations.get(conversation_id, for_update=for_update)
    if conv is None or conv.tenant_id != tenant_id:
        raise NotFound("unknown conversation")
    return conv


def visitors_own(conv: Conversation | None, visitor_id: VisitorId) -> Conversation:
    """``conv`` if it exists and is this visitor's."""
    if conv is None:
        raise NotFound("unknown conversation")
    if conv.visitor_id != visitor_id:
        raise Forbidden("this conversation belongs to another visitor")
    return conv


def in_the_chat(conv: Conversation | None, agent_id: AgentId) -> Participant:
    """Who ``agent_id`` is in ``conv`` if they have it or were let in (invited,
    consulted); refuses anybody else, and an agent only offered a place."""
    if conv is None:
        raise NotFound("unknown conversation")
    if conv.agent_id == agent_id:
        return conv.agent
    member = conv.member(agent_id)
    if member is None:
        raise Forbidden("you are not the agent of this conversation")
    if member.role is MemberRole.OFFERED:
        raise Forbidden("take the chat first: reply to the offer or !accept")
    return member.as_participant()


def agents_own(conv: Conversation | None, agent_id: AgentId) -> Conversation:
    """``conv`` if it exists and this agent serves it."""
    if conv is None:
        raise NotFound("unknown conversation")
    if conv.agent_id != agent_id:
        raise Forbidden("you are not the agent of this conversation")
    return conv
