"""The tables of signed identities (split from ``data.models``, on the same ``Base``)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from data.models import JSON_TYPE, Base


class IdentitySettingsRow(Base):
    """A tenant's mode, audience and keys (``business.identity_model.IdentitySettings``);
    a tenant without a row has identities off. ``keys`` holds HS256 secrets in clear:
    an HMAC is checked with the secret itself."""

    __tablename__ = "identity_settings"

    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"), primary_key=True)
    mode: Mapped[str]
    audience: Mapped[str | None]
    keys: Mapped[list[dict[str, Any]]] = mapped_column(JSON_TYPE)
    extra_fields: Mapped[dict[str, str]] = mapped_column(JSON_TYPE, default=dict)
    """Extra key -> custom field name (``business.identity_extra``)."""
    updated_at: Mapped[datetime]


class VisitorIdentityRow(Base):
    """Which visitor a verified ``sub`` is: one visitor per sub, one sub per visitor."""

    __tablename__ = "visitor_identities"
    __table_args__ = (UniqueConstraint("visitor_id"),)

    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"), primary_key=True)
    sub: Mapped[str] = mapped_column(primary_key=True)
    visitor_id: Mapped[str] = mapped_column(ForeignKey("visitors.id"))
    name: Mapped[str | None]
    email: Mapped[str | None]
    extra: Mapped[dict[str, Any]] = mapped_column(JSON_TYPE)
    verified_at: Mapped[datetime | None]
    """NULL: provisional, bound by an outbound thread before any token verified it."""


class VisitorDeviceTokenRow(Base):
    """Another visitor token (its hash) of an identified visitor: one per browser that
    identified as them after the first. ``last_used_at`` orders them for the
    per-visitor cap and finds those unused for long (``business.device_tokens``)."""

    __tablename__ = "visitor_device_tokens"
    __table_args__ = (
        Index("ix_visitor_device_tokens_tenant_id_last_used_at", "tenant_id", "last_used_at"),
    )

    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"), primary_key=True)
    token_hash: Mapped[str] = mapped_column(primary_key=True)
    visitor_id: Mapped[str] = mapped_column(ForeignKey("visitors.id"), index=True)
    created_at: Mapped[datetime]
    last_used_at: Mapped[datetime]
