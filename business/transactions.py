"""Transactions: a unit of work that stores aggregate changes and publishes their events.

Use cases never publish by hand. They ``apply`` each ``Change`` to the transaction, which
stores the conversation and its events and remembers them; once the transaction has
committed and its unit of work is closed (on SQLite: the writer slot released), the
remembered events go to the publisher, in the order they were applied. A change that is
never committed is never published, and a committed one always is, even if the block
fails later: forgetting to publish, or publishing what was rolled back, cannot happen.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from types import TracebackType
from typing import Self, TypeVar

from business.analytics_ports import AnalyticsRepository
from business.api_key_ports import ApiKeyRepository
from business.canned_ports import CannedRepository
from business.conversation import Change, Conversation
from business.conversation_ports import ConversationRepository, EventRepository
from business.conversation_query_ports import ConversationQueryRepository
from business.errors import Conflict
from business.events import DomainEvent, EphemeralEvent
from business.file_ports import FileRepository
from business.governance_ports import (
    AuditLogRepository,
    RetentionSettingsRepository,
    VisitorDataRepository,
)
from business.identity_ports import IdentitySettingsRepository, VisitorIdentityRepository
from business.lock_ports import TenantLocks
from business.member_ports import MemberRepository
from business.ownership_ports import DeliveryOwnerRepository
from business.ports import (
    AdapterStateRepository,
    AgentRepository,
    QueueRepository,
    TenantRepository,
    UnitOfWork,
    UnitOfWorkFactory,
    VisitorRepository,
)
from business.publishing import EventPublisher
from business.reawaken_ports import ReservationRepository
from business.redaction_ports import RedactionSettingsRepository
from business.report_ports import LiveCountRepository, ReportRepository
from business.transcript_mail_ports import TranscriptMailRepository
from business.webhook_ports import WebhookDeliveryRepository, WebhookRepository
from business.widget_config_ports import WidgetConfigRepository

_Publication = tuple[Conversation, Sequence[DomainEvent]]


class Transaction:
    """One unit of work, used as ``async with``; see the module docstring."""

    def __init__(self, uow: UnitOfWork, publisher: EventPublisher) -> None:
        self._uow = uow
        self._publisher = publisher
        self._applied: list[_Publication] = []
        self._committed: list[_Publication] = []
        self._ephemeral: list[_Publication] = []

    # -- repositories ---------------------------------------------------------------

    @property
    def tenants(self) -> TenantRepository:
        return self._uow.tenants

    @property
    def queues(self) -> QueueRepository:
        return self._uow.queues

    @property
    def visitors(self) -> VisitorRepository:
        return self._uow.visitors

    @property
    def conversations(self) -> ConversationRepository:
        return self._uow.conversations

    @property
    def events(self) -> EventRepository:
        return self._uow.events

    @property
    def agents(self) -> AgentRepository:
        return self._uow.agents

    @property
    def adapter_state(self) -> AdapterStateRepository:
        return self._uow.adapter_state

    @property
    def canned(self) -> CannedRepository:
        return self._uow.canned

    @property
    def members(self) -> MemberRepository:
        return self._uow.members

    @property
    def reports(self) -> ReportRepository:
        return self._uow.reports

    @property
    def live_counts(self) -> LiveCountRepository:
        return self._uow.live_counts

    @property
    def conversation_queries(self) -> ConversationQueryRepository:
        return self._uow.conversation_queries

    @property
    def api_keys(self) -> ApiKeyRepository:
        return self._uow.api_keys

    @property
    def transcript_mails(self) -> TranscriptMailRepository:
        return self._uow.transcript_mails

    @property
    def webhooks(self) -> WebhookRepository:
        return self._uow.webhooks

    @property
    def webhook_deliveries(self) -> WebhookDeliveryRepository:
        return self._uow.webhook_deliveries

    @property
    def widget_configs(self) -> WidgetConfigRepository:
        return self._uow.widget_configs

    @property
    def analytics(self) -> AnalyticsRepository:
        return self._uow.analytics

    @property
    def identity_settings(self) -> IdentitySettingsRepository:
        return self._uow.identity_settings

    @property
    def visitor_identities(self) -> VisitorIdentityRepository:
        return self._uow.visitor_identities

    @property
    def files(self) -> FileRepository:
        return self._uow.files

    @property
    def reservations(self) -> ReservationRepository:
        return self._uow.reservations

    @property
    def redaction_settings(self) -> RedactionSettingsRepository:
        return self._uow.redaction_settings

    @property
    def locks(self) -> TenantLocks:
        return self._uow.locks

    @property
    def delivery_owners(self) -> DeliveryOwnerRepository:
        return self._uow.delivery_owners

    @property
    def retention_settings(self) -> RetentionSettingsRepository:
        return self._uow.retention_settings

    @property
    def audit_log(self) -> AuditLogRepository:
        return self._uow.audit_log

    @property
    def visitor_data(self) -> VisitorDataRepository:
        return self._uow.visitor_data

    # -- changes --------------------------------------------------------------------

    async def apply(self, change: Change) -> Conversation:
        """Store ``change`` (its conversation, its events, and the queues' waiting counts
        when the conversation entered, left or changed its queue); returns the new
        conversation."""
        conv = change.conversation
        if change.before is None:
            await self._uow.conversations.add(conv)
        else:
            await self._uow.conversations.save(conv, previous=change.before)
        for event in change.events:
            await self._uow.events.add(event)
        for write in change.member_writes:
            await self._uow.members.write(conv.id, write)
        if change.entered_queue:
            await self._uow.queues.add_waiting(conv.tenant_id, conv.queue, 1)
        elif change.left_queue:
            await self._uow.queues.add_waiting(conv.tenant_id, conv.queue, -1)
        elif change.moved_queue:
            assert change.before is not None
            await self._uow.queues.add_waiting(conv.tenant_id, change.before.queue, -1)
            await self._uow.queues.add_waiting(conv.tenant_id, conv.queue, 1)
        if change.events:
            await self._publisher.stage(self._uow, conv, change.events)
            self._applied.append((conv, change.events))
        return conv

    def announce(self, conversation: Conversation, events: Sequence[EphemeralEvent]) -> None:
        """Publish events that are never stored once the block ends without error."""
        self._ephemeral.append((conversation, events))

    async def commit(self) -> None:
        await self._uow.commit()
        self._committed.extend(self._applied)
        self._applied.clear()

    # -- context manager ------------------------------------------------------------

    async def __aenter__(self) -> Self:
        await self._uow.__aenter__()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        forgotten = exc is None and bool(self._applied)
        try:
            await self._uow.__aexit__(exc_type, exc, tb)
        finally:
            publications = self._committed
            if exc is None:
                publications += self._ephemeral
            self._committed, self._applied, self._ephemeral = [], [], []
            for conversation, events in publications:
                await self._publisher.publish(conversation, events)
        if forgotten:
            # A use case applied a change and left without committing: it was rolled
            # back, and the caller would otherwise believe it stored.
            raise RuntimeError("a transaction ended with applied changes it never committed")


class Transactions:
    """Makes a ``Transaction`` per call: what every use case is given."""

    def __init__(self, uow: UnitOfWorkFactory, publisher: EventPublisher) -> None:
        self._uow = uow
        self.publisher = publisher

    def __call__(self) -> Transaction:
        return Transaction(self._uow(), self.publisher)

    def read(self) -> Transaction:
        """A transaction that only reads (``UnitOfWork.read_only``): for what is shown or
        sent, never for what a change is decided on."""
        uow = self._uow()
        uow.read_only()
        return Transaction(uow, self.publisher)


_T = TypeVar("_T")

CONFLICT_ATTEMPTS = 3
"""How often a use case decides again after a ``Conflict`` before giving up (another
process changing the same conversation three times in a row is not contention any more,
it is a fault)."""


async def retrying(attempt: Callable[[], Awaitable[_T]]) -> _T:
    """Run ``attempt`` (a whole transaction) again when it ends in ``Conflict``."""
    for _ in range(CONFLICT_ATTEMPTS - 1):
        try:
            return await attempt()
        except Conflict:
            continue
    return await attempt()
