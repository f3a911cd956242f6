"""Settings of the web edge: the ``[http]`` section of the engine's configuration."""

from __future__ import annotations

import dataclasses
import ipaddress
import math
from dataclasses import dataclass, field
from urllib.parse import urlsplit


@dataclass(frozen=True, slots=True, kw_only=True)
class WebSettings:
    """Invariants (checked at construction, each message starting with the field's name):
    addresses and URLs are well-formed, sizes and rates positive, every float finite."""

    host: str = "127.0.0.1"
    """Address to listen on (the composition root binds it); behind a reverse proxy keep
    loopback, ``0.0.0.0`` listens everywhere."""

    port: int = 8080
    """0 binds any free port (tests); the engine reports the one it got."""

    public_url: str | None = None
    """Where browsers reach this server, without a trailing slash; used in the install
    snippet the demo page shows. None: the address the server is bound to."""

    cors_allowed_origins: tuple[str, ...] = ()
    """Origins of the sites that embed the widget.

    Empty means same origin only: pages served by this server (such as ``/demo``) work,
    pages on other sites are refused. List each customer site (``https://shop.example``)
    or use ``("*",)`` to accept any origin. Credentials travel in the Socket.IO ``auth``
    payload, never in cookies, so ``*`` does not open the door to cross-site requests
    riding on a visitor's cookies; it only lets any site embed the widget.
    """

    widget_title: str = "Chat with us"
    max_http_buffer_size: int = 1_000_000
    """Largest Socket.IO packet accepted; a bigger one closes the connection."""

    redis_url: str | None = field(default=None, repr=False)
    """Redis as python-socketio's message queue when several engine processes serve
    visitors; None keeps rooms in this process."""

    event_burst: int = 60
    """Client events one visitor may send at once before ``rate_limited`` acks start.
    Shared by all the visitor's sockets (tabs, reconnects), so reconnecting does not
    refill it."""

    event_rate_per_second: float = 10.0
    """Sustained client events per second and visitor."""

    sync_burst: int = 20
    """``sync`` requests one visitor may send at once (they also count as events)."""

    sync_rate_per_second: float = 2.0
    """Sustained ``sync`` requests per second and visitor: each may read many events."""

    sync_reply_max_bytes: int = 262_144
    """Encoded JSON of the events in one ``sync`` reply: events stop before the next one
    would pass it (one always goes) and ``has_more`` says to sync again."""

    event_inline_max_bytes: int = 65_536
    """Encoded JSON of one event sent inline, live or in a ``sync`` reply; a larger one
    goes as an ``event.ref`` that the client fetches over HTTP
    (``GET /visitor-api/v1/conversations/{id}/events/{seq}``, with the visitor's token),
    so one huge message does not hold up the socket's other packets."""

    conversation_burst: int = 10
    """``conversation.start`` and ``conversation.end`` one visitor may send at once."""

    conversation_rate_per_second: float = 0.1
    """Sustained starts and ends per second and visitor (0.1: six a minute)."""

    connect_burst: int = 60
    """Connections one client address may open at once. Behind a reverse proxy turn
    ``trust_forwarded_for`` on, or every visitor counts as the proxy's address."""

    connect_rate_per_second: float = 2.0
    """Sustained connections per second and client address."""

    new_visitor_burst: int = 30
    """New visitors (a connect without a known ``visitor_token``) one client address may
    create at once; returning visitors are not counted."""

    new_visitor_rate_per_second: float = 0.5
    """Sustained new visitors per second and client address."""

    widget_read_burst: int = 120
    """Reads of the widget's configuration and availability one client address may make
    at once (every page view with the widget makes one or two). Its own budget, so page
    views do not use up the connects of the chats on them."""

    widget_read_rate_per_second: float = 5.0
    """Sustained widget configuration and availability reads per second and address."""

    widget_config_cache_seconds: float = 15.0
    """How long this process reuses a tenant's widget configuration before reading it
    again (a change made through this process shows at once); 0: read every time."""

    widget_availability_cache_seconds: float = 3.0
    """How long this process reuses a queue's availability (``/visitor-api/v1/availability``);
    0: read every time."""

    rate_limit_max_keys: int = 100_000
    """Client addresses or visitors each rate limit remembers; idle ones are forgotten
    as soon as they would have a full budget again, the least recently seen first when
    this many are busy."""

    trust_forwarded_for: bool = False
    """Take the client address from ``X-Forwarded-For`` (the right-most hop that is not
    a trusted proxy) instead of the peer. Only behind a reverse proxy that appends to
    that header: otherwise clients could claim any address."""

    trusted_proxies: tuple[str, ...] = ()
    """Addresses or networks (``10.0.0.0/8``) of the reverse proxies in front of the
    engine, skipped in ``X-Forwarded-For``; a peer not among them is taken as the client.
    Empty: the peer is the one trusted proxy."""

    max_queued_packets: int = 64
    """Packets a socket may have waiting to be sent. A client that falls this far behind
    (it stopped reading) is disconnected; what waits is bounded by this times the
    largest packet (a sync reply, ``sync_reply_max_bytes``)."""

    websocket_send_buffer_bytes: int = 262_144
    """The kernel send buffer of each WebSocket connection (``SO_SNDBUF``; 0: the
    kernel's autotuning, up to 4 MiB a connection on Linux), so that a client who stops
    reading fills it soon and is cut off by ``max_queued_packets``
    (``presentation.send_buffer``)."""

    output_check_seconds: float = 1.0
    """How often sockets are checked for a backlog of pushed events (replies are
    checked as they are sent)."""

    max_sockets_per_visitor: int = 20
    """Sockets (tabs, windows) one visitor may hold open in this engine process; a
    connect beyond that is refused with ``rate_limited`` until one of them closes. With
    ``max_queued_packets`` it bounds what a visitor who stops reading makes the server
    hold."""

    max_sockets_per_address: int = 200
    """Sockets one client address may hold open in this engine process, all the
    visitors behind it together (a reverse proxy's address, unless
    ``trust_forwarded_for`` is on); beyond it connects are refused like the above."""

    max_connections_per_address: int = 400
    """Engine.IO connections (long-polling sessions and WebSockets, from their handshake
    on, whether or not they carry a visitor socket yet) one client address may hold open
    in this engine process; a handshake beyond it is answered 429 ``rate_limited``. Keep
    it above ``max_sockets_per_address``, so a visitor over that cap is told why by the
    namespace, while connections that never connect cannot pile up."""

    connect_timeout_seconds: float = 10.0
    """An Engine.IO connection that has not connected to the visitor namespace this long
    after its handshake is closed (the widget connects at once)."""

    http_idle_timeout_seconds: float = 75.0
    """An HTTP connection with no request in progress is closed after this long: an idle
    keep-alive connection, and one that never finishes sending a request's headers
    (slowloris) counted from when it opened or its last response. Behind a reverse proxy
    or load balancer that keeps idle connections to the engine open, set it above that
    proxy's own idle timeout (nginx: 60 s; Google Cloud's load balancers: 600 s)."""

    drain_seconds: float = 10.0
    """How long a graceful stop (SIGTERM) lets the visitors connected here go on
    chatting, their messages acked, while new connections and conversations are refused
    and ``/readyz`` answers 503 (so load balancers send new visitors elsewhere); then
    their connections close and they reconnect. It ends sooner once none is left.
    Allow for it in the service manager's stop timeout (systemd ``TimeoutStopSec``,
    Kubernetes ``terminationGracePeriodSeconds``), with some seconds to spare."""

    api_max_body_bytes: int = 65_536
    """Largest request body the REST API (``/api/v1``) reads; a bigger one is answered
    413 ``too_large``. Its resources are configuration: a few KiB each."""

    def __post_init__(self) -> None:
        for item in dataclasses.fields(self):
            value = getattr(self, item.name)
            # inf would pass "positive" and switch a limit off; nan passes no comparison.
            if isinstance(value, float) and not math.isfinite(value):
                raise ValueError(f"{item.name} must be a finite number, not {value}")
        if not self.host:
            raise ValueError("host must not be empty")
        if not 0 <= self.port <= 65535:
            raise ValueError(f"port must be between 0 and 65535, not {self.port}")
        if self.public_url is not None and not _is_origin(self.public_url, path_allowed=True):
            raise ValueError(
                f"public_url must be an http:// or https:// URL without a trailing slash, "
                f"not {self.public_url!r}"
            )
        for origin in self.cors_allowed_origins:
            if origin != "*" and not _is_origin(origin, path_allowed=False):
                raise ValueError(
                    "cors_allowed_origins must be origins like https://www.example.com "
                    f"(scheme and host, no path or trailing slash) or *, not {origin!r}"
                )
        if not self.widget_title.strip():
            raise ValueError("widget_title must not be empty")
        if not 1024 <= self.max_http_buffer_size <= 1 << 30:
            raise ValueError(
                f"max_http_buffer_size must be between 1024 and {1 << 30}, "
                f"not {self.max_http_buffer_size}"
            )
        if self.redis_url is not None and not _is_redis_url(self.redis_url):
            # Not shown: the URL may hold a password.
            raise ValueError("redis_url must be a redis://, rediss:// or unix:// URL")
        if self.event_burst < 1:
            raise ValueError(f"event_burst must be at least 1, not {self.event_burst}")
        if not self.event_rate_per_second > 0:
            raise ValueError("event_rate_per_second must be positive")
        for name in (
            "sync_burst",
            "conversation_burst",
            "connect_burst",
            "new_visitor_burst",
            "widget_read_burst",
            "rate_limit_max_keys",
            "max_queued_packets",
            "max_sockets_per_visitor",
            "max_sockets_per_address",
            "max_connections_per_address",
        ):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1, not {getattr(self, name)}")
        for name in (
            "sync_rate_per_second",
            "conversation_rate_per_second",
            "connect_rate_per_second",
            "new_visitor_rate_per_second",
            "widget_read_rate_per_second",
            "output_check_seconds",
        ):
            if not getattr(self, name) > 0:
                raise ValueError(f"{name} must be positive")
        if self.websocket_send_buffer_bytes != 0 and not (
            4096 <= self.websocket_send_buffer_bytes <= 1 << 26
        ):
            raise ValueError(
                "websocket_send_buffer_bytes must be 0 (the kernel's) or between 4096 and "
                f"{1 << 26}, not {self.websocket_send_buffer_bytes}"
            )
        if not 0.5 <= self.connect_timeout_seconds <= 300:
            raise ValueError(
                "connect_timeout_seconds must be between 0.5 and 300, "
                f"not {self.connect_timeout_seconds}"
            )
        if not 0.5 <= self.http_idle_timeout_seconds <= 86_400:
            raise ValueError(
                "http_idle_timeout_seconds must be between 0.5 and 86400, "
                f"not {self.http_idle_timeout_seconds}"
            )
        if not 1024 <= self.api_max_body_bytes <= 1 << 24:
            raise ValueError(
                f"api_max_body_bytes must be between 1024 and {1 << 24}, "
                f"not {self.api_max_body_bytes}"
            )
        if self.sync_reply_max_bytes < 1024:
            raise ValueError(
                f"sync_reply_max_bytes must be at least 1024, not {self.sync_reply_max_bytes}"
            )
        if not 1024 <= self.event_inline_max_bytes <= 1 << 24:
            raise ValueError(
                f"event_inline_max_bytes must be between 1024 and {1 << 24}, "
                f"not {self.event_inline_max_bytes}"
            )
        for name in ("widget_config_cache_seconds", "widget_availability_cache_seconds"):
            if not 0 <= getattr(self, name) <= 300:
                raise ValueError(f"{name} must be between 0 and 300, not {getattr(self, name)}")
        if not 0 <= self.drain_seconds <= 3600:
            raise ValueError(f"drain_seconds must be between 0 and 3600, not {self.drain_seconds}")
        for proxy in self.trusted_proxies:
            try:
                ipaddress.ip_network(proxy, strict=False)
            except ValueError:
                raise ValueError(
                    f"trusted_proxies must be addresses or networks like 10.0.0.0/8, not {proxy!r}"
                ) from None


def _is_origin(url: str, *, path_allowed: bool) -> bool:
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError for a port out of range
    except ValueError:
        return False
    if parts.scheme not in ("http", "https") or not parts.hostname or url.endswith("/"):
        return False
    return path_allowed or not (parts.path or parts.query or parts.fragment)


def _is_redis_url(url: str) -> bool:
    parts = urlsplit(url)
    if parts.scheme in ("redis", "rediss"):
        return bool(parts.hostname)
    return parts.scheme == "unix" and bool(parts.path)
