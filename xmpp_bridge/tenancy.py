"""Tenants at the agent desk: one component domain (``chat.<domain>``) serves them all.

An agent's address belongs to at most one tenant (addresses are unique across tenants,
``business.agents``), so the sender's address decides the tenant of whatever an agent
sends, and no address of the component needs to name one:

- a queue JID ``<queue>@chat.<domain>`` is the queue of that name in the sender's tenant
  (two tenants may both have ``support``): a subscription to it, and the presence it
  carries, concern only the agent's own queue (``xmpp_bridge.roster``);
- the engine's JID ``chat.<domain>`` (engine words and ad-hoc commands) answers about the
  sender's tenant: their status, chats and queues; ``monitor`` finds only chats and agents
  of that tenant (``business.supervision``);
- a conversation JID ``c-<id>@chat.<domain>`` names a conversation by its global id. To an
  agent of another tenant it is refused exactly as it is to a stranger (``check_tenant``):
  same condition, same text, nothing about the chat;
- ``!transfer``, ``!invite`` and ``!consult`` find only agents and queues of the chat's
  tenant (``business.participants``), so never one of another tenant.

What an agent writes to a conversation (messages, typing, corrections, markers) is not
checked here, to keep a read off the message path: only the chat's members may write,
and only agents of its tenant ever become members (the router offers a queue's chats to
that tenant's agents; transfers, invitations, monitoring and barging in check the
tenant), so another tenant's agent gets the answer any stranger gets.
"""

from __future__ import annotations

from business.conversation import Conversation
from business.errors import Forbidden
from business.model import Agent
from xmpp_bridge import texts


def check_tenant(agent: Agent, conversation: Conversation) -> None:
    """Refuse ``agent`` a conversation of another tenant the way a stranger is refused
    (``Forbidden`` with ``texts.NOT_THE_AGENT``): before anything about it (its state,
    its queue, who has it) could show in the answer."""
    if conversation.tenant_id != agent.tenant_id:
        raise Forbidden(texts.NOT_THE_AGENT)
