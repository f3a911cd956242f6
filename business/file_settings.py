"""The ``[files]`` section: where shared files are kept and how long their links work."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

STORES = ("local", "s3")


@dataclass(frozen=True, slots=True, kw_only=True)
class FileSettings:
    store: str = "local"
    """Where the bytes are: ``local`` (``dir``) or ``s3`` (an S3-compatible object store,
    ``s3_*``; what several engines sharing files need). Needs ``chat-engine[s3]``."""
    dir: str = "var/files"
    """The local blob store's directory (made private to the engine's user)."""
    s3_bucket: str | None = None
    """The bucket (it must exist); required with ``store = "s3"``."""
    s3_prefix: str = ""
    """Put before every object name, e.g. ``chat/``, when the bucket holds other things."""
    s3_endpoint_url: str | None = None
    """The S3-compatible server, e.g. ``https://minio.example.com``; unset: AWS."""
    s3_region: str | None = None
    s3_access_key_id: str | None = None
    """Unset with the secret: botocore's own lookup (``AWS_*`` variables, instance role)."""
    s3_secret_access_key: str | None = field(default=None, repr=False)
    """Best from a file: ``s3_secret_access_key_file``; never logged."""
    purge_interval_seconds: float = 3600.0
    """How often the engine deletes the files older than their tenant's retention
    (``chat-engine tenant files --retention-days``)."""
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
        if self.store not in STORES:
            raise ValueError(f"store: must be one of {', '.join(STORES)}")
        if not self.dir:
            raise ValueError("dir: must name a directory")
        if self.store == "s3" and not self.s3_bucket:
            raise ValueError('s3_bucket: must name the bucket when store = "s3"')
        if (self.s3_access_key_id is None) != (self.s3_secret_access_key is None):
            raise ValueError("s3_access_key_id: give it with s3_secret_access_key, or neither")
        if self.s3_endpoint_url is not None and not self.s3_endpoint_url.startswith(
            ("http://", "https://")
        ):
            raise ValueError("s3_endpoint_url: must be an http:// or https:// URL")
        if not (math.isfinite(self.purge_interval_seconds) and self.purge_interval_seconds > 0):
            raise ValueError("purge_interval_seconds: must be a positive number")
        if self.visitor_url_seconds <= 0:
            raise ValueError("visitor_url_seconds: must be positive")
        if self.agent_url_seconds <= 0:
            raise ValueError("agent_url_seconds: must be positive")
        if not (math.isfinite(self.fetch_timeout_seconds) and self.fetch_timeout_seconds > 0):
            raise ValueError("fetch_timeout_seconds: must be a positive number")
