"""Data governance tables (split from ``data.models``, on the same ``Base``): the
tenants' retention settings and the append-only audit log (migration 0030)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, Text
from sqlalchemy.orm import Mapped, mapped_column

from data.models import JSON_TYPE, Base


class RetentionSettingsRow(Base):
    """``business.governance_ports.RetentionSettings``; a tenant without a row keeps
    everything."""

    __tablename__ = "retention_settings"

    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"), primary_key=True)
    conversations_days: Mapped[int | None]
    visitors_days: Mapped[int | None]
    updated_at: Mapped[datetime]


class AuditLogRow(Base):
    """One administrator's action (``business.governance_ports.AuditEntry``). Only ever
    inserted: no code path updates or deletes it. No foreign key to the tenant: the log
    outlives what it speaks of."""

    __tablename__ = "audit_log"
    __table_args__ = (Index(None, "tenant_id", "at"), Index(None, "at"))

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer(), "sqlite"), primary_key=True, autoincrement=True
    )
    at: Mapped[datetime]
    actor: Mapped[str]
    action: Mapped[str]
    tenant_id: Mapped[str | None]
    target: Mapped[str | None] = mapped_column(Text)
    detail: Mapped[dict[str, Any]] = mapped_column(JSON_TYPE)
