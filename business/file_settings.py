"""The ``[files]`` section: where shared files are kept and how long their links work."""

from __future__ import annotations

import math
from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True, kw_only=True)
class FileSettings:
    dir: str = "var/files"
    """The local blob store's directory (made private to the engine's user)."""
    secret: str | None = field(default=None, repr=False)
    """Key of the signed file links; None: derived from ``xmpp.secret``, so every engine
    of an installation signs alike. Changing it voids every link handed out."""
    visitor_url_seconds: int = 600
    """How long a file link handed to a visitor works (a fresh one comes with every
    delivery and sync)."""
    agent_url_seconds: int = 7 * 86_400
    """How long a file link sent to an agent works: XMPP clients fetch files when they
    show the message, possibly much later or on another device."""
    copy_agent_files: bool = True
    """Copy a file an agent shares by URL (their server's XEP-0363 upload) into the
    engine's store, so the visitor gets a signed link; false passes the URL on."""
    fetch_timeout_seconds: float = 15.0
    """Longest wait for an agent's file to download; past it the URL is passed on."""

    def __post_init__(self) -> None:
        if not self.dir:
            raise ValueError("dir: must name a directory")
        if self.visitor_url_seconds <= 0:
            raise ValueError("visitor_url_seconds: must be positive")
        if self.agent_url_seconds <= 0:
            raise ValueError("agent_url_seconds: must be positive")
        if not (math.isfinite(self.fetch_timeout_seconds) and self.fetch_timeout_seconds > 0):
            raise ValueError("fetch_timeout_seconds: must be a positive number")
