"""The tables of shared files (split from ``data.models``, on the same ``Base``). The
bytes are the blob store's (``data.blob_store``)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Index
from sqlalchemy.orm import Mapped, mapped_column

from data.models import JSON_TYPE, Base


class FileRow(Base):
    """One file shared in a conversation (``business.file_model.StoredFile``)."""

    __tablename__ = "files"

    id: Mapped[str] = mapped_column(primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"))
    conversation_id: Mapped[str] = mapped_column(ForeignKey("conversations.id"), index=True)
    visitor_id: Mapped[str | None]
    owner: Mapped[str]
    name: Mapped[str]
    content_type: Mapped[str]
    size: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[datetime]

    # The purge reads a tenant's files by age (``business.file_retention``).
    __table_args__ = (Index(None, "tenant_id", "created_at"),)


class FileLimitsRow(Base):
    """A tenant's upload limits; a tenant without a row has the defaults."""

    __tablename__ = "file_limits"

    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"), primary_key=True)
    max_bytes: Mapped[int] = mapped_column(BigInteger)
    allowed_types: Mapped[list[str]] = mapped_column(JSON_TYPE)
    retention_days: Mapped[int | None]
    """Files older than this many days are purged; NULL: kept for ever."""
