"""A queue's inactivity settings as an administrator gives them (``queue set``, the REST
queue resource): checked here, stored in seconds on the queue (``business.model.Queue``).
The CLI and the REST API take minutes (hours for messaging); the seconds are for the
engine's own tests."""

from __future__ import annotations

from business import commands as c
from business.errors import InvalidInput

MAX_IDLE_SECONDS = 7 * 86400
"""A week: the longest any inactivity rule may wait."""


def check_idle_seconds(name: str, seconds: int) -> int:
    if isinstance(seconds, bool) or not isinstance(seconds, int):
        raise InvalidInput(f"{name} must be a whole number")
    if not 0 <= seconds <= MAX_IDLE_SECONDS:
        raise InvalidInput(
            f"{name} must be 0 (off) to {MAX_IDLE_SECONDS // 60} minutes, "
            f"not {seconds // 60 if seconds % 60 == 0 else seconds / 60:g}"
        )
    return seconds


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
