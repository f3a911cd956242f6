"""Ports: what the business layer needs from the outside, as Protocols.

The data layer implements the repositories and the unit of work; the presentation and the
XMPP bridge implement ``ConversationNotifier``; the bridge implements
``AddressNormalizer``. Only business dataclasses cross these.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from types import TracebackType
from typing import Protocol, Self

from business.analytics_ports import AnalyticsRepository
from business.api_key_ports import ApiKeyRepository
from business.canned_ports import CannedRepository
from business.conversation import Conversation
from business.conversation_ports import ConversationRepository, EventRepository
from business.conversation_query_ports import ConversationQueryRepository
from business.events import (
    DomainEvent,
)
from business.file_ports import FileRepository
from business.governance_ports import (
    AuditLogRepository,
    RetentionSettingsRepository,
    VisitorDataRepository,
)
from business.identity_ports import IdentitySettingsRepository, VisitorIdentityRepository
from business.lock_ports import TenantLocks
from business.member_ports import MemberRepository
from business.model import (
    Agent,
    AgentId,
    AgentRole,
    Monitor,
    Queue,
    QueueName,
    Tenant,
    TenantId,
    Visitor,
    VisitorId,
)
from business.ownership_ports import DeliveryOwnerRepository
from business.reawaken_ports import ReservationRepository
from business.redaction_ports import RedactionSettingsRepository
from business.report_ports import LiveCountRepository, ReportRepository
from business.transcript_mail_ports import TranscriptMailRepository
from business.webhook_ports import WebhookDeliveryRepository, WebhookRepository
from business.widget_config_ports import WidgetConfigRepository

JsonValue = str | int | float | bool | None


class TenantRepository(Protocol):
    async def get(self, tenant_id: TenantId) -> Tenant | None: ...

    async def add(self, tenant: Tenant) -> None:
        """``AlreadyExists`` if the id is taken (at the latest at commit)."""
        ...

    async def list(self, *, after: TenantId | None, limit: int) -> Sequence[Tenant]:
        """Ordered by id, those after ``after`` only, at most ``limit``."""
        ...

    async def save_settings(self, tenant: Tenant) -> None:
        """Write every setting of ``tenant`` (all but ``id``, ``name`` and
        ``created_at``); an unknown tenant is a KeyError."""
        ...


class QueueRepository(Protocol):
    async def get(
        self, tenant_id: TenantId, name: QueueName, *, for_update: bool = False
    ) -> Queue | None:
        """``for_update`` locks the row until commit where the database can."""
        ...

    async def add(self, queue: Queue) -> None: ...

    async def list(self, tenant_id: TenantId) -> Sequence[Queue]:
        """Ordered by name."""
        ...

    async def add_waiting(self, tenant_id: TenantId, name: QueueName, delta: int) -> None:
        """Change ``Queue.waiting`` by ``delta`` in place (no read-modify-write)."""
        ...

    async def set_max_waiting(
        self, tenant_id: TenantId, name: QueueName, max_waiting: int | None
    ) -> None: ...

    async def save_settings(self, queue: Queue) -> None:
        """Write every setting of ``queue`` (all but ``title`` and ``waiting``, which
        only ``add_waiting`` changes); an unknown queue is a KeyError."""
        ...


class VisitorRepository(Protocol):
    async def get(self, visitor_id: VisitorId) -> Visitor | None: ...

    async def get_many(self, visitor_ids: Sequence[VisitorId]) -> Mapping[VisitorId, Visitor]:
        """``get`` for several at once (unknown ones are absent), in one trip."""
        ...

    async def get_by_token_hash(self, tenant_id: TenantId, token_hash: str) -> Visitor | None:
        """The visitor whose token hashes to ``token_hash`` (tokens are never stored)."""
        ...

    async def add(self, visitor: Visitor, token_hash: str) -> None:
        """Store a new visitor; a ``token_hash`` the tenant has already is ``Conflict``
        (here or at the latest at commit)."""
        ...

    async def set_last_agent(self, visitor_id: VisitorId, agent_id: AgentId, at: datetime) -> None:
        """Remember who served the visitor last, and when (last-agent routing)."""
        ...

    async def set_name(self, visitor_id: VisitorId, name: str) -> None:
        """The name the site gave (``business.visitor_identify``)."""
        ...


class AgentRepository(Protocol):
    """Agents. Reads without ``for_update`` may come from a cache (a few seconds stale
    when another process wrote); a read that precedes a write uses ``for_update``, which
    always asks the database. Writes change only the fields they name, so two writers
    of different fields never undo each other."""

    async def get(self, agent_id: AgentId, *, for_update: bool = False) -> Agent | None: ...

    async def get_by_address(self, address: str, *, for_update: bool = False) -> Agent | None: ...

    async def add(self, agent: Agent) -> None: ...

    async def update_profile(
        self,
        agent_id: AgentId,
        *,
        name: str,
        max_chats: int,
        queues: tuple[QueueName, ...],
        role: AgentRole | None = None,
        supervises: tuple[QueueName, ...] | None = None,
        skills: Mapping[str, int] | None = None,
        auto_accept: bool | None = None,
    ) -> None:
        """The configuration an administrator gives; ``role``, ``supervises``,
        ``skills`` and ``auto_accept`` left None stay as stored."""
        ...

    async def set_ready(self, agent_id: AgentId, ready: bool, since: datetime | None) -> None: ...

    async def set_routed(self, agent_id: AgentId, at: datetime) -> None: ...

    async def set_monitored_by(self, agent_id: AgentId, monitors: tuple[Monitor, ...]) -> None:
        """The supervisors who monitor all of the agent's chats (``Agent.monitored_by``)."""
        ...

    async def remove(self, agent_id: AgentId) -> None:
        """Delete the agent and their queues; an unknown one is a KeyError. Their
        conversations keep their id (no foreign key points at agents)."""
        ...

    async def list(self, tenant_id: TenantId | None = None) -> Sequence[Agent]:
        """Ordered by address."""
        ...

    async def list_for_queue(self, tenant_id: TenantId, queue: QueueName) -> Sequence[Agent]: ...


class AdapterStateRepository(Protocol):
    """Small records an adapter keeps across restarts, opaque to the business layer
    (the XMPP bridge keeps agents' presence subscriptions here)."""

    async def get(self, adapter: str, key: str) -> Mapping[str, JsonValue] | None: ...

    async def put(self, adapter: str, key: str, value: Mapping[str, JsonValue]) -> None:
        """Insert or replace."""
        ...

    async def list(self, adapter: str) -> Sequence[tuple[str, Mapping[str, JsonValue]]]:
        """Ordered by key."""
        ...


class UnitOfWork(Protocol):
    """One transaction. Repositories flush; only ``commit`` makes changes durable.

    Leaving the ``async with`` block without ``commit`` rolls back. Use cases do not
    use this directly but through ``business.transactions``, which also publishes.
    """

    # Read-only members, so an implementation may hold its own repository classes (a
    # plain attribute of a subtype satisfies them; a mutable protocol member would not).
    @property
    def tenants(self) -> TenantRepository: ...

    @property
    def queues(self) -> QueueRepository: ...

    @property
    def visitors(self) -> VisitorRepository: ...

    @property
    def conversations(self) -> ConversationRepository: ...

    @property
    def events(self) -> EventRepository: ...

    @property
    def agents(self) -> AgentRepository: ...

    @property
    def adapter_state(self) -> AdapterStateRepository: ...

    @property
    def canned(self) -> CannedRepository: ...

    @property
    def members(self) -> MemberRepository: ...

    @property
    def reports(self) -> ReportRepository: ...

    @property
    def live_counts(self) -> LiveCountRepository: ...

    @property
    def conversation_queries(self) -> ConversationQueryRepository: ...

    @property
    def api_keys(self) -> ApiKeyRepository: ...

    @property
    def transcript_mails(self) -> TranscriptMailRepository: ...

    @property
    def webhooks(self) -> WebhookRepository: ...

    @property
    def webhook_deliveries(self) -> WebhookDeliveryRepository: ...

    @property
    def widget_configs(self) -> WidgetConfigRepository: ...

    @property
    def analytics(self) -> AnalyticsRepository: ...

    @property
    def identity_settings(self) -> IdentitySettingsRepository: ...

    @property
    def visitor_identities(self) -> VisitorIdentityRepository: ...

    @property
    def retention_settings(self) -> RetentionSettingsRepository: ...

    @property
    def audit_log(self) -> AuditLogRepository: ...

    @property
    def visitor_data(self) -> VisitorDataRepository: ...

    @property
    def files(self) -> FileRepository: ...

    @property
    def reservations(self) -> ReservationRepository: ...

    @property
    def redaction_settings(self) -> RedactionSettingsRepository: ...

    @property
    def locks(self) -> TenantLocks: ...

    @property
    def delivery_owners(self) -> DeliveryOwnerRepository: ...

    async def __aenter__(self) -> Self: ...

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...

    async def commit(self) -> None: ...

    def read_only(self) -> None:
        """Declare, before entering the block, that this unit of work only reads: it
        then neither waits for writers nor holds them up (on SQLite, a snapshot read
        outside the writer slot); a write or a lock in it fails (``RuntimeError``)."""
        ...


UnitOfWorkFactory = Callable[[], UnitOfWork]


class ConversationNotifier(Protocol):
    """Receives events after they are committed (or, for typing, right away).

    Implementations must not raise for delivery problems of their own: the change is
    already durable, and a reconnecting peer replays from the store.
    """

    async def notify(self, conversation: Conversation, events: Sequence[DomainEvent]) -> None: ...


class AddressNormalizer(Protocol):
    """How the agent desk writes an agent's address (for XMPP: the bare JID after
    stringprep). Every entry point that takes an agent address goes through it, so one
    account can never be stored under two spellings."""

    def normalize(self, address: str) -> str:
        """The canonical form; ``InvalidInput`` naming the problem if it is no address."""
        ...


class Clock(Protocol):
    def now(self) -> datetime:
        """Timezone-aware UTC."""
        ...
