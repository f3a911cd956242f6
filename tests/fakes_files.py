"""In-memory fakes of the file ports (``tests.fakes`` wires the repository into
``FakeUnitOfWork``)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime

from business.file_model import FileId, FileLimits, StoredFile
from business.file_ports import FetchedFile
from business.model import TenantId


class FakeFiles:
    def __init__(self, files: dict[FileId, StoredFile], limits: dict[TenantId, FileLimits]) -> None:
        self._files = files
        self._limits = limits

    async def add(self, file: StoredFile) -> None:
        self._files[file.id] = file

    async def get(self, file_id: FileId) -> StoredFile | None:
        return self._files.get(file_id)

    async def limits(self, tenant_id: TenantId) -> FileLimits | None:
        return self._limits.get(tenant_id)

    async def put_limits(self, tenant_id: TenantId, limits: FileLimits) -> None:
        self._limits[tenant_id] = limits

    async def retentions(self) -> Mapping[TenantId, int]:
        return {
            tenant: limits.retention_days
            for tenant, limits in self._limits.items()
            if limits.retention_days is not None
        }

    async def created_before(
        self, tenant_id: TenantId, before: datetime, *, limit: int
    ) -> Sequence[StoredFile]:
        found = [
            f for f in self._files.values() if f.tenant_id == tenant_id and f.created_at < before
        ]
        return sorted(found, key=lambda f: (f.created_at, f.id))[:limit]

    async def count_before(self, tenant_id: TenantId, before: datetime) -> tuple[int, int]:
        found = await self.created_before(tenant_id, before, limit=len(self._files))
        return len(found), sum(f.size for f in found)

    async def delete(self, file_ids: Sequence[FileId]) -> None:
        for file_id in file_ids:
            self._files.pop(file_id, None)


class MemoryBlobStore:
    def __init__(self) -> None:
        self.blobs: dict[str, bytes] = {}

    async def put(self, key: str, data: bytes) -> None:
        self.blobs[key] = data

    async def get(self, key: str) -> bytes | None:
        return self.blobs.get(key)

    async def delete(self, key: str) -> None:
        self.blobs.pop(key, None)


class FakeFetcher:
    """Answers the URLs it was given; None for any other."""

    def __init__(self, files: dict[str, FetchedFile] | None = None) -> None:
        self.files = files or {}
        self.asked: list[tuple[str, int]] = []

    async def fetch(self, url: str, *, max_bytes: int) -> FetchedFile | None:
        self.asked.append((url, max_bytes))
        found = self.files.get(url)
        return None if found is None or len(found.data) > max_bytes else found
