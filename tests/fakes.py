"""In-memory fakes of the business ports.

They keep committed state in ``FakeStore`` and give each unit of work a private copy, so
an exception before ``commit`` loses its changes exactly as a rolled-back transaction
does. The repository contract tests run against these and the SQL repositories alike.
"""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from types import TracebackType
from typing import Self

from business.conversation import Conversation
from business.errors import Conflict
from business.events import (
    ConversationEvent,
    DeskEvent,
    DeskMessage,
    DomainEvent,
    MessagePosted,
    StoredEvent,
)
from business.file_model import FileId, FileLimits, StoredFile
from business.governance_ports import AuditEntry, RetentionSettings
from business.identity_model import DeviceToken, IdentitySettings, VisitorIdentity
from business.model import (
    Agent,
    AgentId,
    CannedResponse,
    ConversationId,
    ConversationState,
    Queue,
    QueueName,
    Tenant,
    TenantId,
    Visitor,
    VisitorId,
)
from business.ownership_ports import NodeId
from business.ports import JsonValue
from business.redaction import RedactionSettings
from business.report_metrics import ConversationMetrics
from business.webhook_model import (
    DeliveryAttempt,
    DeliveryId,
    SubscriptionId,
    WebhookDelivery,
    WebhookSubscription,
)
from business.widget_config import WidgetConfig
from tests.fakes_access import FakeApiKeys, StoredKeys
from tests.fakes_analytics import FakeAnalytics, StoredCounts
from tests.fakes_desk import CannedKey, FakeCannedRepository
from tests.fakes_directory import DuplicateKey, FakeAdapterState, FakeAgents
from tests.fakes_files import FakeFiles
from tests.fakes_governance import FakeAuditLog, FakeRetentionSettings, FakeVisitorData
from tests.fakes_identity import FakeIdentitySettings, FakeVisitorIdentities
from tests.fakes_mail import FakeTranscriptMails, StoredMails
from tests.fakes_members import FakeMemberRepository, MemberRow
from tests.fakes_queries import FakeConversationQueries
from tests.fakes_redaction import FakeRedactionSettings
from tests.fakes_reports import FakeLiveCounts, FakeReportRepository
from tests.fakes_reservations import FakeReservations
from tests.fakes_webhooks import FakeWebhookDeliveries, FakeWebhooks
from tests.fakes_widget import FakeWidgetConfigs

_CURSORS = frozenset({"visitor_read_seq", "agent_delivered_pos"})


@dataclasses.dataclass
class FakeStore:
    tenants: dict[TenantId, Tenant] = dataclasses.field(default_factory=dict)
    queues: dict[tuple[TenantId, QueueName], Queue] = dataclasses.field(default_factory=dict)
    visitors: dict[VisitorId, tuple[Visitor, str]] = dataclasses.field(default_factory=dict)
    conversations: dict[ConversationId, Conversation] = dataclasses.field(default_factory=dict)
    events: dict[ConversationId, list[StoredEvent]] = dataclasses.field(default_factory=dict)
    agents: dict[AgentId, Agent] = dataclasses.field(default_factory=dict)
    adapter_state: dict[tuple[str, str], dict[str, JsonValue]] = dataclasses.field(
        default_factory=dict
    )
    canned: dict[CannedKey, CannedResponse] = dataclasses.field(default_factory=dict)
    members: dict[tuple[ConversationId, AgentId], MemberRow] = dataclasses.field(
        default_factory=dict
    )
    reports: dict[ConversationId, ConversationMetrics] = dataclasses.field(default_factory=dict)
    api_keys: StoredKeys = dataclasses.field(default_factory=dict)
    transcript_mails: StoredMails = dataclasses.field(default_factory=dict)
    webhooks: dict[SubscriptionId, WebhookSubscription] = dataclasses.field(default_factory=dict)
    webhook_deliveries: dict[DeliveryId, WebhookDelivery] = dataclasses.field(default_factory=dict)
    webhook_attempts: dict[DeliveryId, list[DeliveryAttempt]] = dataclasses.field(
        default_factory=dict
    )
    widget_configs: dict[TenantId, WidgetConfig] = dataclasses.field(default_factory=dict)
    analytics: StoredCounts = dataclasses.field(default_factory=dict)
    identity_settings: dict[TenantId, IdentitySettings] = dataclasses.field(default_factory=dict)
    visitor_identities: dict[tuple[TenantId, str], VisitorIdentity] = dataclasses.field(
        default_factory=dict
    )
    device_tokens: dict[tuple[TenantId, str], DeviceToken] = dataclasses.field(default_factory=dict)
    files: dict[FileId, StoredFile] = dataclasses.field(default_factory=dict)
    file_limits: dict[TenantId, FileLimits] = dataclasses.field(default_factory=dict)
    redaction: dict[TenantId, RedactionSettings] = dataclasses.field(default_factory=dict)
    retention_settings: dict[TenantId, RetentionSettings] = dataclasses.field(default_factory=dict)
    audit_log: list[AuditEntry] = dataclasses.field(default_factory=list)
    commits: int = 0


class _Tenants:
    def __init__(self, s: FakeStore) -> None:
        self._s = s

    async def get(self, tenant_id: TenantId) -> Tenant | None:
        return self._s.tenants.get(tenant_id)

    async def add(self, tenant: Tenant) -> None:
        if tenant.id in self._s.tenants:
            raise DuplicateKey(f"tenant {tenant.id}")
        self._s.tenants[tenant.id] = tenant

    async def list(self, *, after: TenantId | None, limit: int) -> Sequence[Tenant]:
        ids = sorted(t for t in self._s.tenants if after is None or t > after)
        return [self._s.tenants[t] for t in ids[:limit]]

    async def save_settings(self, tenant: Tenant) -> None:
        stored = self._s.tenants[tenant.id]
        self._s.tenants[tenant.id] = dataclasses.replace(
            stored, transcript_auto_send=tenant.transcript_auto_send
        )


class _Queues:
    def __init__(self, s: FakeStore) -> None:
        self._s = s

    async def get(
        self, tenant_id: TenantId, name: QueueName, *, for_update: bool = False
    ) -> Queue | None:
        return self._s.queues.get((tenant_id, name))

    async def add(self, queue: Queue) -> None:
        key = (queue.tenant_id, queue.name)
        if key in self._s.queues:
            raise DuplicateKey(f"queue {queue.name}")
        self._s.queues[key] = queue

    async def list(self, tenant_id: TenantId) -> Sequence[Queue]:
        return sorted(
            (q for (t, _), q in self._s.queues.items() if t == tenant_id), key=lambda q: q.name
        )

    async def add_waiting(self, tenant_id: TenantId, name: QueueName, delta: int) -> None:
        queue = self._s.queues[(tenant_id, name)]
        self._s.queues[(tenant_id, name)] = dataclasses.replace(
            queue, waiting=queue.waiting + delta
        )

    async def set_max_waiting(
        self, tenant_id: TenantId, name: QueueName, max_waiting: int | None
    ) -> None:
        queue = self._s.queues[(tenant_id, name)]
        self._s.queues[(tenant_id, name)] = dataclasses.replace(queue, max_waiting=max_waiting)

    async def save_settings(self, queue: Queue) -> None:
        stored = self._s.queues[(queue.tenant_id, queue.name)]
        self._s.queues[(queue.tenant_id, queue.name)] = dataclasses.replace(
            queue, title=stored.title, waiting=stored.waiting
        )


class _Visitors:
    def __init__(self, s: FakeStore) -> None:
        self._s = s

    async def get(self, visitor_id: VisitorId) -> Visitor | None:
        found = self._s.visitors.get(visitor_id)
        return found[0] if found else None

    async def get_many(self, visitor_ids: Sequence[VisitorId]) -> Mapping[VisitorId, Visitor]:
        return {v: found[0] for v in visitor_ids if (found := self._s.visitors.get(v))}

    async def get_by_token_hash(self, tenant_id: TenantId, token_hash: str) -> Visitor | None:
        for visitor, stored in self._s.visitors.values():
            if stored == token_hash and visitor.tenant_id == tenant_id:
                return visitor
        return None

    async def add(self, visitor: Visitor, token_hash: str) -> None:
        if visitor.id in self._s.visitors:
            raise DuplicateKey(f"visitor {visitor.id}")
        if await self.get_by_token_hash(visitor.tenant_id, token_hash) is not None:
            raise Conflict("a visitor with this token hash exists already")
        self._s.visitors[visitor.id] = (visitor, token_hash)

    async def set_last_agent(self, visitor_id: VisitorId, agent_id: AgentId, at: datetime) -> None:
        visitor, token_hash = self._s.visitors[visitor_id]
        self._s.visitors[visitor_id] = (
            dataclasses.replace(visitor, last_agent_id=agent_id, last_served_at=at),
            token_hash,
        )

    async def set_name(self, visitor_id: VisitorId, name: str) -> None:
        visitor, token_hash = self._s.visitors[visitor_id]
        self._s.visitors[visitor_id] = (dataclasses.replace(visitor, name=name), token_hash)


def _refuse_if_read_only(read_only: bool) -> None:
    # As the SQL unit of work does: a read-only one may neither lock nor write.
    if read_only:
        raise RuntimeError("a read-only unit of work cannot lock or write")


class _Conversations:
    def __init__(self, s: FakeStore, *, read_only: bool = False) -> None:
        self._s = s
        self._read_only = read_only

    async def get(
        self, conversation_id: ConversationId, *, for_update: bool = False, fresh: bool = False
    ) -> Conversation | None:
        if for_update:
            _refuse_if_read_only(self._read_only)
        return self._s.conversations.get(conversation_id)

    async def get_many(
        self,
        conversation_ids: Sequence[ConversationId],
        *,
        for_update: bool = False,
        optimistic: bool = False,
    ) -> Mapping[ConversationId, Conversation]:
        found = {}
        for conversation_id in sorted(conversation_ids):
            conv = await self.get(conversation_id, for_update=for_update)
            if conv is not None:
                found[conversation_id] = conv
        return found

    async def add(self, conversation: Conversation) -> None:
        if conversation.id in self._s.conversations:
            raise DuplicateKey(f"conversation {conversation.id}")
        self._s.conversations[conversation.id] = conversation
        self._s.events.setdefault(conversation.id, [])

    async def save(self, conversation: Conversation, *, previous: Conversation) -> None:
        _refuse_if_read_only(self._read_only)
        stored = self._s.conversations.get(conversation.id)
        if stored is None:
            raise KeyError(conversation.id)
        # As the SQL repository does (see the port): only what changed is written, the
        # cursors as the greater of stored and new.
        changed = {
            f.name
            for f in dataclasses.fields(Conversation)
            if getattr(conversation, f.name) != getattr(previous, f.name)
        }
        moved = stored.last_pos != previous.last_pos or stored.state is not previous.state
        owner_changed = (
            "agent_delivered_pos" in changed
            and "agent_id" not in changed
            and stored.agent_id != previous.agent_id
        )
        if owner_changed:
            raise Conflict(f"conversation {conversation.id} has another agent now")
        if ((changed - _CURSORS or not changed) and moved) or any(
            getattr(stored, name) != getattr(previous, name)
            for name in changed - _CURSORS - {"context", "form"}
        ):
            raise Conflict(f"conversation {conversation.id} changed meanwhile")
        values = {name: getattr(conversation, name) for name in changed - _CURSORS}
        for name in changed & _CURSORS:
            values[name] = max(getattr(stored, name), getattr(conversation, name))
        if "agent_id" in changed:
            # A new owner: their cursor is what the change says (see the port).
            values["agent_delivered_pos"] = conversation.agent_delivered_pos
        self._s.conversations[conversation.id] = dataclasses.replace(stored, **values)

    async def list_for_visitor(
        self, visitor_id: VisitorId, *, ended: int = 0
    ) -> Sequence[Conversation]:
        mine = sorted(
            (c for c in self._s.conversations.values() if c.visitor_id == visitor_id),
            key=lambda c: (c.created_at, c.id),
            reverse=True,
        )
        closed = [c for c in mine if not c.is_open][:ended]
        return [c for c in mine if c.is_open or c in closed]

    async def open_for_visitors(
        self, visitor_ids: Sequence[VisitorId]
    ) -> Mapping[VisitorId, Sequence[Conversation]]:
        found: dict[VisitorId, list[Conversation]] = {}
        for visitor_id in dict.fromkeys(visitor_ids):
            if mine := [c for c in await self.list_for_visitor(visitor_id) if c.is_open]:
                found[visitor_id] = mine
        return found

    async def list_queued(
        self, tenant_id: TenantId, queue: QueueName, *, limit: int, for_update: bool = False
    ) -> Sequence[Conversation]:
        found = [
            c
            for c in self._s.conversations.values()
            if c.tenant_id == tenant_id and c.queue == queue and c.state is ConversationState.QUEUED
        ]
        return sorted(found, key=lambda c: (c.created_at, c.id))[: max(limit, 0)]

    async def count_active_by_agent(
        self, tenant_id: TenantId, agent_ids: Sequence[AgentId]
    ) -> Mapping[AgentId, int]:
        counts: dict[AgentId, int] = {}
        for c in self._s.conversations.values():
            if (
                c.tenant_id == tenant_id
                and c.state is ConversationState.ACTIVE
                and c.agent_id in agent_ids
                and c.agent_id is not None
            ):
                counts[c.agent_id] = counts.get(c.agent_id, 0) + 1
            elif (
                c.tenant_id == tenant_id
                and c.state is ConversationState.QUEUED
                and c.offered_to is not None
                and c.offered_to in agent_ids
            ):
                counts[c.offered_to] = counts.get(c.offered_to, 0) + 1
        return counts

    async def list_open_for_agent(self, agent_id: AgentId) -> Sequence[Conversation]:
        found = [
            c
            for c in self._s.conversations.values()
            if c.is_open and agent_id in (c.agent_id, c.offered_to)
        ]
        return sorted(found, key=lambda c: (c.created_at, c.id))

    async def list_offers_due(self, now: datetime, limit: int) -> Sequence[Conversation]:
        due = [
            c
            for c in self._s.conversations.values()
            if c.is_open and c.offer_expires_at is not None and c.offer_expires_at <= now
        ]
        return sorted(due, key=lambda c: (c.offer_expires_at, c.id))[:limit]

    async def list_idle_due(self, now: datetime | None, limit: int) -> Sequence[Conversation]:
        due = [
            c
            for c in self._s.conversations.values()
            if c.is_open and c.idle_due_at is not None and (now is None or c.idle_due_at <= now)
        ]
        return sorted(due, key=lambda c: (c.idle_due_at, c.id))[:limit]

    async def list_undelivered_to_agents(self) -> Sequence[Conversation]:
        found = [
            c
            for c in self._s.conversations.values()
            if c.desk_agent_id is not None and c.agent_delivered_pos < c.last_pos
        ]
        return sorted(found, key=lambda c: (c.created_at, c.id))


class _Events:
    def __init__(self, s: FakeStore, *, read_only: bool = False) -> None:
        self._s = s
        self._read_only = read_only

    async def add(self, event: StoredEvent) -> None:
        _refuse_if_read_only(self._read_only)
        existing = self._s.events.setdefault(event.conversation_id, [])
        if event.conversation_id not in self._s.conversations:
            raise DuplicateKey(f"no conversation {event.conversation_id}")
        if any(e.pos == event.pos for e in existing):
            raise Conflict(f"pos {event.pos} is taken")
        seq = getattr(event, "seq", None)
        if seq is not None and any(getattr(e, "seq", None) == seq for e in existing):
            raise Conflict(f"seq {seq} is taken")
        if isinstance(event, MessagePosted | DeskMessage) and event.client_msg_id is not None:
            for e in existing:
                if (
                    isinstance(e, MessagePosted | DeskMessage)
                    and e.client_msg_id == event.client_msg_id
                ):
                    # As the SQL unique key does (at commit there): see the port.
                    raise Conflict(f"client_msg_id {event.client_msg_id} is taken")
        existing.append(event)
        existing.sort(key=lambda e: e.pos)

    async def list_before_many(
        self, keys: Sequence[tuple[ConversationId, int]]
    ) -> Mapping[ConversationId, Sequence[StoredEvent]]:
        found: dict[ConversationId, list[StoredEvent]] = {}
        for conversation_id, pos in keys:
            events = [e for e in self._s.events.get(conversation_id, []) if e.pos < pos]
            if events and len(events) > len(found.get(conversation_id, [])):
                found[conversation_id] = events
        return found

    async def list_after(
        self, conversation_id: ConversationId, after_seq: int, limit: int
    ) -> Sequence[ConversationEvent]:
        events = [
            e
            for e in self._s.events.get(conversation_id, [])
            if not isinstance(e, DeskEvent) and e.seq > after_seq
        ]
        return events[:limit]

    async def newest_visible(
        self, conversation_ids: Sequence[ConversationId]
    ) -> Mapping[ConversationId, ConversationEvent]:
        found: dict[ConversationId, ConversationEvent] = {}
        for conversation_id in conversation_ids:
            events = await self.list_after(conversation_id, 0, 2**31)
            if events:
                found[conversation_id] = events[-1]
        return found

    async def list_after_pos(
        self, conversation_id: ConversationId, after_pos: int, limit: int
    ) -> Sequence[StoredEvent]:
        events = [e for e in self._s.events.get(conversation_id, []) if e.pos > after_pos]
        return events[:limit]

    async def get_message_by_client_id(
        self, conversation_id: ConversationId, client_msg_id: str
    ) -> MessagePosted | DeskMessage | None:
        for e in self._s.events.get(conversation_id, []):
            if isinstance(e, MessagePosted | DeskMessage) and e.client_msg_id == client_msg_id:
                return e
        return None

    async def find_messages(
        self, keys: Sequence[tuple[ConversationId, str]]
    ) -> Mapping[tuple[ConversationId, str], MessagePosted | DeskMessage]:
        found = {}
        for conversation_id, client_msg_id in keys:
            message = await self.get_message_by_client_id(conversation_id, client_msg_id)
            if message is not None:
                found[(conversation_id, client_msg_id)] = message
        return found

    async def count_messages_after(
        self, conversation_id: ConversationId, after_seq: int, exclude_kind: str
    ) -> int:
        return sum(
            1
            for e in self._s.events.get(conversation_id, [])
            if isinstance(e, MessagePosted) and e.seq > after_seq and e.sender.kind != exclude_kind
        )


class FakeTenantLocks:
    """The fakes have one process and one writer: nothing to lock."""

    async def tenant(self, tenant_id: TenantId) -> None:
        return None

    async def job(self, name: str) -> bool:
        return True


class FakeDeliveryOwners:
    """The fakes have one process, which owns every delivery without a row
    (``DeliveryOwnership`` without transactions never asks)."""

    async def beat(self, node: NodeId, lease_seconds: float) -> Sequence[NodeId]:
        raise NotImplementedError("delivery ownership is stored on PostgreSQL only")

    async def live(self) -> Sequence[NodeId]:
        raise NotImplementedError("delivery ownership is stored on PostgreSQL only")

    async def owners(
        self, conversation_ids: Sequence[ConversationId]
    ) -> Mapping[ConversationId, NodeId]:
        raise NotImplementedError("delivery ownership is stored on PostgreSQL only")

    async def claim(
        self, conversation_ids: Sequence[ConversationId], node: NodeId
    ) -> Mapping[ConversationId, NodeId]:
        raise NotImplementedError("delivery ownership is stored on PostgreSQL only")

    def own_new(self, conversation_ids: Sequence[ConversationId], node: NodeId) -> None:
        raise NotImplementedError("delivery ownership is stored on PostgreSQL only")

    async def leave(self, node: NodeId) -> int:
        raise NotImplementedError("delivery ownership is stored on PostgreSQL only")


class FakeUnitOfWork:
    def __init__(self, store: FakeStore) -> None:
        self._committed = store
        self._read_only = False
        self._begin()

    def read_only(self) -> None:
        self._read_only = True
        self._begin()

    def _begin(self) -> None:
        self._work = copy.deepcopy(self._committed)
        self.tenants = _Tenants(self._work)
        self.queues = _Queues(self._work)
        self.visitors = _Visitors(self._work)
        self.conversations = _Conversations(self._work, read_only=self._read_only)
        self.events = _Events(self._work, read_only=self._read_only)
        self.agents = FakeAgents(self._work.agents)
        self.adapter_state = FakeAdapterState(self._work.adapter_state)
        self.canned = FakeCannedRepository(self._work.canned)
        self.api_keys = FakeApiKeys(self._work.api_keys)
        self.members = FakeMemberRepository(
            self._work.members, self._work.conversations, read_only=self._read_only
        )
        self.reports = FakeReportRepository(self._work.reports, read_only=self._read_only)
        self.live_counts = FakeLiveCounts(self._work.conversations, self._work.queues)
        self.conversation_queries = FakeConversationQueries(
            self._work.conversations, self._work.events
        )
        self.transcript_mails = FakeTranscriptMails(
            self._work.transcript_mails, self._work.conversations, read_only=self._read_only
        )
        self.webhooks = FakeWebhooks(
            self._work.webhooks, self._work.webhook_deliveries, self._work.webhook_attempts
        )
        self.webhook_deliveries = FakeWebhookDeliveries(
            self._work.webhook_deliveries, self._work.webhook_attempts, self._work.webhooks
        )
        self.widget_configs = FakeWidgetConfigs(self._work.widget_configs)
        self.analytics = FakeAnalytics(self._work.analytics)
        self.identity_settings = FakeIdentitySettings(self._work.identity_settings)
        self.visitor_identities = FakeVisitorIdentities(
            self._work.visitor_identities, self._work.device_tokens, self._work.visitors
        )
        self.files = FakeFiles(self._work.files, self._work.file_limits)
        self.reservations = FakeReservations(self._work.conversations)
        self.redaction_settings = FakeRedactionSettings(self._work.redaction)
        self.retention_settings = FakeRetentionSettings(self._work.retention_settings)
        self.audit_log = FakeAuditLog(self._work.audit_log)
        self.visitor_data = FakeVisitorData()
        self.locks = FakeTenantLocks()
        self.delivery_owners = FakeDeliveryOwners()

    async def __aenter__(self) -> Self:
        self._begin()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._begin()

    async def commit(self) -> None:
        if self._read_only:
            raise RuntimeError("a read-only unit of work cannot commit")
        for f in dataclasses.fields(FakeStore):
            setattr(self._committed, f.name, getattr(self._work, f.name))
        self._committed.commits += 1
        self._begin()


class FakeClock:
    """A clock the test moves by hand; starts at a fixed instant."""

    def __init__(self, start: datetime | None = None) -> None:
        self.current = start or datetime(2026, 1, 1, 12, 0, tzinfo=UTC)

    def now(self) -> datetime:
        return self.current

    def advance(self, seconds: float) -> None:
        self.current += timedelta(seconds=seconds)


class RecordingNotifier:
    """Remembers what was published, in order."""

    def __init__(self) -> None:
        self.published: list[tuple[Conversation, DomainEvent]] = []

    async def notify(self, conversation: Conversation, events: Sequence[DomainEvent]) -> None:
        self.published.extend((conversation, e) for e in events)

    def events(self) -> list[DomainEvent]:
        return [e for _, e in self.published]
