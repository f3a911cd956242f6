"""The agent desk's words for bot-first queues (re-exported by ``xmpp_bridge.texts``,
where the bridge reads them)."""

from __future__ import annotations

from collections.abc import Sequence

HELP_BOT = "send the visitor back to the queue's bot; you leave the chat"
SENT_BACK_TO_BOT = (
    "The visitor is back with the bot and you are out of this chat. If they ask for a "
    "person again, the chat comes back through the queue with everything said so far."
)


def bot_said(name: str) -> str:
    """Put before what a bot wrote, in an offer's transcript, so nobody takes it for a
    colleague: ``[Bot Ava]`` (``[Bot]`` for a bot called Bot)."""
    return "[Bot] " if name.casefold() == "bot" else f"[Bot {name}] "


def bot_options(labels: Sequence[str]) -> str:
    """After a bot's message in a transcript: the buttons it showed the visitor."""
    return " (options: " + " | ".join(labels) + ")"
