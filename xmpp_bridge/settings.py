"""Settings of the XMPP bridge: one external component connection (XEP-0114)."""

from __future__ import annotations

import re
from dataclasses import dataclass

_DOMAIN_RE = re.compile(r"[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*")


@dataclass(frozen=True, slots=True, kw_only=True)
class BridgeSettings:
    """Where the component connects and how it behaves.

    Invariants (checked at construction, naming the bad key): ``component_jid`` is a bare
    lower-case domain; delays and timeouts are positive and the minimum reconnect delay
    does not exceed the maximum.
    """

    component_jid: str = "chat.localhost"
    """The engine itself; queues are <queue>@component_jid, conversations c-<id>@component_jid."""
    secret: str
    host: str = "127.0.0.1"
    port: int = 5347
    tenant_id: str = "default"
    away_is_ready: bool = False
    reconnect_min_delay: float = 1.0
    reconnect_max_delay: float = 60.0
    handshake_timeout: float = 20.0
    """A TCP connection that has not completed the handshake by then is dropped and retried."""
    presence_relearn_timeout: float = 15.0
    """After a (re)connect, agents still marked ready who have not answered the presence
    probe by then are set not ready: their presence may have changed while the link was down."""
    delivery_flush_interval: float = 0.5
    delivery_confirm_timeout: float = 10.0
    """How long a ping confirming delivery to the XMPP server may take before the link is
    taken for dead, dropped and re-established (and the unconfirmed events resent)."""
    """How long delivery cursors may stay unwritten; it bounds duplicates after a lost link."""

    def __post_init__(self) -> None:
        if not _DOMAIN_RE.fullmatch(self.component_jid):
            raise ValueError(
                f"component_jid must be a lower-case domain such as chat.example.org, "
                f"not {self.component_jid!r}"
            )
        if not self.secret:
            raise ValueError("secret must not be empty")
        if not 0 < self.port < 65536:
            raise ValueError(f"port must be between 1 and 65535, not {self.port}")
        for key in (
            "reconnect_min_delay",
            "reconnect_max_delay",
            "handshake_timeout",
            "presence_relearn_timeout",
            "delivery_flush_interval",
            "delivery_confirm_timeout",
        ):
            if not getattr(self, key) > 0:
                raise ValueError(f"{key} must be positive")
        if self.reconnect_min_delay > self.reconnect_max_delay:
            raise ValueError("reconnect_min_delay must not exceed reconnect_max_delay")
