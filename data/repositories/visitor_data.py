"""Every table that holds a visitor's data, for their export, erasure and retention
(``business.governance_ports.VisitorDataRepository``).

``VISITOR_TABLES`` and ``CONVERSATION_TABLES`` name them; a test checks them against
every table with a ``visitor_id`` or ``conversation_id`` column, so a new table holding
a visitor's data cannot be forgotten here.

Conversations are deleted and changed here outside their aggregate, so their cached
copies are dropped at commit (``changed_behind``).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import Any, Final

from sqlalchemy import and_, delete, exists, or_, select, update

from business.file_model import FileId, FileOwner, StoredFile
from business.governance_ports import JsonObject, Removed, VisitorRecord
from business.model import ConversationId, ConversationState, TenantId, VisitorId
from data.models import ConversationMemberRow, ConversationRow, EventRow, VisitorRow
from data.models_cluster import DeliveryOwnerRow
from data.models_files import FileRow
from data.models_identity import VisitorDeviceTokenRow, VisitorIdentityRow
from data.models_integrations import TranscriptMailRow, WebhookAttemptRow, WebhookDeliveryRow
from data.repositories.base import SqlContext

VISITOR_TABLES: Final = frozenset(
    {"visitors", "visitor_identities", "visitor_device_tokens", "conversations", "files"}
)
"""Tables with a visitor's id: exported, and erased or deleted."""
CONVERSATION_TABLES: Final = frozenset(
    {
        "conversation_events",
        "conversation_members",
        "delivery_owners",
        "files",
        "transcript_mails",
        "webhook_deliveries",
    }
)
"""Tables with a conversation's id: deleted with it."""
KEPT_TABLES: Final = frozenset({"conversation_reports"})
"""Statistics: the visitor's id (a random one) and figures, no name, text or address."""

_VISITOR_EVENT_TYPES_CLEARED: Final[dict[str, dict[str, Any]]] = {
    "message": {},
    "visitor.identified": {"changes": []},
}
"""Payloads of a visitor's events that hold what they wrote or told, and what is left."""


def _json(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


def _row(table: Any, row: Any) -> JsonObject:
    return {column.name: _json(getattr(row, column.key)) for column in table.columns}


class SqlVisitorDataRepository:
    def __init__(self, ctx: SqlContext) -> None:
        self._ctx = ctx

    async def _rows(self, table: Any, *where: Any, order: Sequence[Any] = ()) -> list[JsonObject]:
        session = await self._ctx.orm()
        result = await session.execute(select(table).where(*where).order_by(*order))
        return [_row(table, row) for row in result]

    async def record(self, tenant_id: TenantId, visitor_id: VisitorId) -> VisitorRecord | None:
        await self._ctx.flush()
        visitors = VisitorRow.__table__
        found = await self._rows(
            visitors, visitors.c.id == visitor_id, visitors.c.tenant_id == tenant_id
        )
        if not found:
            return None
        conv = ConversationRow.__table__
        conversations = await self._rows(
            conv, conv.c.visitor_id == visitor_id, order=(conv.c.created_at, conv.c.id)
        )
        ids = [c["id"] for c in conversations]
        ev = EventRow.__table__
        events: dict[str, list[JsonObject]] = {str(i): [] for i in ids}
        for event in await self._rows(
            ev, ev.c.conversation_id.in_(ids), order=(ev.c.conversation_id, ev.c.pos)
        ):
            events[str(event["conversation_id"])].append(event)
        ident = VisitorIdentityRow.__table__
        tokens = VisitorDeviceTokenRow.__table__
        mails = TranscriptMailRow.__table__
        return VisitorRecord(
            visitor=found[0],
            identities=await self._rows(ident, ident.c.visitor_id == visitor_id),
            device_tokens=await self._rows(tokens, tokens.c.visitor_id == visitor_id),
            conversations=conversations,
            events=events,
            transcript_mails=await self._rows(
                mails, mails.c.conversation_id.in_(ids), order=(mails.c.created_at,)
            ),
            files=await self._files(
                or_(FileRow.conversation_id.in_(ids), FileRow.visitor_id == visitor_id)
            ),
        )

    async def _files(self, where: Any) -> list[StoredFile]:
        session = await self._ctx.orm()
        rows = await session.scalars(select(FileRow).where(where).order_by(FileRow.created_at))
        return [
            StoredFile(
                id=FileId(row.id),
                tenant_id=TenantId(row.tenant_id),
                conversation_id=ConversationId(row.conversation_id),
                visitor_id=None if row.visitor_id is None else VisitorId(row.visitor_id),
                owner=FileOwner(row.owner),
                name=row.name,
                content_type=row.content_type,
                size=row.size,
                created_at=row.created_at,
            )
            for row in rows
        ]

    async def open_conversations(
        self, tenant_id: TenantId, visitor_id: VisitorId
    ) -> Sequence[ConversationId]:
        await self._ctx.flush()
        session = await self._ctx.orm()
        rows = await session.scalars(
            select(ConversationRow.id).where(
                ConversationRow.tenant_id == tenant_id,
                ConversationRow.visitor_id == visitor_id,
                ConversationRow.state != ConversationState.ENDED.value,
            )
        )
        return [ConversationId(i) for i in rows]

    async def conversation_files(
        self, conversation_ids: Sequence[ConversationId]
    ) -> Sequence[StoredFile]:
        if not conversation_ids:
            return []
        return await self._files(FileRow.conversation_id.in_(list(conversation_ids)))

    async def erase(
        self,
        tenant_id: TenantId,
        visitor_id: VisitorId,
        *,
        placeholder: str,
        delete_conversations: Sequence[ConversationId],
    ) -> Removed:
        await self._ctx.flush()
        session = await self._ctx.orm()
        counts: dict[str, int] = {}
        deleted = await self.delete_conversations(delete_conversations)
        counts["offline_messages"] = deleted.counts.get("conversations", 0)
        owned = select(ConversationRow.id).where(
            ConversationRow.tenant_id == tenant_id,
            ConversationRow.visitor_id == visitor_id,
            ConversationRow.state == ConversationState.ENDED.value,
        )
        ids = [ConversationId(i) for i in await session.scalars(owned)]
        await self._delete_hanging(ids, keep_events=True)
        texts = await session.execute(
            update(EventRow)
            .where(
                EventRow.conversation_id.in_(ids),
                EventRow.sender_kind == "visitor",
                EventRow.text.is_not(None),
                EventRow.text != placeholder,
            )
            .values(text=placeholder)
            .execution_options(synchronize_session=False)
        )
        counts["texts"] = texts.rowcount  # type: ignore[attr-defined]
        await session.execute(
            update(EventRow)
            .where(EventRow.conversation_id.in_(ids), EventRow.sender_kind == "visitor")
            .values(sender_name=placeholder)
            .execution_options(synchronize_session=False)
        )
        for kind, payload in _VISITOR_EVENT_TYPES_CLEARED.items():
            await session.execute(
                update(EventRow)
                .where(
                    EventRow.conversation_id.in_(ids),
                    EventRow.sender_kind == "visitor",
                    EventRow.type == kind,
                )
                .values(payload=payload)
                .execution_options(synchronize_session=False)
            )
        result = await session.execute(
            update(ConversationRow)
            .where(ConversationRow.id.in_(ids))
            # ``external_id``: an API-channel visitor's address there (a phone number).
            .values(
                visitor_name=placeholder, context={}, form={}, started_by=None, external_id=None
            )
            .execution_options(synchronize_session=False)
        )
        counts["conversations"] = result.rowcount  # type: ignore[attr-defined]
        self._ctx.changed_behind.update(ids)
        for name, table in (
            ("identities", VisitorIdentityRow),
            ("device_tokens", VisitorDeviceTokenRow),
        ):
            gone = await session.execute(
                delete(table)
                .where(table.visitor_id == visitor_id)
                .execution_options(synchronize_session=False)
            )
            counts[name] = gone.rowcount  # type: ignore[attr-defined]
        await session.execute(
            delete(FileRow)
            .where(FileRow.visitor_id == visitor_id)
            .execution_options(synchronize_session=False)
        )
        await session.execute(
            update(VisitorRow)
            .where(VisitorRow.id == visitor_id, VisitorRow.tenant_id == tenant_id)
            .values(name=None)
            .execution_options(synchronize_session=False)
        )
        return Removed(counts=counts)

    async def _delete_hanging(self, ids: Sequence[ConversationId], *, keep_events: bool) -> None:
        """Delete what hangs on conversations ``ids``: files' records, transcript mails,
        webhook deliveries and their attempts, and (unless ``keep_events``) members and
        events."""
        if not ids:
            return
        session = await self._ctx.orm()
        listed = list(ids)
        deliveries = select(WebhookDeliveryRow.id).where(
            WebhookDeliveryRow.conversation_id.in_(listed)
        )
        statements = [
            delete(WebhookAttemptRow).where(WebhookAttemptRow.delivery_id.in_(deliveries)),
            delete(WebhookDeliveryRow).where(WebhookDeliveryRow.conversation_id.in_(listed)),
            delete(TranscriptMailRow).where(TranscriptMailRow.conversation_id.in_(listed)),
            delete(FileRow).where(FileRow.conversation_id.in_(listed)),
        ]
        if not keep_events:
            statements += [
                delete(ConversationMemberRow).where(
                    ConversationMemberRow.conversation_id.in_(listed)
                ),
                delete(EventRow).where(EventRow.conversation_id.in_(listed)),
                delete(DeliveryOwnerRow).where(DeliveryOwnerRow.conversation_id.in_(listed)),
            ]
        for statement in statements:
            await session.execute(statement.execution_options(synchronize_session=False))

    async def ended_before(
        self, tenant_id: TenantId, before: datetime, *, limit: int
    ) -> Sequence[ConversationId]:
        session = await self._ctx.orm()
        rows = await session.scalars(
            select(ConversationRow.id)
            .where(
                ConversationRow.tenant_id == tenant_id,
                ConversationRow.state == ConversationState.ENDED.value,
                ConversationRow.ended_at < before,
            )
            .order_by(ConversationRow.ended_at, ConversationRow.id)
            .limit(limit)
        )
        return [ConversationId(i) for i in rows]

    async def delete_conversations(self, conversation_ids: Sequence[ConversationId]) -> Removed:
        if not conversation_ids:
            return Removed(counts={"conversations": 0})
        await self._ctx.flush()
        session = await self._ctx.orm()
        # Only ended ones, whatever the caller read earlier (another process may have
        # reopened nothing, but a conversation is never deleted under a live chat).
        ended = [
            ConversationId(i)
            for i in await session.scalars(
                select(ConversationRow.id).where(
                    ConversationRow.id.in_(list(conversation_ids)),
                    ConversationRow.state == ConversationState.ENDED.value,
                )
            )
        ]
        await self._delete_hanging(ended, keep_events=False)
        result = await session.execute(
            delete(ConversationRow)
            .where(
                ConversationRow.id.in_(ended),
                ConversationRow.state == ConversationState.ENDED.value,
            )
            .execution_options(synchronize_session=False)
        )
        self._ctx.changed_behind.update(ended)
        return Removed(counts={"conversations": result.rowcount})  # type: ignore[attr-defined]

    def _idle(self, tenant_id: TenantId, before: datetime) -> Any:
        return and_(
            VisitorRow.tenant_id == tenant_id,
            VisitorRow.created_at < before,
            or_(VisitorRow.last_served_at.is_(None), VisitorRow.last_served_at < before),
            ~exists().where(ConversationRow.visitor_id == VisitorRow.id),
            ~exists().where(
                VisitorDeviceTokenRow.visitor_id == VisitorRow.id,
                VisitorDeviceTokenRow.last_used_at >= before,
            ),
        )

    async def idle_visitors(
        self, tenant_id: TenantId, before: datetime, *, limit: int
    ) -> Sequence[VisitorId]:
        session = await self._ctx.orm()
        rows = await session.scalars(
            select(VisitorRow.id)
            .where(self._idle(tenant_id, before))
            .order_by(VisitorRow.created_at, VisitorRow.id)
            .limit(limit)
        )
        return [VisitorId(i) for i in rows]

    async def delete_visitors(
        self, tenant_id: TenantId, visitor_ids: Sequence[VisitorId], before: datetime
    ) -> int:
        if not visitor_ids:
            return 0
        session = await self._ctx.orm()
        still = [
            VisitorId(i)
            for i in await session.scalars(
                select(VisitorRow.id).where(
                    VisitorRow.id.in_(list(visitor_ids)), self._idle(tenant_id, before)
                )
            )
        ]
        if not still:
            return 0
        for table in (VisitorIdentityRow, VisitorDeviceTokenRow):
            await session.execute(
                delete(table)
                .where(table.visitor_id.in_(still))
                .execution_options(synchronize_session=False)
            )
        result = await session.execute(
            delete(VisitorRow)
            .where(VisitorRow.id.in_(still), self._idle(tenant_id, before))
            .execution_options(synchronize_session=False)
        )
        return int(result.rowcount)  # type: ignore[attr-defined]
