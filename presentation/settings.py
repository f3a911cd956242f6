"""Settings of the web edge, filled in by the composition root."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True, kw_only=True)
class WebSettings:
    public_url: str = "http://127.0.0.1:8080"
    """Where browsers reach this server; used in the install snippet the demo page shows."""

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

    redis_url: str | None = None
    """Redis as python-socketio's message queue when several engine processes serve
    visitors; None keeps rooms in this process."""

    event_burst: int = 60
    """Client events one socket may send at once before ``rate_limited`` acks start."""

    event_rate_per_second: float = 10.0
    """Sustained client events per second and socket."""
