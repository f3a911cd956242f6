"""The ``[mail]`` section of the engine's configuration: the SMTP server transcripts are
sent through, and how requests for them are limited and retried.

Mail is off until ``host`` is set: then a visitor's request is refused as
``Unavailable``, the widget hides its button, and no transcript is sent automatically.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Final

from business.email_addresses import check_email
from business.errors import InvalidInput

TLS_MODES: Final = ("none", "starttls", "tls")


@dataclass(frozen=True, slots=True, kw_only=True)
class MailSettings:
    """Each field is checked at construction, with a message that starts with its name."""

    host: str | None = None
    """The SMTP server (a submission server or a local relay); None: mail is off."""
    port: int | None = None
    """None: 587 for ``starttls``, 465 for ``tls``, 25 for ``none``."""
    tls: str = "starttls"
    """``starttls`` (upgrade a plain connection, required), ``tls`` (TLS from the first
    byte, "SMTPS") or ``none`` (a relay on this machine or a trusted network only)."""
    ca_bundle: str | None = None
    """A PEM file of the certificate authorities that may sign the server's certificate
    (an internal relay's own CA); None: the system's. Certificates are always checked."""
    username: str | None = None
    """Log in with this user and ``password``; None: no login (a relay that trusts us)."""
    password: str | None = field(default=None, repr=False)
    from_address: str | None = None
    """The sender of every transcript, e.g. ``noreply@chat.example.com``; required with
    ``host``. Its display name is the tenant's name unless ``from_name`` is set."""
    from_name: str | None = None
    timeout: float = 30.0
    """Seconds one attempt may take, from connecting to the server's answer."""
    max_requests: int = 3
    """Transcripts a visitor may ask for per conversation (the automatic one aside)."""
    max_addresses: int = 1
    """Addresses per conversation, besides the one it knows (the pre-chat form's or the
    site's), that a visitor may have its transcript sent to."""
    attempts: int = 5
    """Attempts per transcript before it is given up; a refusal that cannot change (an
    address the server says does not exist) is given up at once."""
    first_retry: float = 30.0
    """Seconds before the first retry; each later one waits four times as long, up to an
    hour."""
    poll_interval: float = 5.0
    """Seconds between looks for transcripts due, when nothing woke the sender (retries;
    transcripts queued by another engine process)."""
    retention: float = 7 * 86400.0
    """Seconds a sent or given-up transcript stays in the outbox (then the sender's loop
    removes it; the address goes with it)."""

    def __post_init__(self) -> None:
        if self.host is not None and not self.host.strip():
            raise ValueError("host must not be empty (leave it unset to turn mail off)")
        if self.port is not None and not 0 < self.port < 65536:
            raise ValueError(f"port must be 1 to 65535, not {self.port}")
        if self.tls not in TLS_MODES:
            raise ValueError(f"tls must be one of {', '.join(TLS_MODES)}, not {self.tls!r}")
        if self.host is not None and self.from_address is None:
            raise ValueError("from_address is required when host is set")
        if self.from_address is not None:
            try:
                check_email(self.from_address)
            except InvalidInput as exc:
                raise ValueError(f"from_address: {exc}") from None
        if self.from_name is not None and not _printable_line(self.from_name):
            raise ValueError("from_name must be one line of printable text")
        if self.username is not None and self.password is None:
            raise ValueError("password is required with username")
        if self.password is not None and self.username is None:
            raise ValueError("username is required with password")
        for name in ("timeout", "first_retry", "poll_interval", "retention"):
            value = getattr(self, name)
            if not (math.isfinite(value) and value > 0):
                raise ValueError(f"{name} must be a positive number of seconds, not {value}")
        if self.max_addresses < 0:
            raise ValueError(f"max_addresses must be 0 or more, not {self.max_addresses}")
        for name in ("max_requests", "attempts"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be 1 or more, not {getattr(self, name)}")

    @property
    def enabled(self) -> bool:
        return self.host is not None

    @property
    def effective_port(self) -> int:
        if self.port is not None:
            return self.port
        return {"starttls": 587, "tls": 465}.get(self.tls, 25)

    @property
    def lease(self) -> float:
        """Seconds an attempt holds its transcript: past that (the process died while
        sending) another attempt may take it."""
        return self.timeout + 30.0


def _printable_line(text: str) -> bool:
    return bool(text.strip()) and text.isprintable()
