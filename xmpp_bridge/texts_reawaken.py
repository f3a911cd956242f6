"""What agents read about held chats waiting in the queue for them alone
(``business.reawaken``); the same rules as ``xmpp_bridge.texts`` hold for a translation."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

from xmpp_bridge.texts import format_duration

RESERVED_MARK = "kept for you"


def reserved_chats(chats: Sequence[tuple[str, str, str, timedelta]]) -> str:
    """(conversation JID, visitor, queue, time left) per chat whose visitor answered while
    it was on hold and its agent could not take it: it waits in the queue for them."""
    lines = [
        f"Waiting in the queue for you ({len(chats)}): the visitor answered while the chat "
        "was on hold; it is offered to you as soon as you are ready and have room, and to "
        "anybody once its time is up:"
    ]
    for jid, visitor, queue, left in chats:
        lines.append(
            f"{jid} - {visitor} (queue {queue}) - {RESERVED_MARK}, {format_duration(left)} left"
        )
    return "\n".join(lines)
