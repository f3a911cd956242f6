"""When to try a failed delivery again: capped exponential backoff per conversation."""

from __future__ import annotations

from business.model import ConversationId


class RetrySchedule:
    """Due times of deliveries that failed (say, the database hiccupped reading history).

    The delay doubles from ``min_delay`` with each failure in a row, up to ``max_delay``,
    so a database that stays down costs one attempt per conversation per ``max_delay``
    instead of a busy loop. A success forgets the conversation. Times are the event
    loop's clock; the schedule itself never sleeps.
    """

    def __init__(self, *, min_delay: float, max_delay: float) -> None:
        if not 0 < min_delay <= max_delay:
            raise ValueError("retry delays must be positive, the minimum not above the maximum")
        self._min_delay = min_delay
        self._max_delay = max_delay
        self._failures: dict[ConversationId, int] = {}
        self._due: dict[ConversationId, float] = {}

    def failed(self, conversation_id: ConversationId, now: float) -> float:
        """Record a failure; returns when to try again."""
        failures = self._failures.get(conversation_id, 0)
        self._failures[conversation_id] = failures + 1
        # Past 64 doublings the cap has long won; the exponent must not overflow a float.
        delay = min(self._max_delay, self._min_delay * 2.0 ** min(failures, 64))
        due = self._due[conversation_id] = now + delay
        return due

    def succeeded(self, conversation_id: ConversationId) -> None:
        self._failures.pop(conversation_id, None)
        self._due.pop(conversation_id, None)

    def next_due(self) -> float | None:
        return min(self._due.values(), default=None)

    def take_due(self, now: float) -> list[ConversationId]:
        """Conversations whose time has come, earliest first; their failure count stays
        until ``succeeded``, so failing again waits longer."""
        due = sorted((at, cid) for cid, at in self._due.items() if at <= now)
        for _, cid in due:
            del self._due[cid]
        return [cid for _, cid in due]

    def clear(self) -> None:
        """Forget everything (the link dropped: the reconnect's replay covers it all)."""
        self._failures.clear()
        self._due.clear()
