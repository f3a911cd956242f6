"""In-memory fakes of the file ports (``tests.fakes`` wires the repository into
``FakeUnitOfWork``)."""

from __future__ import annotations

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


class MemoryBlobStore:
    def __init__(self) -> None:
        self.blobs: dict[str, bytes] = {}

    async def put(self, key: str, data: bytes) -> None:
        self.blobs[key] = data

    async def get(self, key: str) -> bytes | None:
        return self.blobs.get(key)


class FakeFetcher:
    """Answers the URLs it was given; None for any other."""

    def __init__(self, files: dict[str, FetchedFile] | None = None) -> None:
        self.files = files or {}
        self.asked: list[tuple[str, int]] = []

    async def fetch(self, url: str, *, max_bytes: int) -> FetchedFile | None:
        self.asked.append((url, max_bytes))
        found = self.files.get(url)
        return None if found is None or len(found.data) > max_bytes else found
