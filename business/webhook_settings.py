"""The ``[webhooks]`` section of the engine's configuration."""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True, slots=True, kw_only=True)
class WebhookSettings:
    """How webhooks are allowed and delivered. Each field is checked at construction,
    with a message that starts with its name."""

    allow_private_targets: bool = False
    """Allow targets on loopback, private, link-local and other non-public addresses.
    Off: a tenant cannot use webhooks to reach the operator's internal network. ``chat-
    engine dev`` turns it on (a receiver on the same machine)."""
    timeout: float = 10.0
    """Seconds one attempt may take, connecting included; longer counts as a failure."""
    first_retry: float = 10.0
    """Seconds before the first retry (each retry waits twice as long as the one before,
    up to ``max_retry_interval``; each wait is jittered down to half of it)."""
    max_retry_interval: float = 3600.0
    horizon: float = 86400.0
    """Seconds after an event during which it is retried; then it is given up (failed)."""
    max_attempts: int | None = None
    """Give up after this many attempts even within the horizon; None: the horizon
    decides alone."""
    concurrency: int = 32
    """Attempts in flight at once in this process."""
    per_target_concurrency: int = 4
    """Attempts in flight at once per subscription: a slow target takes no more."""
    poll_interval: float = 1.0
    """Seconds between looks for due deliveries when nothing woke the dispatcher."""
    retention: float = 604800.0
    """Seconds delivered and failed deliveries stay in the delivery log."""
    max_per_tenant: int = 20
    """Subscriptions one tenant may have (each costs a row per event on the message path)."""

    def __post_init__(self) -> None:
        for name in ("timeout", "first_retry", "max_retry_interval", "horizon", "poll_interval"):
            value = getattr(self, name)
            if not (math.isfinite(value) and value > 0):
                raise ValueError(f"{name} must be a positive number of seconds, not {value}")
        if self.max_retry_interval < self.first_retry:
            raise ValueError(
                f"max_retry_interval must be at least first_retry ({self.first_retry}), "
                f"not {self.max_retry_interval}"
            )
        if not (math.isfinite(self.retention) and self.retention >= 0):
            raise ValueError(f"retention must be 0 or more seconds, not {self.retention}")
        if self.max_attempts is not None and self.max_attempts < 1:
            raise ValueError(f"max_attempts must be 1 or more (or unset), not {self.max_attempts}")
        for name in ("concurrency", "per_target_concurrency", "max_per_tenant"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be 1 or more, not {getattr(self, name)}")

    @property
    def lease(self) -> float:
        """Seconds an attempt holds its delivery: past that (the process died mid-attempt)
        another may take it."""
        return self.timeout + 30.0
