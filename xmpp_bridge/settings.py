"""Settings of the XMPP bridge: one external component connection (XEP-0114)."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field, fields

# Labels of 1 to 63 letters, digits and inner hyphens; 253 characters in all.
_DOMAIN_RE = re.compile(
    r"(?=.{1,253}\Z)[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*"
)

DEFAULT_STANZA_BUDGET = 64 * 1024
"""Below every XMPP server's stanza size limit, with room to spare."""
MIN_STANZA_BUDGET = 4096
"""Less leaves an offer no room for what the visitor wrote."""
MAX_STANZA_BUDGET = 448 * 1024
"""An eighth below Prosody's default limit for component stanzas (512 KiB; larger ones
close the connection): the budget is counted on the bridge's serialisation, and the
server's count of the same stanza (its own namespaces, attribute order, escaping) must
not reach the limit."""

MIN_SECRET_LENGTH = 32
"""A shorter component secret could be guessed by anyone who reaches the component port."""


def is_domain(name: str) -> bool:
    """A lower-case DNS name such as ``chat.example.org``: what a component or a host of
    agents' accounts may be called. The one domain check of the engine."""
    return _DOMAIN_RE.fullmatch(name) is not None


@dataclass(frozen=True, slots=True, kw_only=True)
class BridgeSettings:
    """Where the component connects and how it behaves.

    Invariants (checked at construction, naming the bad key): ``component_jid`` is a bare
    lower-case domain; ``secret``, when given, has at least ``MIN_SECRET_LENGTH``
    characters; delays and timeouts are positive and finite, and the minimum reconnect
    delay does not exceed the maximum; ``stanza_budget`` is between ``MIN_STANZA_BUDGET``
    and ``MAX_STANZA_BUDGET``. This is the ``[xmpp]`` section of the engine's configuration.
    """

    component_jid: str = "chat.localhost"
    """The engine itself; queues are <queue>@component_jid, conversations c-<id>@component_jid.
    One component serves every tenant: an agent's address decides theirs
    (``xmpp_bridge.tenancy``)."""
    secret: str | None = field(default=None, repr=False)
    """The component's shared secret; a configuration may leave it out, but the bridge
    needs it to start (``chat-engine dev`` makes its own)."""
    host: str = "127.0.0.1"
    port: int = 5347
    away_is_ready: bool = False
    reconnect_min_delay: float = 1.0
    reconnect_max_delay: float = 60.0
    handshake_timeout: float = 20.0
    """A TCP connection that has not completed the handshake by then is dropped and retried."""
    presence_relearn_timeout: float = 15.0
    """After a (re)connect, agents still marked ready who have not answered the presence
    probe by then are set not ready: their presence may have changed while the link was down."""
    delivery_flush_interval: float = 0.5
    """How long delivery cursors may stay unwritten; it bounds duplicates after a lost link."""
    offer_poll_interval: float = 1.0
    """How often the offers whose time is up are looked for (and passed on)."""
    delivery_confirm_timeout: float = 10.0
    """How long a ping confirming delivery to the XMPP server may take before the link is
    taken for dead, dropped and re-established (and the unconfirmed events resent). While
    the server keeps sending meanwhile the wait goes on, up to three times as long: the
    answer is queued behind those stanzas (``xmpp_bridge.link.Link.round_trip``)."""
    delivery_heartbeat: float = 1.0
    """Several engine processes on PostgreSQL: how often each renews its delivery lease
    and learns which others are live (``business.delivery_ownership``)."""
    delivery_lease: float = 5.0
    """How long a process's delivery lease lasts without a renewal: the others take over
    the conversations of one that died this long (plus a heartbeat) after its last
    renewal. At least three heartbeats."""
    stanza_budget: int = DEFAULT_STANZA_BUDGET
    """The most bytes one outgoing stanza may take on the wire (UTF-8, XML-escaped).

    Servers close the component connection for a larger one (Prosody at 512 KiB, hence
    a margin: at most ``MAX_STANZA_BUDGET``), and the bridge would send it first again
    after reconnecting: offers are abridged and long messages split to stay within this,
    and the link refuses anything that still is not."""

    standby_links: bool = False
    """ejabberd with ``domain_balancing`` only: take over the component slot of an engine
    process that is gone with a stand-in connection (``xmpp_bridge.standby_link``). Never
    with Prosody, which refuses a second connection for the domain."""
    standby_interval: float = 2.0
    """How often (seconds) a process with ``standby_links`` looks for a free slot."""

    def __post_init__(self) -> None:
        if not is_domain(self.component_jid):
            raise ValueError(
                f"component_jid must be a lower-case domain such as chat.example.org, "
                f"not {self.component_jid!r}"
            )
        if self.secret is not None and len(self.secret) < MIN_SECRET_LENGTH:
            raise ValueError(
                f"secret must be at least {MIN_SECRET_LENGTH} characters long; "
                "make one with `openssl rand -hex 32`"
            )
        if not self.host:
            raise ValueError("host must not be empty")
        if not 0 < self.port < 65536:
            raise ValueError(f"port must be between 1 and 65535, not {self.port}")
        for key in _SECONDS:
            value = getattr(self, key)
            # inf would mean "never" (a flush interval of inf writes no cursor); nan
            # compares false with everything.
            if not math.isfinite(value):
                raise ValueError(f"{key} must be a finite number of seconds, not {value}")
            if not value > 0:
                raise ValueError(f"{key} must be positive")
        if self.reconnect_min_delay > self.reconnect_max_delay:
            raise ValueError("reconnect_min_delay must not exceed reconnect_max_delay")
        if self.delivery_lease < 3 * self.delivery_heartbeat:
            raise ValueError("delivery_lease must be at least three delivery_heartbeat")
        if not MIN_STANZA_BUDGET <= self.stanza_budget <= MAX_STANZA_BUDGET:
            raise ValueError(
                f"stanza_budget must be between {MIN_STANZA_BUDGET} and {MAX_STANZA_BUDGET} "
                f"bytes, not {self.stanza_budget}"
            )


_SECONDS = tuple(f.name for f in fields(BridgeSettings) if f.type in (float, "float"))
"""Every float setting: delays and timeouts, in seconds."""
