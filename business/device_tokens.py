"""Device tokens: the other browsers' tokens of an identified visitor
(``business.identities``), kept within bounds.

A browser that identifies as a ``sub`` bound to another browser's visitor gets a token of
its own for that visitor. Each connect with a valid identity marks its token used (at
most once an hour: one write, not one per connect); a visitor keeps the
``MAX_DEVICE_TOKENS`` most recently used, and a token unused for
``DEVICE_TOKEN_IDLE_DAYS`` reaches nobody any more. Issuing a token deletes the surplus
and a batch of the tenant's idle ones, so the table stays bounded without a job of its
own.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Final

from business.identity_model import DEVICE_TOKEN_IDLE_DAYS, MAX_DEVICE_TOKENS
from business.model import TenantId, VisitorId
from business.transactions import Transaction
from business.visitor_tokens import hash_token, new_token

IDLE: Final = timedelta(days=DEVICE_TOKEN_IDLE_DAYS)
TOUCH_EVERY: Final = timedelta(hours=1)
"""A token's last use is written again only when older than this."""
PURGE_BATCH: Final = 100
"""Idle tokens of the tenant one issue deletes at most."""


async def issue_device_token(
    tx: Transaction, tenant_id: TenantId, visitor_id: VisitorId, now: datetime
) -> str:
    """A new token of ``visitor_id``; the visitor's least recently used beyond the cap
    and some of the tenant's idle tokens go. Writes through ``tx``; the caller commits."""
    token = new_token()
    devices = tx.visitor_identities
    await devices.add_device_token(tenant_id, hash_token(token), visitor_id, now)
    await devices.prune_device_tokens(
        tenant_id, visitor_id, keep=MAX_DEVICE_TOKENS, unused_before=now - IDLE, limit=PURGE_BATCH
    )
    return token


async def device_visitor(
    tx: Transaction, tenant_id: TenantId, token_hash: str, now: datetime
) -> VisitorId | None:
    """The visitor of a device token not idle for too long (None: none, or idle)."""
    device = await tx.visitor_identities.device_token(tenant_id, token_hash)
    if device is None or device.last_used_at < now - IDLE:
        return None
    return device.visitor_id


async def mark_used(tx: Transaction, tenant_id: TenantId, token: str, now: datetime) -> None:
    """``token`` (a device token or not: then nothing happens) was just used with its
    identity."""
    await tx.visitor_identities.touch_device_token(
        tenant_id, hash_token(token), now, unless_after=now - TOUCH_EVERY
    )
