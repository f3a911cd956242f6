"""A queue's inactivity settings as an administrator gives them (``queue set``, the REST
queue resource): checked here, stored in seconds on the queue (``business.model.Queue``).
The CLI and the REST API take minutes (hours for messaging); the seconds are for the
engine's own tests."""

from __future__ import annotations

from business import commands as c
from business.errors import InvalidInput
from business.validation import check_storable

MAX_IDLE_SECONDS = 7 * 86400
"""A week: the longest any inactivity rule may wait."""
MAX_IDLE_TEXT = 1000
"""Characters of a queue's own alert or closing text: a system message a visitor reads
at a glance, not a page."""
IDLE_TEXTS = ("visitor_idle_alert_text", "visitor_idle_close_text")


def check_idle_seconds(name: str, seconds: int) -> int:
    if isinstance(seconds, bool) or not isinstance(seconds, int):
        raise InvalidInput(f"{name} must be a whole number")
    if not 0 <= seconds <= MAX_IDLE_SECONDS:
        raise InvalidInput(
            f"{name} must be 0 (off) to {MAX_IDLE_SECONDS // 60} minutes, "
            f"not {seconds // 60 if seconds % 60 == 0 else seconds / 60:g}"
        )
    return seconds


def check_idle_text(name: str, text: str) -> str | None:
    """A queue's own inactivity text, trimmed; None for ``""`` (the built-in text again).

    Not redacted (``business.redaction`` is for what visitors and agents type): an
    administrator writes it, and every visitor of the queue reads the same words."""
    if not isinstance(text, str):
        raise InvalidInput(f"{name} must be a text")
    if text == "":
        return None
    check_storable(text, name)
    trimmed = text.strip()
    if not trimmed:
        raise InvalidInput(
            f"{name} must not be blank (give an empty text to go back to the built-in one)"
        )
    if len(trimmed) > MAX_IDLE_TEXT:
        raise InvalidInput(f"{name} must be at most {MAX_IDLE_TEXT} characters, not {len(trimmed)}")
    return trimmed


def idle_changes(cmd: c.ConfigureQueue) -> dict[str, object]:
    """The ``Queue`` fields the inactivity settings of ``cmd`` change, each checked."""
    changes: dict[str, object] = {}
    for name in ("visitor_idle_alert", "visitor_idle_close", "agent_reply_reminder"):
        value = getattr(cmd, name)
        if value is not None:
            changes[name] = check_idle_seconds(name, value)
    if cmd.messaging_idle is not None:
        changes["messaging_idle"] = check_idle_seconds("messaging_idle", cmd.messaging_idle)
    if cmd.agent_reply_reroute is not None:
        changes["agent_reply_reroute"] = bool(cmd.agent_reply_reroute)
    for name in IDLE_TEXTS:
        text = getattr(cmd, name)
        if text is not None:
            changes[name] = check_idle_text(name, text)
    return changes


def check_idle_rules(
    *,
    visitor_idle_alert: int,
    visitor_idle_close: int,
    agent_reply_reminder: int,
    agent_reply_reroute: bool,
) -> None:
    """The settings a queue ends up with make sense together."""
    if visitor_idle_close and not visitor_idle_alert:
        raise InvalidInput(
            "visitor_idle_close needs visitor_idle_alert: the close follows the alert"
        )
    if agent_reply_reroute and not agent_reply_reminder:
        raise InvalidInput(
            "agent_reply_reroute needs agent_reply_reminder: the re-route follows the reminder"
        )
