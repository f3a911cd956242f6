"""The widget's table: each tenant's widget configuration (split from ``data.models``,
on the same ``Base``)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey
from sqlalchemy.orm import Mapped, mapped_column

from data.models import JSON_TYPE, Base


class WidgetConfigRow(Base):
    """A tenant's widget configuration (``business.widget_config.WidgetConfig``): the
    validated document as one JSON value; a tenant without a row has the default."""

    __tablename__ = "widget_configs"

    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"), primary_key=True)
    document: Mapped[dict[str, Any]] = mapped_column(JSON_TYPE)
    updated_at: Mapped[datetime]
