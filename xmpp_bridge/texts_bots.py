"""The agent desk's words for bot-first queues (re-exported by ``xmpp_bridge.texts``,
where the bridge reads them)."""

from __future__ import annotations

from collections.abc import Sequence

HELP_BOT = "send the visitor back to the queue's bot; you leave the chat"
SENT_BACK_TO_BOT = (
    "The visitor is back with the bot and you are out of this chat. If they ask for a "
    "person again, the chat comes back through the queue with everything said so far."
)


def bot_options(labels: Sequence[str]) -> str:
    """After a bot's message, in a transcript or as it is relayed: the buttons it showed
    the visitor (nothing when it showed none). The bot itself is named by
    ``texts.said_by``, as every sender is."""
    return " (options: " + " | ".join(labels) + ")" if labels else ""
