"""A visitor's data on request: export (everything held about them) and erasure.

Export: the visitor's row, their identity link (the site's ``sub``, name, e-mail,
extra claims), their device tokens (hashes), every conversation (context, pre-chat
form, custom fields), the events of each that the visitor saw or sent, their transcript
mails and their files. Agents' internal events (notes, whispers, the desk's consults,
offers and routing) are not included: they are the company's working records about the
chat, not data the visitor gave or was shown; an operator who must include them reads
them through ``GET /conversations/{id}/events``.

Erasure, idempotent: refused while the visitor has a conversation open (end it first:
erasing under a live chat would leave the agent talking to "[erased]" and the widget
resending what was just erased). Then the files' bytes of all their conversations go,
and in one transaction (with its audit entry): their offline messages are deleted
whole; in the other conversations every text the visitor sent becomes ``ERASED`` and
the name they went by, their context, form and custom fields and their address on
the API channel's service (``external_id``) are emptied; their
identity link, device tokens, files' records, transcript mails and webhook deliveries
are deleted; the visitor row stays, nameless, so that the conversations' reports
(statistics, which name nobody) still count them. Agents' messages and notes are kept:
they are the company's record of what it said and did, and carry the visitor's name
only where an agent typed it.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from business.audit import AuditService
from business.errors import InvalidTransition, NotFound
from business.file_model import StoredFile
from business.file_ports import BlobStore
from business.governance_ports import VisitorRecord
from business.model import ConversationId, TenantId, VisitorId
from business.transactions import Transactions

logger = logging.getLogger(__name__)

ERASED = "[erased]"


@dataclass(frozen=True, slots=True, kw_only=True)
class VisitorExport:
    record: VisitorRecord
    """The visitor's rows, the events filtered as the module docstring says."""

    def document(self, file_link: Mapping[str, str] | None = None) -> dict[str, Any]:
        """The export as one JSON document; ``file_link`` adds each file's link (by id)."""
        r = self.record
        return {
            "visitor": dict(r.visitor),
            "identities": [dict(i) for i in r.identities],
            "device_tokens": [dict(t) for t in r.device_tokens],
            "conversations": [
                dict(c) | {"events": [dict(e) for e in r.events.get(str(c["id"]), ())]}
                for c in r.conversations
            ],
            "transcript_mails": [dict(m) for m in r.transcript_mails],
            "files": [
                {
                    "id": f.id,
                    "conversation_id": f.conversation_id,
                    "owner": f.owner.value,
                    "name": f.name,
                    "content_type": f.content_type,
                    "size": f.size,
                    "created_at": f.created_at.isoformat(),
                }
                | ({} if file_link is None else {"url": file_link.get(f.id)})
                for f in r.files
            ],
            "not_included": "agents' internal notes, whispers and routing events",
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class Erasure:
    visitor_id: VisitorId
    counts: Mapping[str, int]


def _visible(event: Mapping[str, Any]) -> bool:
    return event.get("seq") is not None or event.get("sender_kind") == "visitor"


class VisitorDataService:
    def __init__(
        self, *, transactions: Transactions, blobs: BlobStore, audit: AuditService
    ) -> None:
        self._tx = transactions
        self._blobs = blobs
        self._audit = audit

    async def export(
        self, tenant_id: TenantId, visitor_id: VisitorId, *, actor: str
    ) -> VisitorExport:
        """Everything held about the visitor; ``NotFound`` for one the tenant does not
        have. Audit-logged (``visitor.export``)."""
        async with self._tx.read() as tx:
            record = await tx.visitor_data.record(tenant_id, visitor_id)
        if record is None:
            raise NotFound(f"tenant {tenant_id} has no visitor {visitor_id}")
        events = {conv: [e for e in rows if _visible(e)] for conv, rows in record.events.items()}
        record = VisitorRecord(
            visitor=record.visitor,
            identities=record.identities,
            device_tokens=record.device_tokens,
            conversations=record.conversations,
            events=events,
            transcript_mails=record.transcript_mails,
            files=record.files,
        )
        await self._audit.record(
            actor=actor,
            action="visitor.export",
            tenant_id=tenant_id,
            target=visitor_id,
            detail={"conversations": len(record.conversations), "files": len(record.files)},
        )
        return VisitorExport(record=record)

    async def file_bytes(self, file: StoredFile) -> bytes | None:
        """A file's bytes; None once they are gone (purged)."""
        return await self._blobs.get(file.id)

    async def erase(self, tenant_id: TenantId, visitor_id: VisitorId, *, actor: str) -> Erasure:
        """See the module docstring. ``NotFound`` for an unknown visitor,
        ``InvalidTransition`` while one of their conversations is open."""
        async with self._tx.read() as tx:
            record = await tx.visitor_data.record(tenant_id, visitor_id)
            open_ = await tx.visitor_data.open_conversations(tenant_id, visitor_id)
        if record is None:
            raise NotFound(f"tenant {tenant_id} has no visitor {visitor_id}")
        if open_:
            raise InvalidTransition(
                f"visitor {visitor_id} has {len(open_)} open conversation(s) "
                f"({', '.join(open_)}); end them first, then erase"
            )
        offline = [ConversationId(str(c["id"])) for c in record.conversations if c.get("offline")]
        for file in record.files:
            await self._blobs.delete(file.id)
        async with self._tx() as tx:
            removed = await tx.visitor_data.erase(
                tenant_id, visitor_id, placeholder=ERASED, delete_conversations=offline
            )
            counts = dict(removed.counts) | {"files": len(record.files)}
            await self._audit.append_in(
                tx,
                self._audit.entry(
                    actor=actor,
                    action="visitor.erase",
                    tenant_id=tenant_id,
                    target=visitor_id,
                    detail=counts,
                ),
            )
            await tx.commit()
        logger.info("tenant %s: visitor %s erased (%s)", tenant_id, visitor_id, counts)
        return Erasure(visitor_id=visitor_id, counts=counts)


def sorted_counts(counts: Mapping[str, int]) -> Sequence[tuple[str, int]]:
    return sorted(counts.items())
