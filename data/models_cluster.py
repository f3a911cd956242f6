"""The tables of delivery ownership (``business.delivery_ownership``; split from
``data.models``, on the same ``Base``). Used on PostgreSQL only: on SQLite one process
owns everything and nothing is written here."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey
from sqlalchemy.orm import Mapped, mapped_column

from data.models import Base


class EngineNodeRow(Base):
    """One engine process while it runs, and its lease (database time)."""

    __tablename__ = "engine_nodes"

    id: Mapped[str] = mapped_column(primary_key=True)
    started_at: Mapped[datetime]
    lease_until: Mapped[datetime]


class DeliveryOwnerRow(Base):
    """Which node sends a conversation's events to its agents; the node's row may be
    gone or its lease run out, and then the next claim takes it."""

    __tablename__ = "delivery_owners"

    conversation_id: Mapped[str] = mapped_column(
        ForeignKey("conversations.id", ondelete="CASCADE"), primary_key=True
    )
    node_id: Mapped[str] = mapped_column(index=True)
    claimed_at: Mapped[datetime]
