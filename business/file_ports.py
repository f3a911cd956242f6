"""The ports of shared files (``business.files``), apart from ``business.ports``;
``business.ports.UnitOfWork`` offers the metadata as ``files``."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from business.file_model import FileId, FileLimits, StoredFile
from business.model import TenantId


class FileRepository(Protocol):
    """The files' metadata and the tenants' upload limits. The bytes are the blob
    store's."""

    async def add(self, file: StoredFile) -> None: ...

    async def get(self, file_id: FileId) -> StoredFile | None: ...

    async def limits(self, tenant_id: TenantId) -> FileLimits | None:
        """The tenant's limits; None: it never set any (the defaults apply)."""
        ...

    async def put_limits(self, tenant_id: TenantId, limits: FileLimits) -> None: ...

    async def retentions(self) -> Mapping[TenantId, int]:
        """The tenants that keep files for a limited time: their retention in days."""
        ...

    async def created_before(
        self, tenant_id: TenantId, before: datetime, *, limit: int
    ) -> Sequence[StoredFile]:
        """Up to ``limit`` of the tenant's files stored before ``before``, oldest first."""
        ...

    async def count_before(self, tenant_id: TenantId, before: datetime) -> tuple[int, int]:
        """How many of the tenant's files were stored before ``before``, and their bytes."""
        ...

    async def delete(self, file_ids: Sequence[FileId]) -> None:
        """Forget these files' metadata (ids already gone are no error)."""
        ...


class BlobStore(Protocol):
    """Bytes by key. Keys are the engine's own (a file id), never a visitor's input.
    A local directory by default; an object store when several engines share files."""

    async def put(self, key: str, data: bytes) -> None:
        """Store ``data`` under ``key``; it is readable once this returns."""
        ...

    async def get(self, key: str) -> bytes | None:
        """The bytes, or None if there are none under ``key``."""
        ...

    async def delete(self, key: str) -> None:
        """Remove the bytes under ``key``; nothing to remove is no error (a purge that
        stopped half-way runs again)."""
        ...


@dataclass(frozen=True, slots=True, kw_only=True)
class FetchedFile:
    data: bytes
    content_type: str
    name: str


class FileFetcher(Protocol):
    """Downloads a file an agent shared by URL (their XMPP server's upload service)."""

    async def fetch(self, url: str, *, max_bytes: int) -> FetchedFile | None:
        """The file, or None if it cannot be had (an error status, a timeout, more than
        ``max_bytes``): the caller then passes the URL on as it is."""
        ...
