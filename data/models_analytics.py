"""The web analytics table: counters per tenant, UTC day, kind and trigger (split from
``data.models``, on the same ``Base``)."""

from __future__ import annotations

from datetime import date

from sqlalchemy import BigInteger, Date, ForeignKey
from sqlalchemy.orm import Mapped, mapped_column

from data.models import Base


class AnalyticsCountRow(Base):
    """One counter (``business.analytics_ports.AnalyticsCount``); ``trigger_id`` is ''
    for page views. Rows are only ever added to, by one upsert statement each."""

    __tablename__ = "analytics_counts"

    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    kind: Mapped[str] = mapped_column(primary_key=True)
    trigger_id: Mapped[str] = mapped_column(primary_key=True)
    count: Mapped[int] = mapped_column(BigInteger)
