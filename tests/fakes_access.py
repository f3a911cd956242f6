"""In-memory fake of the API key port (``tests.fakes`` wires it into
``FakeUnitOfWork``)."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from datetime import datetime

from business.api_key_ports import StoredApiKey
from business.model import ApiKey, ApiKeyId, TenantId
from tests.fakes_directory import DuplicateKey

StoredKeys = dict[ApiKeyId, StoredApiKey]


class FakeApiKeys:
    def __init__(self, keys: StoredKeys) -> None:
        self._keys = keys

    async def add(self, key: ApiKey, secret_hash: str) -> None:
        if key.id in self._keys:
            raise DuplicateKey(f"API key {key.id}")
        self._keys[key.id] = StoredApiKey(key=key, secret_hash=secret_hash)

    async def get(self, key_id: ApiKeyId) -> StoredApiKey | None:
        return self._keys.get(key_id)

    async def list(
        self, tenant_id: TenantId | None, *, after: ApiKeyId | None, limit: int
    ) -> Sequence[ApiKey]:
        found = sorted(
            (s.key for s in self._keys.values()),
            key=lambda k: k.id,
        )
        return [
            k
            for k in found
            if (tenant_id is None or k.tenant_id == tenant_id) and (after is None or k.id > after)
        ][:limit]

    async def revoke(self, key_id: ApiKeyId, at: datetime) -> None:
        stored = self._keys.get(key_id)
        if stored is not None and stored.key.revoked_at is None:
            self._replace(stored, revoked_at=at)

    async def touch(self, key_id: ApiKeyId, at: datetime) -> None:
        stored = self._keys.get(key_id)
        if stored is not None:
            self._replace(stored, last_used_at=at)

    def _replace(self, stored: StoredApiKey, **changes: object) -> None:
        key = dataclasses.replace(stored.key, **changes)  # type: ignore[arg-type]
        self._keys[key.id] = dataclasses.replace(stored, key=key)
