"""``!bot``: the agent sends the visitor back to the queue's bot (``business.bots``).
Refusals (no bot in the queue, not the agent's active chat) are domain errors, answered
at the edge like any other."""

from __future__ import annotations

from business.commands import ReturnToBot
from business.model import Agent
from business.services import Services
from xmpp_bridge import texts
from xmpp_bridge.custom import BackToBot


async def back_to_bot(services: Services, agent: Agent, command: BackToBot) -> str:
    """Send the visitor back; the text to answer the agent with."""
    await services.bots.send_back(
        ReturnToBot(agent_id=agent.id, conversation_id=command.conversation_id)
    )
    return texts.SENT_BACK_TO_BOT
