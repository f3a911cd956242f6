"""The external bot: the integrator's own bot, outside the engine (Chatwoot's and
Rocket.Chat's agent bots, Genesys' bot connector).

A queue with ``BotKind.EXTERNAL`` starts its chats in state ``bot`` like the rules bot's,
but the engine says nothing itself: the bot hears the chat through webhooks
(``conversation.state_changed`` to ``bot``, then ``message.created`` for each visitor
message) and acts through the REST API with a key of scope ``bot``: ``POST
/conversations/{id}/messages`` to answer (quick replies allowed), ``POST
/conversations/{id}/transfer`` to a queue or an agent to hand over (the chat enters the
queue as a start would, ``business.integrator_rules``), ``POST /conversations/{id}/end``
to close it. An agent's ``!bot`` gives the chat back to it the same way.
"""

from __future__ import annotations

from business.bot_model import BotConfig
from business.bot_ports import BotReply
from business.conversation import Conversation
from business.events import MessagePosted


class ExternalBot:
    """``business.bot_ports.Bot`` for ``BotKind.EXTERNAL``: never answers in the engine
    (None: "it answers later on its own"), so no miss is counted and nothing is handed
    over without the integrator asking."""

    async def greet(self, conversation: Conversation, config: BotConfig) -> BotReply | None:
        return None

    async def answer(
        self, conversation: Conversation, config: BotConfig, message: MessagePosted
    ) -> BotReply | None:
        return None
