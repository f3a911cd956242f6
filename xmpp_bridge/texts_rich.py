"""The agent desk's words for rich messages (``business.rich``): what an agent's XMPP
client shows of a card, a carousel, a list or buttons, and of the visitor's choice."""

from __future__ import annotations

from business.rich import Rich, RichReply, fallback_text, reply_text


def with_rich(text: str, rich: Rich | None) -> str:
    """A message's text with its rich content under it as numbered plain lines (the
    numbers are the ones the visitor's choice is reported with)."""
    if rich is None:
        return text
    lines = fallback_text(rich)
    return f"{text}\n{lines}" if text.strip() else lines


def visitor_chose(name: str, reply: RichReply) -> str:
    """The visitor's answer to a rich message: ``Vera chose: 2) Rome``."""
    return f"{name} chose: {reply_text(reply)}"
