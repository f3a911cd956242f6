"""Data governance: what is kept how long (``business.retention``), what is held about
one visitor and how it is erased (``business.visitor_data``), and the append-only audit
log of administrators' actions (``business.audit``).

The visitor-data port deals in plain JSON-ready mappings rather than domain objects:
an export is "every column of every row held about the visitor", and a column added
later must appear in it without anyone remembering to add it here.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from business.file_model import StoredFile
from business.model import ConversationId, TenantId, VisitorId

JsonObject = Mapping[str, Any]


@dataclass(frozen=True, slots=True, kw_only=True)
class RetentionSettings:
    """How many days a tenant keeps its data; None: for ever (the default)."""

    conversations_days: int | None = None
    """Ended conversations (events, transcript mails, offline messages, files) this many
    days after their end."""
    visitors_days: int | None = None
    """Visitors with no conversation left, this many days after they were last seen
    (created, served, or a device of theirs used)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class AuditEntry:
    """One administrator's action, as the log keeps it for ever."""

    at: datetime
    actor: str
    """``apikey:<key id>`` for the REST API, ``cli:<unix user>`` for the command line."""
    action: str
    tenant_id: TenantId | None
    target: str | None
    detail: JsonObject = field(default_factory=dict)
    """Small, and never a secret nor a value of the request (only which fields it gave)."""
    id: int | None = None
    """Assigned by the log: increasing in the order of writing."""


@dataclass(frozen=True, slots=True, kw_only=True)
class VisitorRecord:
    """Everything stored about one visitor, row by row (every column, as JSON values)."""

    visitor: JsonObject
    identities: Sequence[JsonObject]
    device_tokens: Sequence[JsonObject]
    """Hashes only: the tokens themselves are never stored."""
    conversations: Sequence[JsonObject]
    events: Mapping[str, Sequence[JsonObject]]
    """By conversation id, in order."""
    transcript_mails: Sequence[JsonObject]
    files: Sequence[StoredFile]


@dataclass(frozen=True, slots=True, kw_only=True)
class Removed:
    """What one removal deleted (or anonymised), by kind."""

    counts: Mapping[str, int]
    files: Sequence[StoredFile] = ()


class RetentionSettingsRepository(Protocol):
    async def get(self, tenant_id: TenantId) -> RetentionSettings | None:
        """None: the tenant never set any (everything is kept)."""

    async def put(self, tenant_id: TenantId, settings: RetentionSettings, at: datetime) -> None: ...

    async def all(self) -> Mapping[TenantId, RetentionSettings]:
        """The tenants that keep something for a limited time only."""


class AuditLogRepository(Protocol):
    """Append-only: there is deliberately no way to change or delete an entry."""

    async def append(self, entry: AuditEntry) -> None: ...

    async def list(
        self, *, tenant_id: TenantId | None, since: datetime | None, limit: int
    ) -> Sequence[AuditEntry]:
        """Newest first; ``tenant_id`` None: every tenant's and the platform's."""


class VisitorDataRepository(Protocol):
    """Reads and removals across every table holding a visitor's data. Removals touch
    only ended conversations, and deleting what is already gone is no error (two
    engines may purge at once)."""

    async def record(self, tenant_id: TenantId, visitor_id: VisitorId) -> VisitorRecord | None:
        """None: no such visitor in that tenant."""

    async def open_conversations(
        self, tenant_id: TenantId, visitor_id: VisitorId
    ) -> Sequence[ConversationId]: ...

    async def conversation_files(
        self, conversation_ids: Sequence[ConversationId]
    ) -> Sequence[StoredFile]: ...

    async def erase(
        self,
        tenant_id: TenantId,
        visitor_id: VisitorId,
        *,
        placeholder: str,
        delete_conversations: Sequence[ConversationId],
    ) -> Removed:
        """Anonymise the visitor and their ended conversations (their texts become
        ``placeholder``) and delete ``delete_conversations`` (their offline messages),
        their identity, device tokens, files' records, transcript mails and webhook
        deliveries."""

    async def ended_before(
        self, tenant_id: TenantId, before: datetime, *, limit: int
    ) -> Sequence[ConversationId]: ...

    async def delete_conversations(self, conversation_ids: Sequence[ConversationId]) -> Removed:
        """Delete ended conversations with everything that hangs on them but the reports
        (statistics, no personal data); files' records too (their bytes are the caller's)."""

    async def idle_visitors(
        self, tenant_id: TenantId, before: datetime, *, limit: int
    ) -> Sequence[VisitorId]:
        """Visitors with no conversation, created, served and whose devices were used
        last before ``before``."""

    async def delete_visitors(
        self, tenant_id: TenantId, visitor_ids: Sequence[VisitorId], before: datetime
    ) -> int:
        """Delete those still idle (checked again in the same statement), with their
        identities and device tokens; how many went."""
