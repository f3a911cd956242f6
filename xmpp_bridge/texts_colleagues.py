"""The agent desk's words for several agents in one chat and for supervisors (re-exported
by ``xmpp_bridge.texts``, where the bridge reads them)."""

from __future__ import annotations

from collections.abc import Sequence

HELP_TRANSFER = "offer the chat to that agent, or hand it to that queue; the note goes along"
HELP_INVITE = "a conference: the agent joins and the visitor sees them"
HELP_CONSULT = "ask that agent in: they see the chat, the visitor never sees them"
HELP_WHISPER = "(supervisors) a word to the agents in this chat; the visitor never sees it"
HELP_BARGE = "(supervisors) join this chat: the visitor sees you and what you write"
WHISPERED = "Whispered to the agents in this chat."
BARGED = "You joined the chat: the visitor sees you, and everything you write here."


def consulted_by(name: str) -> str:
    """Put before what a consultant wrote: the visitor did not see it."""
    return f"[consult, {name}] "


def whispered_by(name: str) -> str:
    """Put before what a supervisor whispered: the visitor did not see it."""
    return f"[whisper, {name}] "


MONITOR_PREFIX = "[monitor] "
"""Put before everything a supervisor who monitors a chat gets from it."""


def person_offer_header(kind: str, by: str, note: str | None) -> str:
    """The first line of a colleague's transfer, invitation or consult offer."""
    what = {
        "transfer": f"{by} transfers this chat to you",
        "invite": f"{by} invites you into this chat (the visitor will see you)",
        "consult": f"{by} asks you to consult on this chat (the visitor will not see you)",
    }.get(kind, f"{by} offers you this chat")
    return f"{what}: {note}" if note else f"{what}."


def offered_to_colleague(kind: str, name: str, seconds: int) -> str:
    """The answer to ``!transfer``/``!invite``/``!consult`` to a person."""
    what = {"transfer": "Transfer", "invite": "Invitation", "consult": "Consult"}.get(kind, "Offer")
    return f"{what} offered to {name}: waiting for their answer ({seconds} s)."


def transferred_to_queue(queue: str) -> str:
    return f"You handed the chat to queue {queue}; the next agent there gets it."


LEFT_CHAT = "You left the chat. It goes on without you."


def colleague_answered(name: str, kind: str, outcome: str) -> str | None:
    """For the agent who made a colleague an offer: how it ended without them."""
    what = {"transfer": "transfer", "invite": "invitation", "consult": "consult"}.get(kind)
    if what is None:
        return None
    if outcome == "declined":
        return f"{name} declined your {what}."
    if outcome == "timed_out":
        return f"{name} did not answer your {what} in time."
    return None


def transferred(by: str, to: str | None, queue: str | None) -> str:
    """What the others in the chat are told of a transfer."""
    if to is not None:
        return f"{by} transferred the chat to {to}."
    return f"{by} handed the chat to queue {queue}."


def member_joined(name: str, role: str) -> str:
    if role == "consultant":
        return f"{name} joined to consult (the visitor does not see them)."
    return f"{name} joined the chat."


HELP_LEAVE = "leave a chat you were invited or consulted in; it goes on without you"


HELP_ENGINE_MONITOR = (
    "(supervisors) watch a chat (its id or c-… address), or all of an agent's chats (their "
    "address), silently: copies arrive from the chats' addresses, marked [monitor]"
)
HELP_ENGINE_UNMONITOR = "(supervisors) stop watching that chat, or that agent's chats"
ADHOC_MONITOR = "Monitor a chat or an agent"
ADHOC_UNMONITOR = "Stop monitoring"
ADHOC_MONITOR_FIELD = "Chat (id or c-… address) or agent address"


def monitoring(
    stop: bool, agent: str | None, conversations: Sequence[str], remembered: bool
) -> str:
    """The answer to ``monitor``/``unmonitor``: what is watched now (or no more)."""
    chats = ", ".join(conversations) if conversations else "none open now"
    if agent is not None and stop:
        return f"You no longer monitor {agent}'s chats. Stopped: {chats}."
    if agent is not None:
        return (
            f"You monitor {agent}'s chats, now and as they come. Open now: {chats}. "
            "Copies arrive from each chat's address, marked [monitor]."
        )
    if stop:
        return "You no longer monitor that chat." if remembered else "You were not monitoring it."
    return f"You monitor {chats}: copies arrive from its address, marked [monitor]."
