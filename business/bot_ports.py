"""The bot port: what talks to a visitor before (or instead of) an agent.

``business.bots.BotService`` asks the queue's bot what to do at the start of a chat
(``greet``) and after each visitor message stored while the chat is with the bot
(``answer``), then stores what it said and does what it decided. The built-in rules bot
(``business.rules_bot``) is the first implementation; an external bot (a webhook out,
answers over the REST API) is meant to be the second: it returns None and answers later
on its own.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

from business.bot_model import BotConfig, QuickReply
from business.conversation import Conversation
from business.events import MessagePosted
from business.rich import Rich


class BotAction(StrEnum):
    ANSWER = "answer"
    """The bot answered the visitor (its miss count starts again)."""
    MISS = "miss"
    """The bot did not understand; one more miss in a row."""
    HANDOVER = "handover"
    """To a person: the chat enters the queue as a new one would."""


@dataclass(frozen=True, slots=True, kw_only=True)
class BotReply:
    action: BotAction
    text: str = ""
    """What the bot says first (empty: nothing)."""
    quick_replies: tuple[QuickReply, ...] = ()
    """Buttons under what it says (only with ``text``)."""
    rich: Rich | None = None
    """Rich content under what it says (only with ``text``; not with ``quick_replies``)."""


class Bot(Protocol):
    """Decides, never stores: the service stores the reply as the bot's message (sender
    kind ``bot``, the configured name) and does the ``action``. Called outside any
    transaction, so it may take its time; the conversation it is given may have moved on
    meanwhile, and a reply for a chat no longer with the bot is dropped."""

    async def greet(self, conversation: Conversation, config: BotConfig) -> BotReply | None:
        """What to say when a chat starts with the bot, or comes back to it (``!bot``);
        None: nothing now."""
        ...

    async def answer(
        self, conversation: Conversation, config: BotConfig, message: MessagePosted
    ) -> BotReply | None:
        """What to do about the visitor's ``message``; ``conversation.bot_misses`` counts
        the misses in a row before it. None: nothing now."""
        ...
