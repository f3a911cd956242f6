"""The real clock (tests use a fake one through the same ``business.ports.Clock``)."""

from __future__ import annotations

from datetime import UTC, datetime


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)
