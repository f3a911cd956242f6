"""Every text an agent reads, in one place, ready for translation.

Each is a constant or a function of the values it shows; nothing else in ``xmpp_bridge``
writes words an agent sees (log messages are for operators and stay where they are).
A translation replaces this module's values and keeps its names and parameters (and
those of ``texts_visitor``: the offer's header, the channel, ``!info`` and ``!history``).

Texts that repeat what somebody typed shorten it first (``shorten``), so an answer never
grows with the stanza it answers. Texts that carry visitor data (offers) are cut to the
stanza budget by the converters, which know how many bytes there are to spend.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import timedelta

from business.model import ParticipantKind
from xmpp_bridge.texts_bots import (
    HELP_BOT as HELP_BOT,
    SENT_BACK_TO_BOT as SENT_BACK_TO_BOT,
    bot_options as bot_options,
)
from xmpp_bridge.texts_colleagues import (
    ADHOC_MONITOR as ADHOC_MONITOR,
    ADHOC_MONITOR_FIELD as ADHOC_MONITOR_FIELD,
    ADHOC_UNMONITOR as ADHOC_UNMONITOR,
    BARGED as BARGED,
    HELP_BARGE as HELP_BARGE,
    HELP_CONSULT as HELP_CONSULT,
    HELP_ENGINE_MONITOR as HELP_ENGINE_MONITOR,
    HELP_ENGINE_UNMONITOR as HELP_ENGINE_UNMONITOR,
    HELP_INVITE as HELP_INVITE,
    HELP_LEAVE as HELP_LEAVE,
    HELP_TRANSFER as HELP_TRANSFER,
    HELP_WHISPER as HELP_WHISPER,
    LEFT_CHAT as LEFT_CHAT,
    MONITOR_PREFIX as MONITOR_PREFIX,
    WHISPERED as WHISPERED,
    colleague_answered as colleague_answered,
    consulted_by as consulted_by,
    member_joined as member_joined,
    monitoring as monitoring,
    offered_to_colleague as offered_to_colleague,
    person_offer_header as person_offer_header,
    transferred as transferred,
    transferred_to_queue as transferred_to_queue,
    whispered_by as whispered_by,
)

ELLIPSIS = "…"
"""Ends anything that was cut short."""

_ECHO_CHARS = 40
"""How much of a word somebody typed an answer repeats."""


# -- formatting ---------------------------------------------------------------------


def shorten(text: str, max_chars: int = _ECHO_CHARS) -> str:
    """``text`` with at most ``max_chars`` characters, ending in an ellipsis if cut."""
    return text if len(text) <= max_chars else text[: max_chars - 1] + ELLIPSIS


def format_duration(delta: timedelta) -> str:
    """``45 s``, ``3 min 12 s``, ``2 h 5 min``: precise enough for a wait time."""
    seconds = max(0, int(delta.total_seconds()))
    if seconds < 60:
        return f"{seconds} s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes} min {seconds} s" if seconds else f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes} min" if minutes else f"{hours} h"


def _plural(count: int, one: str, many: str) -> str:
    return f"{count} {one if count == 1 else many}"


# -- offers -------------------------------------------------------------------------


def offer_page(title: str | None, url: str | None) -> str:
    if title and url:
        return f"Page: {title} - {url}"
    return f"Page: {title or url}"


def offer_referrer(referrer: str) -> str:
    return f"Referrer: {referrer}"


def offer_field(key: str, value: str) -> str:
    return f"{key}: {value}"


def offer_more_fields(count: int) -> str:
    """After the context fields an offer had no room for."""
    return f"({_plural(count, 'more field', 'more fields')} not shown)"


def offer_earlier_messages(count: int) -> str:
    """Before the messages an offer shows, when older ones did not fit."""
    return f"({_plural(count, 'earlier message', 'earlier messages')} not shown)"


OFFER_NO_MESSAGES = "(no messages yet)"


def offer_footer(seconds: int) -> str:
    """The offer's last line: how to take it, and for how long (AGENT-DESK.md)."""
    return f"Reply to take this chat, or !decline. ({seconds} s)"


OFFER_TAKEN = "You took this chat. Everything you write here goes to the visitor."
OFFER_TAKEN_FOOTER = "This chat is yours: answer here. !help lists commands."
OFFER_DECLINED = "You passed this chat on."


def offer_closed(outcome: str, seconds: int | None, *, routed: bool = True) -> str | None:
    """The notice in an offered chat's window when the offer ends without the agent;
    ``routed``: the router offered it (not a colleague)."""
    match outcome:
        case "timed_out" if not routed:
            return "Offer withdrawn: no answer in time."
        case "withdrawn" if not routed:
            return "Offer withdrawn: the chat ended or the offer was taken back."
        case "timed_out":
            after = f" within {seconds} s" if seconds is not None else ""
            return (
                f"Offer withdrawn: no answer{after}. You are set not ready (Not responding); "
                "set your status to Available again to get chats."
            )
        case "withdrawn":
            return "Offer withdrawn: the visitor left or the chat went elsewhere."
        case _:
            return None


# -- in a conversation window -------------------------------------------------------


def said_by(name: str, kind: ParticipantKind = ParticipantKind.AGENT) -> str:
    """Put before what somebody other than the visitor said (the visitor is the contact).
    A bot or the system (an integrator's messages) is named as one, so nobody takes it
    for a colleague: ``[Bot Helper]``, ``[System]``."""
    if kind in (ParticipantKind.BOT, ParticipantKind.SYSTEM):
        label = _SENDER_KINDS[kind]
        return f"[{label}] " if name.casefold() == label.casefold() else f"[{label} {name}] "
    return f"[{name}] "


_SENDER_KINDS = {ParticipantKind.BOT: "Bot", ParticipantKind.SYSTEM: "System"}


def joined(name: str) -> str:
    return f"{name} joined the chat."


def left(name: str) -> str:
    return f"{name} left the chat."


CHAT_ENDED = "This chat has ended; messages sent here no longer reach anyone."


def note_by(name: str, text: str) -> str:
    """An internal note somebody else wrote in the conversation."""
    return f"[note from {name}] {text}"


def wrap_up_recorded(code: str | None, note: str | None) -> str:
    """The notice of how a chat was closed."""
    parts = [f"code {code}"] if code else []
    if note:
        parts.append(f"note: {note}")
    return "Wrap-up recorded: " + "; ".join(parts) + "."


CHAT_ON_HOLD = (
    "This chat is on hold and no longer counts toward your chats. The visitor's next "
    "message brings it back: to you if you are ready and have room, else to the queue. "
    "!unhold takes it back now."
)
CHAT_OFF_HOLD = "The chat is back with you: everything you write here goes to the visitor."
CHAT_RETURNED = "The visitor wrote again: the chat is back with you."
NOTE_SAVED = "Note saved. Agents see it in this chat and its history; the visitor never does."
NOTE_EMPTY = "Write the note after the command: !note <text>"
NO_CANNED = "There are no canned responses for this queue."


def canned_list(entries: list[tuple[str, str]]) -> str:
    """The answer to ``!canned``: each response's name and the start of its text."""
    lines = ["Canned responses (send one with !canned <name>):"]
    lines += [f"{name} - {shorten(text)}" for name, text in entries]
    return "\n".join(lines)


def canned_sent(text: str) -> str:
    return f"Sent: {text}"


def unknown_canned(name: str) -> str:
    return f"No canned response {shorten(name)!r} here; !canned lists them"


# -- commands in a conversation -----------------------------------------------------

AGENT_HELP_HEADER = "Commands in a chat:"
LITERAL_BANG = "!!text - send a message that starts with '!'"
AGENT_HELP_FOOTER = "Everything else you write here goes to the visitor."

HELP_INFO = "who the visitor is: name, details from the website, pages, earlier chats"
HELP_HISTORY = "the visitor's earlier chats, with their last n messages (default 5)"
HELP_END = "end this chat, with a wrap-up code of the queue and a note if you like"
HELP_ACCEPT = "take the chat offered to you (or just reply to the visitor)"
HELP_DECLINE = "pass the chat offered to you on to another agent"
HELP_CANNED = "list this queue's canned responses, or send the one named"
HELP_NOTE = "an internal note: agents see it here and in the history, the visitor never"
HELP_HOLD = "put this chat on hold: it stops counting toward your chats until the visitor writes"
HELP_UNHOLD = "take the chat on hold back now"
HELP_HELP = "this list"


def command_line(prefix: str, name: str, synopsis: str, help_text: str) -> str:
    """One line of a command list: ``!end [code] [text] - end this chat``."""
    usage = f"{prefix}{name} {synopsis}" if synopsis else f"{prefix}{name}"
    return f"{usage} - {help_text}"


def unknown_command(word: str) -> str:
    return f"Unknown command !{shorten(word)}."


def command_not_yours(prefix: str, name: str) -> str:
    """Why a known command was refused (a refusal reason: see ``sorry``)."""
    return f"{prefix}{name} is not one of your commands here"


# -- commands to the engine ---------------------------------------------------------

HELP_ENGINE_HELP = "this text"
HELP_ENGINE_STATUS = "whether you are ready, how many chats you take and your queues"


def engine_help(component: str, away_is_ready: bool, commands: Sequence[str]) -> str:
    away = "ready too" if away_is_ready else "not ready"
    return "\n".join(
        [
            f"This is the chat engine. Chats come to you from addresses like "
            f"c-...@{component}: answer there (send !help in a chat for its commands).",
            f"Your status sets your availability: online or free for chat is ready, "
            f"away is {away}, extended away, do not disturb and offline are not ready.",
            "Commands here:",
            *commands,
        ]
    )


def engine_status(ready: bool, max_chats: int, queues: Sequence[str]) -> str:
    state = "ready" if ready else "not ready"
    return (
        f"You are {state} for chats, up to {max_chats} at a time, in queues: {', '.join(queues)}."
    )


HELP_ENGINE_CHATS = (
    "your open chats (open offers, chats on hold, and those waiting in the queue for you), "
    "each with its address"
)
HELP_ENGINE_MAX = "take up to n chats at a time"
HELP_ENGINE_QUEUES = "how many wait in each of your queues, and for how long"
MAX_USAGE = "write max <n>, a number of chats from 1 to 100"


def engine_chats(chats: Sequence[tuple[str, str, str, bool]], parked: Collection[str] = ()) -> str:
    """(conversation JID, visitor, queue, offered only) per chat; ``parked``: the JIDs of
    those on hold, waiting for the visitor (``!hold``, a thread opened by ``!newthread``)."""
    if not chats:
        return "You have no open chats."
    lines = [f"Your open chats ({len(chats)}):"]
    for jid, visitor, queue, offered in chats:
        note = " - offered to you" if offered else " - on hold" if jid in parked else ""
        lines.append(f"{jid} - {visitor} (queue {queue}){note}")
    return "\n".join(lines)


def engine_capacity(max_chats: int) -> str:
    return f"You now take up to {max_chats} chats at a time."


def engine_queues(standings: Sequence[tuple[str, int, timedelta | None]]) -> str:
    lines = []
    for queue, waiting, longest in standings:
        wait = f", longest {format_duration(longest)}" if longest is not None else ""
        lines.append(f"{queue}: {waiting} waiting{wait}")
    return "\n".join(lines) or "You are in no queue."


def unknown_engine_command(word: str) -> str:
    return f"Unknown command {shorten(word)!r}."


# XEP-0050 ad-hoc commands at the engine's JID: the names clients list, and the forms.
ADHOC_STATUS = "Status"
ADHOC_CHATS = "My open chats"
ADHOC_MAX = "How many chats I take"
ADHOC_MAX_FIELD = "Chats at a time (1 to 100)"
ADHOC_QUEUES = "Queues"
ADHOC_FILL_IN = "Fill in the form and complete the command."


def form_field_missing(label: str) -> str:
    return f"fill in {label!r}"


# -- refusals -----------------------------------------------------------------------
# Reasons (business errors' messages, or these) go into one of the sentences below.

NOT_THE_AGENT = "you are not the agent of this conversation"
AGENTS_ONLY = "this service is for support agents"
NOTHING_HERE = "there is nothing at this address"
SOMETHING_WENT_WRONG = "something went wrong on our side"


def not_delivered(reason: str) -> str:
    """A message of the agent's did not reach the visitor."""
    return f"Not delivered: {reason}."


def could_not_end(reason: str) -> str:
    return f"Could not end the chat: {reason}."


def sorry(reason: str) -> str:
    """Any other request that was refused."""
    return f"Sorry: {reason}."


# -- delivery to agents -------------------------------------------------------------
# Why an event was parked (see ``xmpp_bridge.parking``); goes into ``undeliverable``.

TOO_LARGE_FOR_THE_SERVER = "too large for the XMPP server"
REFUSED_BY_THE_SERVER = "the XMPP server refused it"


def undeliverable(reason: str) -> str:
    """In a conversation's window, in place of an event its agent could not be sent."""
    return (
        f"A message in this chat could not be delivered to you ({reason}); "
        "it is stored with the chat."
    )
