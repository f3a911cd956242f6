"""The agent desk's words for rich messages (``business.rich``): what an agent's XMPP
client shows of a card, a carousel, a list or buttons, and of the visitor's choice, in
the tenant's language (``xmpp_bridge.i18n_rich``; English by default)."""

from __future__ import annotations

from collections.abc import Sequence

from business.rich import Rich, RichReply
from business.rich_fallback import fallback_text, reply_text
from xmpp_bridge import texts_bots
from xmpp_bridge.i18n_rich import rich_notices


def with_rich(text: str, rich: Rich | None, language: str = "en") -> str:
    """A message's text with its rich content under it as numbered plain lines (the
    numbers are the ones the visitor's choice is reported with)."""
    if rich is None:
        return text
    lines = fallback_text(rich, rich_notices(language).words)
    return f"{text}\n{lines}" if text.strip() else lines


def visitor_chose(name: str, reply: RichReply, language: str = "en") -> str:
    """The visitor's answer to a rich message: ``Vera chose: 2) Rome``."""
    return rich_notices(language).chose.format(name=name, choices=reply_text(reply))


def bot_options(labels: Sequence[str], language: str = "en") -> str:
    """After a bot's message: the buttons it showed the visitor (nothing when none)."""
    template = rich_notices(language).options
    if template is None or not labels:
        return texts_bots.bot_options(labels)
    return template.format(labels=" | ".join(labels))
