"""Tables. ORM rows stay inside ``data``: repositories map them to business dataclasses.

Alembic owns the schema (``data/migrations``); a test checks that the migrated schema
and these models do not drift apart on SQLite and PostgreSQL.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    DateTime,
    Dialect,
    Double,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Text,
    UniqueConstraint,
    false,
    text as sql_text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.types import TypeDecorator, TypeEngine

# Deterministic constraint names: SQLite can only change a table by copying it (Alembic
# batch mode), and that needs every constraint to have the same name on both databases.
NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_N_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC in and out, on every dialect.

    SQLite has no timestamp type: SQLAlchemy stores ISO text with microseconds and drops
    the offset. Every value is therefore converted to UTC before it is stored (which also
    keeps text order equal to time order) and marked UTC again when read. A naive
    datetime is refused rather than guessed at.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.utcoffset() is None:
            raise ValueError(f"naive datetime {value!r}: only timezone-aware values are stored")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


# JSONB on PostgreSQL: smaller and faster to read back than json text.
JSON_TYPE: TypeEngine[Any] = JSON().with_variant(JSONB(), "postgresql")
# For a nullable JSON column: None is SQL NULL, not the JSON text 'null'.
JSON_OR_NULL: TypeEngine[Any] = JSON(none_as_null=True).with_variant(
    JSONB(none_as_null=True), "postgresql"
)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {datetime: UTCDateTime(), str: String(), dict[str, Any]: JSON_TYPE}


class TenantRow(Base):
    __tablename__ = "tenants"

    id: Mapped[str] = mapped_column(primary_key=True)
    name: Mapped[str]
    created_at: Mapped[datetime]
    transcript_auto_send: Mapped[bool] = mapped_column(server_default=false())


class QueueRow(Base):
    __tablename__ = "queues"

    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"), primary_key=True)
    name: Mapped[str] = mapped_column(primary_key=True)
    title: Mapped[str]
    # Conversations waiting in the queue now; changed only by relative UPDATEs in the
    # transaction that moves a conversation into or out of the queue.
    waiting: Mapped[int]
    max_waiting: Mapped[int | None]
    # The settings added by migration 0003 keep the server defaults it gave existing rows.
    offer_timeout: Mapped[int] = mapped_column(server_default="20")
    wrap_up_codes: Mapped[list[str]] = mapped_column(JSON_TYPE, server_default=sql_text("'[]'"))
    require_wrap_up: Mapped[bool] = mapped_column(server_default=false())
    skills: Mapped[dict[str, Any]] = mapped_column(server_default=sql_text("'{}'"))
    last_agent_window: Mapped[int | None] = mapped_column(server_default="86400")
    # Migration 0013: the bot's configuration (``business.bot_config``); NULL: no bot.
    bot: Mapped[dict[str, Any] | None] = mapped_column(JSON_OR_NULL)
    # Migration 0017: the opening hours (``business.opening_hours``); NULL: always open.
    opening_hours: Mapped[dict[str, Any] | None] = mapped_column(JSON_OR_NULL)
    # Migration 0024: ``business.model.QueueMode``.
    mode: Mapped[str] = mapped_column(server_default="live")
    # Migration 0025: seconds a held chat the visitor answered waits for its agent alone
    # (``business.reawaken_rules``); 0: not at all.
    reawaken_window: Mapped[int] = mapped_column(server_default="120")
    # Migration 0029: inactivity rules (``business.inactivity``), in seconds.
    visitor_idle_alert: Mapped[int] = mapped_column(server_default="0")
    visitor_idle_close: Mapped[int] = mapped_column(server_default="0")
    agent_reply_reminder: Mapped[int] = mapped_column(server_default="0")
    agent_reply_reroute: Mapped[bool] = mapped_column(server_default=false())
    messaging_idle: Mapped[int] = mapped_column(server_default="86400")
    # Migration 0033: the queue's own inactivity texts; NULL: the built-in ones.
    visitor_idle_alert_text: Mapped[str | None] = mapped_column(Text)
    visitor_idle_close_text: Mapped[str | None] = mapped_column(Text)


class VisitorRow(Base):
    __tablename__ = "visitors"
    # The unique constraint is also the index behind every session lookup by token.
    __table_args__ = (UniqueConstraint("tenant_id", "token_hash"),)

    id: Mapped[str] = mapped_column(primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"))
    token_hash: Mapped[str]
    created_at: Mapped[datetime]
    last_agent_id: Mapped[str | None]
    last_served_at: Mapped[datetime | None]
    name: Mapped[str | None]


class ConversationRow(Base):
    __tablename__ = "conversations"
    __table_args__ = (
        # The queue implies the tenant, so this one key checks both.
        ForeignKeyConstraint(["tenant_id", "queue"], ["queues.tenant_id", "queues.name"]),
        # Serves list_queued: one queue's waiting conversations in arrival order.
        Index(None, "tenant_id", "queue", "state", "created_at"),
        # Serves list_for_visitor: open ones, and the newest ended, without the rest.
        Index(None, "visitor_id", "state", "created_at"),
        Index(None, "agent_id"),
        # Serves the live counts of /metrics: only the open conversations' entries are
        # read, however many have ended (migration 0011).
        Index(None, "state", "tenant_id", "queue"),
        # Serves the integrators' search: a tenant's conversations newest first, paged
        # by (created_at, id) (migration 0012).
        Index(None, "tenant_id", "created_at", "id"),
    )

    id: Mapped[str] = mapped_column(primary_key=True)
    tenant_id: Mapped[str]
    visitor_id: Mapped[str] = mapped_column(ForeignKey("visitors.id"))
    visitor_name: Mapped[str]
    queue: Mapped[str]
    state: Mapped[str]
    created_at: Mapped[datetime]
    context: Mapped[dict[str, Any]]
    form: Mapped[dict[str, Any]]
    # No foreign key to agents: an ended conversation keeps the JID it was served by,
    # whatever later happens to that agent's configuration.
    agent_id: Mapped[str | None]
    agent_name: Mapped[str | None]
    last_seq: Mapped[int]
    last_pos: Mapped[int]
    visitor_read_seq: Mapped[int]
    agent_delivered_pos: Mapped[int]
    queue_position: Mapped[int | None]
    offered_to: Mapped[str | None]
    offered_name: Mapped[str | None]
    # Serves the offer clock: the offers due, soonest first.
    offer_expires_at: Mapped[datetime | None] = mapped_column(index=True)
    last_offered_to: Mapped[str | None]
    # Added by migration 0007, with the defaults it gave existing rows.
    offer_kind: Mapped[str] = mapped_column(server_default="route")
    offer_by: Mapped[str | None]
    offer_note: Mapped[str | None] = mapped_column(Text)
    # The current members besides the owner: [{agent_id, name, role}] in joining order.
    members: Mapped[list[dict[str, Any]]] = mapped_column(
        JSON_TYPE, server_default=sql_text("'[]'")
    )
    preferred_agent_id: Mapped[str | None]
    assigned_at: Mapped[datetime | None]
    ended_at: Mapped[datetime | None]
    # Migration 0013: the bot's misses in a row while the chat is with it.
    bot_misses: Mapped[int] = mapped_column(server_default="0")
    # Migration 0015: where the visitor writes from (``business.model.Channel``); set at
    # the start and never changed.
    channel: Mapped[str] = mapped_column(server_default="web")
    provider: Mapped[str | None]
    external_id: Mapped[str | None]
    # Migration 0018: left as an offline message (``business.offline_messages``), and
    # the client's id of the latest while the visitor has written nothing since.
    offline: Mapped[bool] = mapped_column(server_default=false())
    offline_message_id: Mapped[str | None]
    # Migration 0020: what in the widget started it, {chain, trigger}; NULL: not told.
    started_by: Mapped[dict[str, Any] | None] = mapped_column(JSON_OR_NULL)
    # Migration 0024: a messaging thread its agent locked (``business.threads``).
    locked: Mapped[bool] = mapped_column(server_default=false())
    # Migration 0025: while queued, offered only to ``preferred_agent_id`` until then
    # (``business.reawaken_rules``). Indexed: the reawaken clock reads the ones due.
    reserved_until: Mapped[datetime | None] = mapped_column(index=True)
    # Migration 0029: the next inactivity deadline and its rule (``business.inactivity``).
    idle_due_at: Mapped[datetime | None] = mapped_column(index=True)
    idle_step: Mapped[str | None]


class EventRow(Base):
    """One stored event (``business.events.StoredEvent``).

    The primary key is the UNIQUE (conversation_id, pos) that makes two writers unable to
    store the same position; UNIQUE (conversation_id, seq) does the same for the
    visitor's numbers and serves their ``sync`` (events only agents see have no seq, and
    NULLs are distinct); UNIQUE (conversation_id, client_msg_id) makes a retried message
    unable to become a second row. The columns common to several event types are real
    columns; the rest is ``payload``.
    """

    __tablename__ = "conversation_events"
    __table_args__ = (
        PrimaryKeyConstraint("conversation_id", "pos"),
        UniqueConstraint("conversation_id", "seq"),
        UniqueConstraint("conversation_id", "client_msg_id"),
    )

    conversation_id: Mapped[str] = mapped_column(ForeignKey("conversations.id", ondelete="CASCADE"))
    pos: Mapped[int]
    seq: Mapped[int | None]
    type: Mapped[str]
    created_at: Mapped[datetime]
    event_id: Mapped[str | None]
    client_msg_id: Mapped[str | None]
    sender_kind: Mapped[str | None]
    sender_name: Mapped[str | None]
    sender_id: Mapped[str | None]
    text: Mapped[str | None]
    payload: Mapped[dict[str, Any]]


class ConversationMemberRow(Base):
    """A member of a conversation besides its owner, or a former owner still being
    delivered to (``business.member_ports``): their delivery cursor, and where they left.
    The conversation's ``members`` column lists the current ones; this table serves the
    set queries (an agent's load and chats) and the cursors."""

    __tablename__ = "conversation_members"
    __table_args__ = (
        PrimaryKeyConstraint("conversation_id", "agent_id"),
        # Serves an agent's current memberships (``left_pos IS NULL``).
        Index(None, "agent_id", "left_pos"),
    )

    conversation_id: Mapped[str] = mapped_column(ForeignKey("conversations.id", ondelete="CASCADE"))
    agent_id: Mapped[str]
    name: Mapped[str]
    role: Mapped[str]
    joined_pos: Mapped[int]
    delivered_pos: Mapped[int]
    left_pos: Mapped[int | None]


class AgentRow(Base):
    __tablename__ = "agents"
    # A unique index rather than a constraint: SQLite can add only an index to an
    # existing table without copying it (see migration 0002).
    __table_args__ = (Index(None, "address", unique=True),)

    id: Mapped[str] = mapped_column(primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"))
    address: Mapped[str]
    name: Mapped[str]
    max_chats: Mapped[int]
    ready: Mapped[bool]
    ready_since: Mapped[datetime | None]
    last_routed_at: Mapped[datetime | None]
    role: Mapped[str] = mapped_column(server_default="agent")
    supervises: Mapped[list[str]] = mapped_column(JSON_TYPE, server_default=sql_text("'[]'"))
    skills: Mapped[dict[str, Any]] = mapped_column(server_default=sql_text("'{}'"))
    auto_accept: Mapped[bool] = mapped_column(server_default=false())
    monitored_by: Mapped[list[dict[str, Any]]] = mapped_column(
        JSON_TYPE, server_default=sql_text("'[]'")
    )
    # Loaded with every agent (one extra SELECT per query, never lazily: lazy loads
    # cannot run under asyncio); the order is the agent's configured queue order.
    queues: Mapped[list[AgentQueueRow]] = relationship(
        order_by="AgentQueueRow.position",
        cascade="all, delete-orphan",
        lazy="selectin",
    )


class AgentQueueRow(Base):
    """The queues of an agent, in the order they were configured."""

    __tablename__ = "agent_queues"
    __table_args__ = (
        PrimaryKeyConstraint("agent_id", "position"),
        # Serves list_for_queue.
        Index(None, "queue", "agent_id"),
    )

    agent_id: Mapped[str] = mapped_column(ForeignKey("agents.id", ondelete="CASCADE"))
    position: Mapped[int]
    queue: Mapped[str]


class AdapterStateRow(Base):
    """Records an adapter keeps across restarts (``business.ports.AdapterStateRepository``)."""

    __tablename__ = "adapter_state"

    adapter: Mapped[str] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(primary_key=True)
    value: Mapped[dict[str, Any]]


class CannedResponseRow(Base):
    """A canned response (``business.model.CannedResponse``). A primary key column cannot
    be NULL, so a tenant-wide response has ``queue`` '' (no queue name is empty)."""

    __tablename__ = "canned_responses"

    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"), primary_key=True)
    queue: Mapped[str] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(primary_key=True)
    text: Mapped[str]
    created_at: Mapped[datetime]
    rich: Mapped[dict[str, Any] | None] = mapped_column(JSON_OR_NULL, default=None)
    """Rich content sent under the text (``business.rich``'s JSON form), or NULL."""


class ConversationReportRow(Base):
    """An ended conversation's metrics (``business.report_metrics.ConversationMetrics``),
    written in the transaction that ends it. No foreign keys: a report is kept for
    statistics even when the conversation's transcript or its agent's configuration is
    gone. Listed by tenant in (``ended_at``, ``conversation_id``) order, optionally of one
    queue or one agent: an index for each of those three."""

    __tablename__ = "conversation_reports"
    __table_args__ = (
        Index(None, "tenant_id", "ended_at", "conversation_id"),
        Index(None, "tenant_id", "queue", "ended_at"),
        Index(None, "tenant_id", "agent_id", "ended_at"),
    )

    conversation_id: Mapped[str] = mapped_column(primary_key=True)
    tenant_id: Mapped[str]
    queue: Mapped[str]
    visitor_id: Mapped[str]
    agent_id: Mapped[str | None]
    agent_name: Mapped[str | None]
    created_at: Mapped[datetime]
    assigned_at: Mapped[datetime | None]
    ended_at: Mapped[datetime]
    ended_by: Mapped[str | None]
    wait_seconds: Mapped[float | None] = mapped_column(Double)
    first_response_seconds: Mapped[float | None] = mapped_column(Double)
    handle_seconds: Mapped[float | None] = mapped_column(Double)
    messages_visitor: Mapped[int]
    messages_agent: Mapped[int]
    transfers: Mapped[int]
    bot_handled: Mapped[bool]
    wrap_up: Mapped[str | None]
    outcome: Mapped[str]
    # Migration 0015.
    channel: Mapped[str] = mapped_column(server_default="web")


# The integrators' tables live in their own module (API keys, webhooks, transcript
# mails); imported here so that every table is on ``Base.metadata`` once this module is.
from data.models_analytics import AnalyticsCountRow  # noqa: E402
from data.models_cluster import DeliveryOwnerRow, EngineNodeRow  # noqa: E402
from data.models_files import FileLimitsRow, FileRow  # noqa: E402
from data.models_governance import AuditLogRow, RetentionSettingsRow  # noqa: E402
from data.models_identity import (  # noqa: E402
    IdentitySettingsRow,
    VisitorDeviceTokenRow,
    VisitorIdentityRow,
)
from data.models_integrations import (  # noqa: E402
    ApiKeyRow,
    TranscriptMailRow,
    WebhookAttemptRow,
    WebhookDeliveryRow,
    WebhookSubscriptionRow,
)
from data.models_redaction import RedactionSettingsRow  # noqa: E402
from data.models_widget import WidgetConfigRow  # noqa: E402

__all__ = [
    "AnalyticsCountRow",
    "ApiKeyRow",
    "AuditLogRow",
    "DeliveryOwnerRow",
    "EngineNodeRow",
    "FileLimitsRow",
    "FileRow",
    "IdentitySettingsRow",
    "RedactionSettingsRow",
    "RetentionSettingsRow",
    "TranscriptMailRow",
    "VisitorDeviceTokenRow",
    "VisitorIdentityRow",
    "WebhookAttemptRow",
    "WebhookDeliveryRow",
    "WebhookSubscriptionRow",
    "WidgetConfigRow",
]
