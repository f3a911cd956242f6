"""The built-in rules bot: greeting, a menu as quick replies, keyword answers and the
hand-over to a person. Pure and immediate: it reads only its configuration and the
conversation's miss count.

What the visitor wrote is compared case-insensitively, runs of spaces as one, and tried
in this order:

0. the visitor's answer to one of the bot's rich messages (``business.rich_replies``):
   the first chosen payload that is a menu option's id chooses that option; other
   payloads go on as the chosen labels, which are the answer's text;
1. a menu option, by its label or id (a click on a quick reply sends the label; a
   full stop or question mark after it does not matter): its answer, or the hand-over;
2. a hand-over keyword anywhere in it, as a whole word or phrase ("can I talk to a
   person?"): the hand-over; asking for a person wins over a keyword answer;
3. the first keyword answer with a keyword in it: that answer;
4. otherwise a miss: the miss text, or the hand-over once ``handover_after_misses`` misses
   came in a row.

Every message of the bot carries the menu again, so the visitor always has it at hand,
unless the answer has rich content of its own (the greeting's ``greeting_rich``, an
option's or a keyword answer's ``rich``): that goes under it instead, and may offer the
menu's options among its choices by their ids.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence

from business.bot_model import BotConfig, BotMenuOption, fold
from business.bot_ports import BotAction, BotReply
from business.conversation import Conversation
from business.events import MessagePosted
from business.rich import Rich

_END_PUNCTUATION = " .,;:!?"


class RulesBot:
    """``business.bot_ports.Bot`` for ``BotKind.RULES``."""

    async def greet(self, conversation: Conversation, config: BotConfig) -> BotReply:
        return reply(config, BotAction.ANSWER, config.greeting, config.greeting_rich)

    async def answer(
        self, conversation: Conversation, config: BotConfig, message: MessagePosted
    ) -> BotReply:
        payloads = () if message.reply_to is None else message.reply_to.payloads
        return decide(
            config, message.text, misses_before=conversation.bot_misses, payloads=payloads
        )


def decide(
    config: BotConfig, text: str, *, misses_before: int, payloads: Sequence[str] = ()
) -> BotReply:
    """The rules bot's reply to ``text``, or to the rich choice with ``payloads`` whose
    labels ``text`` is (see the module docstring)."""
    said = fold(text)
    by_id = {option.id: option for option in config.menu}
    option = next((by_id[p] for p in payloads if p in by_id), None) or _chosen(config.menu, said)
    if option is not None:
        if option.handover:
            return handover(config)
        assert option.answer is not None
        return reply(config, BotAction.ANSWER, option.answer, option.rich)
    if any(_mentions(said, keyword) for keyword in config.handover_keywords):
        return handover(config)
    for faq in config.faq:
        if any(_mentions(said, keyword) for keyword in faq.keywords):
            return reply(config, BotAction.ANSWER, faq.answer, faq.rich)
    limit = config.handover_after_misses
    if limit and misses_before + 1 >= limit:
        return handover(config)
    return reply(config, BotAction.MISS, config.miss_text)


def reply(config: BotConfig, action: BotAction, text: str, rich: Rich | None = None) -> BotReply:
    if rich is not None:  # its own choices instead of the menu
        return BotReply(action=action, text=text, rich=rich)
    return BotReply(action=action, text=text, quick_replies=config.quick_replies)


def handover(config: BotConfig) -> BotReply:
    # No buttons: the menu means nothing once a person is on the way.
    return BotReply(action=BotAction.HANDOVER, text=config.handover_text)


def _chosen(menu: tuple[BotMenuOption, ...], said: str) -> BotMenuOption | None:
    said = said.strip(_END_PUNCTUATION)  # "Billing?" chooses "Billing"
    for option in menu:
        if said in (option.id, fold(option.label).strip(_END_PUNCTUATION)):
            return option
    return None


def _mentions(said: str, keyword: str) -> bool:
    return _keyword_pattern(keyword).search(said) is not None


@functools.lru_cache(maxsize=4096)
def _keyword_pattern(keyword: str) -> re.Pattern[str]:
    # Whole words: "agent" must not match "agenda". ``\b`` needs a word character on the
    # keyword's side, so a keyword that starts or ends with another ("c++") is bounded
    # by no word character next to it instead.
    before = r"\b" if re.match(r"\w", keyword) else r"(?<!\w)"
    after = r"\b" if re.search(r"\w$", keyword) else r"(?!\w)"
    return re.compile(before + re.escape(keyword) + after)
