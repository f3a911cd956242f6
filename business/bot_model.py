"""What a queue's bot is configured with, and what a bot's message offers the visitor.

Plain frozen dataclasses importing only the rich message values (``business.rich``,
itself pure): ``model.Queue`` carries a ``BotConfig`` and ``events.MessagePosted``
carries ``QuickReply`` values. How a configuration is read and checked is
``business.bot_config``; what the bot does with it is ``business.rules_bot``.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from business.rich import Rich

DEFAULT_BOT_NAME = "Assistant"
DEFAULT_GREETING = "Hi! I'm the virtual assistant. Pick a topic below or ask me a question."
DEFAULT_MISS_TEXT = "Sorry, I did not understand that. Pick a topic below or say it in other words."
DEFAULT_HANDOVER_TEXT = "I'm handing you over to a person now; please wait a moment."
DEFAULT_BUSY_TEXT = (
    "All our people are busy right now and nobody else can wait in line. "
    "Please try again in a few minutes."
)
DEFAULT_PERSON_LABEL = "Talk to a person"
DEFAULT_HANDOVER_KEYWORDS = ("agent", "human", "person", "someone", "operator")
DEFAULT_HANDOVER_AFTER_MISSES = 2


class BotKind(StrEnum):
    """Which implementation of ``business.bot_ports.Bot`` answers a queue's visitors."""

    RULES = "rules"
    """The built-in rules bot: greeting, menu, keyword answers, hand-over."""
    EXTERNAL = "external"
    """The integrator's own bot (``business.external_bot``): it hears the chat through
    webhooks and answers, hands over or ends through the REST API with a ``bot`` key."""


@dataclass(frozen=True, slots=True, kw_only=True)
class QuickReply:
    """A button under a bot's message; clicking it sends ``label`` as the visitor's
    message (so a visitor who types the label instead gets the same answer)."""

    id: str
    label: str


@dataclass(frozen=True, slots=True, kw_only=True)
class BotMenuOption:
    """One entry of the bot's menu, shown as a quick reply. Choosing it (clicking, or
    typing its label or id) gets ``answer``, or hands the chat to a person."""

    id: str
    label: str
    answer: str | None = None
    handover: bool = False
    """Choosing it hands over to the queue (``answer`` is then not used)."""
    rich: Rich | None = None
    """Rich content under ``answer`` (buttons, cards, a list), sent instead of the menu.
    A choice in it whose payload is an option's id chooses that option."""

    def as_quick_reply(self) -> QuickReply:
        return QuickReply(id=self.id, label=self.label)


@dataclass(frozen=True, slots=True, kw_only=True)
class BotFaq:
    """A keyword answer: a message containing any of ``keywords`` (whole words or
    phrases, any case) gets ``answer``."""

    keywords: tuple[str, ...]
    answer: str
    rich: Rich | None = None
    """Rich content under ``answer``, sent instead of the menu (as an option's)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class BotConfig:
    """A queue's bot: it talks to the visitor first and hands over to the queue's agents
    when asked to (a menu option or keyword) or after ``handover_after_misses`` messages
    in a row it could not answer."""

    kind: BotKind = BotKind.RULES
    name: str = DEFAULT_BOT_NAME
    """What the visitor sees as the sender of the bot's messages."""
    greeting: str = DEFAULT_GREETING
    greeting_rich: Rich | None = None
    """Rich content under the greeting, sent instead of the menu (as an option's)."""
    menu: tuple[BotMenuOption, ...] = (
        BotMenuOption(id="person", label=DEFAULT_PERSON_LABEL, handover=True),
    )
    faq: tuple[BotFaq, ...] = ()
    handover_keywords: tuple[str, ...] = DEFAULT_HANDOVER_KEYWORDS
    handover_after_misses: int = DEFAULT_HANDOVER_AFTER_MISSES
    """0: misses never hand over (the visitor still can, by option or keyword)."""
    miss_text: str = DEFAULT_MISS_TEXT
    handover_text: str = DEFAULT_HANDOVER_TEXT
    busy_text: str = DEFAULT_BUSY_TEXT
    """Said instead of handing over while the queue holds its maximum of waiting chats."""

    @property
    def quick_replies(self) -> tuple[QuickReply, ...]:
        return tuple(option.as_quick_reply() for option in self.menu)


def fold(text: str) -> str:
    """How the bot compares what the visitor wrote with labels and keywords: any case,
    runs of white space as one space."""
    return " ".join(text.casefold().split())
