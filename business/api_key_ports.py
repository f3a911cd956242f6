"""The port of API keys (``business.api_keys``), apart from ``business.ports`` to keep
that module readable; ``business.ports.UnitOfWork`` offers it as ``api_keys``."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from business.model import ApiKey, ApiKeyId, TenantId


@dataclass(frozen=True, slots=True, kw_only=True)
class StoredApiKey:
    """A key with the hash of its secret: what authentication compares against. Only
    ``business.api_keys`` sees it; every edge gets the ``ApiKey`` alone."""

    key: ApiKey
    secret_hash: str


class ApiKeyRepository(Protocol):
    async def add(self, key: ApiKey, secret_hash: str) -> None: ...

    async def get(self, key_id: ApiKeyId) -> StoredApiKey | None:
        """The key, revoked or not; never from a cache."""
        ...

    async def list(
        self, tenant_id: TenantId | None, *, after: ApiKeyId | None, limit: int
    ) -> Sequence[ApiKey]:
        """The keys of ``tenant_id`` (None: every key, the platform's included), revoked
        ones too, ordered by id, those after ``after`` only, at most ``limit``."""
        ...

    async def revoke(self, key_id: ApiKeyId, at: datetime) -> None:
        """Set ``revoked_at`` unless it is set already (the first revocation stays)."""
        ...

    async def touch(self, key_id: ApiKeyId, at: datetime) -> None:
        """Set ``last_used_at``."""
        ...
