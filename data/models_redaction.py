"""The table of PII redaction settings (split from ``data.models``, on the same ``Base``)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey
from sqlalchemy.orm import Mapped, mapped_column

from data.models import JSON_TYPE, Base


class RedactionSettingsRow(Base):
    """A tenant's redaction (``business.redaction.RedactionSettings``); a tenant without
    a row has the defaults (card numbers and IBANs masked). ``patterns`` is a list of
    ``{"name", "regex"}`` in the order they run."""

    __tablename__ = "redaction_settings"

    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"), primary_key=True)
    cards: Mapped[bool]
    ibans: Mapped[bool]
    emails: Mapped[bool]
    phones: Mapped[bool]
    phone_region: Mapped[str | None]
    patterns: Mapped[list[dict[str, Any]]] = mapped_column(JSON_TYPE)
    updated_at: Mapped[datetime]
