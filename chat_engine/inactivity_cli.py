"""``chat-engine queue set`` options of the inactivity rules (``business.inactivity``):
minutes for live chat, hours for messaging mode; the queue stores seconds. The alert and
closing texts are the queue's own, or the built-in ones (``''`` goes back to those)."""

from __future__ import annotations

import argparse
from typing import Any

from business.errors import InvalidInput
from business.model import Queue

_MINUTES = ("visitor_idle_alert", "visitor_idle_close", "agent_reply_reminder")
_TEXTS = ("visitor_idle_alert_text", "visitor_idle_close_text")


def add_set_arguments(set_: argparse.ArgumentParser) -> None:
    set_.add_argument(
        "--visitor-idle-alert",
        type=int,
        metavar="MIN",
        help="minutes of the visitor's silence after an agent's message before they are "
        "asked whether they are still there (0: off, the default)",
    )
    set_.add_argument(
        "--visitor-idle-close",
        type=int,
        metavar="MIN",
        help="minutes after that alert before the chat ends for inactivity (0: never)",
    )
    set_.add_argument(
        "--agent-reply-reminder",
        type=int,
        metavar="MIN",
        help="minutes a visitor's message may wait for an answer before the agent is "
        "reminded (0: off, the default)",
    )
    set_.add_argument(
        "--agent-reply-reroute",
        action=argparse.BooleanOptionalAction,
        help="the same time again after the reminder, put the chat back in the queue",
    )
    set_.add_argument(
        "--messaging-idle-hours",
        type=int,
        metavar="HOURS",
        help="messaging mode: hours without a message after which the visit is over and "
        "the thread leaves its agent (0: never; default 24)",
    )
    set_.add_argument(
        "--visitor-idle-alert-text",
        metavar="TEXT",
        help="what the silent visitor is asked, in place of the built-in text in the "
        "tenant's language ('' goes back to it)",
    )
    set_.add_argument(
        "--visitor-idle-close-text",
        metavar="TEXT",
        help="what the visitor reads when the chat ends for inactivity ('' goes back to "
        "the built-in text)",
    )


def given(args: argparse.Namespace) -> bool:
    return any(
        getattr(args, name) is not None
        for name in (*_MINUTES, "agent_reply_reroute", "messaging_idle_hours", *_TEXTS)
    )


def idle_changes(args: argparse.Namespace) -> dict[str, Any]:
    """The ``ConfigureQueue`` fields the options ask for, in seconds."""
    changes: dict[str, Any] = {}
    for name in _MINUTES:
        value = getattr(args, name)
        if value is not None:
            changes[name] = _seconds(name, value, 60)
    if args.messaging_idle_hours is not None:
        changes["messaging_idle"] = _seconds(
            "messaging_idle_hours", args.messaging_idle_hours, 3600
        )
    if args.agent_reply_reroute is not None:
        changes["agent_reply_reroute"] = args.agent_reply_reroute
    for name in _TEXTS:
        if getattr(args, name) is not None:
            changes[name] = getattr(args, name)
    return changes


def _seconds(name: str, value: int, unit: int) -> int:
    if value < 0:
        raise InvalidInput(f"--{name.replace('_', '-')} must be 0 or more, not {value}")
    return value * unit


def describe(queue: Queue) -> list[str]:
    def minutes(seconds: int) -> str:
        return "off" if not seconds else f"{seconds / 60:g} min"

    reroute = ", then re-routed" if queue.agent_reply_reroute else ""
    return [
        f"queue {queue.name}: silent visitor alerted after {minutes(queue.visitor_idle_alert)}, "
        f"chat closed {minutes(queue.visitor_idle_close)} later",
        f"queue {queue.name}: agent reminded of an unanswered visitor after "
        f"{minutes(queue.agent_reply_reminder)}{reroute}",
        f"queue {queue.name}: messaging visit over after "
        + ("never" if not queue.messaging_idle else f"{queue.messaging_idle / 3600:g} h")
        + " without messages",
        f"queue {queue.name}: alert text {_text(queue.visitor_idle_alert_text)}",
        f"queue {queue.name}: closing text {_text(queue.visitor_idle_close_text)}",
    ]


def _text(own: str | None) -> str:
    return "built-in (in the tenant's language)" if own is None else repr(own)
