"""A tenant's file settings: upload limits (size, types) and retention, changed a piece
at a time (``chat-engine tenant files``, ``PATCH /file-settings``).

``checked_limits`` is the one check of ``FileLimits`` (``FileService.set_limits`` uses
it too): a positive size, exact lower-case media types and never SVG (a document that
can run scripts; no type at all turns uploads off), a retention of 1 to
``MAX_RETENTION_DAYS`` days or none.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Sequence
from dataclasses import dataclass

from business.errors import InvalidInput, NotFound
from business.file_model import MAX_RETENTION_DAYS, FileLimits
from business.model import TenantId
from business.transactions import Transactions

_TYPE_RE = re.compile(r"[a-z0-9][a-z0-9!#$&^_.+-]*/[a-z0-9][a-z0-9!#$&^_.+-]*")
KEEP_FOREVER = 0
"""``ConfigureFiles.retention_days`` that removes the retention."""


@dataclass(frozen=True, slots=True, kw_only=True)
class ConfigureFiles:
    """What is given changes; None leaves it as it is."""

    tenant_id: TenantId
    max_bytes: int | None = None
    allowed_types: Sequence[str] | None = None
    """All the accepted types, replacing the stored ones."""
    retention_days: int | None = None
    """Days a file is kept; ``KEEP_FOREVER`` (0): no retention."""


def checked_limits(limits: FileLimits) -> FileLimits:
    """``limits`` with its types normalised (lower case, sorted, once each), or
    ``InvalidInput`` naming the first problem."""
    if limits.max_bytes <= 0:
        raise InvalidInput("max_bytes must be positive")
    types = tuple(sorted({t.strip().lower() for t in limits.allowed_types}))
    for media_type in types:
        if _TYPE_RE.fullmatch(media_type) is None or media_type == "image/svg+xml":
            raise InvalidInput(f"{media_type!r} is not an allowed media type")
    days = limits.retention_days
    if days is not None and not 1 <= days <= MAX_RETENTION_DAYS:
        raise InvalidInput(
            f"retention_days must be 1 to {MAX_RETENTION_DAYS} (or 0 to keep files for ever)"
        )
    return dataclasses.replace(limits, allowed_types=types)


class FileConfigService:
    def __init__(self, *, transactions: Transactions) -> None:
        self._tx = transactions

    async def get(self, tenant_id: TenantId) -> FileLimits:
        """The tenant's settings (the defaults if it never set any); ``NotFound`` for an
        unknown tenant."""
        async with self._tx.read() as tx:
            if await tx.tenants.get(tenant_id) is None:
                raise NotFound(f"unknown tenant {tenant_id!r}")
            return await tx.files.limits(tenant_id) or FileLimits()

    async def configure(self, cmd: ConfigureFiles) -> FileLimits:
        """Change what ``cmd`` gives (read, checked and written in one transaction); the
        stored result. ``NotFound`` for an unknown tenant, ``InvalidInput`` naming the
        first bad value (nothing changes then)."""
        async with self._tx() as tx:
            if await tx.tenants.get(cmd.tenant_id) is None:
                raise NotFound(f"unknown tenant {cmd.tenant_id!r}")
            current = await tx.files.limits(cmd.tenant_id) or FileLimits()
            days = current.retention_days
            if cmd.retention_days is not None:
                days = None if cmd.retention_days == KEEP_FOREVER else cmd.retention_days
            changed = checked_limits(
                FileLimits(
                    max_bytes=current.max_bytes if cmd.max_bytes is None else cmd.max_bytes,
                    allowed_types=(
                        current.allowed_types
                        if cmd.allowed_types is None
                        else tuple(cmd.allowed_types)
                    ),
                    retention_days=days,
                )
            )
            await tx.files.put_limits(cmd.tenant_id, changed)
            await tx.commit()
        return changed
