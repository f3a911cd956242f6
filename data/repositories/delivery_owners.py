"""``business.ownership_ports.DeliveryOwnerRepository`` on PostgreSQL.

Every time is the server's (``now()``: the transaction's start), so engine machines
need not agree on the time. A claim is one ``INSERT … ON CONFLICT DO UPDATE … WHERE``:
PostgreSQL evaluates the ``WHERE`` against the committed row, after waiting for a
concurrent claim of the same conversation to commit, so two claims never both win.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from sqlalchemy import bindparam, text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.types import String

from business.model import ConversationId
from business.ownership_ports import NodeId
from data.repositories.base import OWNER_INSERTS, SqlContext

_BEAT = text(
    "INSERT INTO engine_nodes (id, started_at, lease_until) "
    "VALUES (:node, now(), now() + make_interval(secs => :lease)) "
    "ON CONFLICT (id) DO UPDATE SET lease_until = excluded.lease_until"
)
_LIVE = text("SELECT id FROM engine_nodes WHERE lease_until > now() ORDER BY id")
# Stale rows of nodes long gone are dropped now and then by whoever beats.
_FORGET_OLD = text("DELETE FROM engine_nodes WHERE lease_until < now() - interval '1 day'")
_CLAIM = text(
    "INSERT INTO delivery_owners (conversation_id, node_id, claimed_at) "
    # In key order whatever the plan: two claims of overlapping lists take their row
    # locks in one order, or they may deadlock.
    "SELECT c.id, :node, now() FROM conversations c WHERE c.id = ANY(:ids) ORDER BY c.id "
    "ON CONFLICT (conversation_id) DO UPDATE "
    "SET node_id = excluded.node_id, claimed_at = excluded.claimed_at "
    "WHERE delivery_owners.node_id = excluded.node_id OR NOT EXISTS ("
    "SELECT 1 FROM engine_nodes n "
    "WHERE n.id = delivery_owners.node_id AND n.lease_until > now())"
).bindparams(bindparam("ids", type_=ARRAY(String())))
_OWN_NEW = text(
    "INSERT INTO delivery_owners (conversation_id, node_id, claimed_at) VALUES (:cid, :node, now())"
)
_OWNERS = text(
    "SELECT conversation_id, node_id FROM delivery_owners WHERE conversation_id = ANY(:ids)"
).bindparams(bindparam("ids", type_=ARRAY(String())))
_RELEASE = text("DELETE FROM delivery_owners WHERE node_id = :node")
_LEAVE = text("DELETE FROM engine_nodes WHERE id = :node")


class SqlDeliveryOwnerRepository:
    """Only on PostgreSQL: SQLite runs one process, which owns everything without a row
    (``DeliveryOwnership`` without transactions)."""

    def __init__(self, ctx: SqlContext) -> None:
        self._ctx = ctx

    def _postgresql(self) -> None:
        if self._ctx.dialect != "postgresql":
            raise RuntimeError("delivery ownership is stored on PostgreSQL only")

    async def beat(self, node: NodeId, lease_seconds: float) -> Sequence[NodeId]:
        self._postgresql()
        ctx = self._ctx
        await ctx.hold_writer()
        await ctx.execute(_BEAT, {"node": node, "lease": float(lease_seconds)})
        await ctx.execute(_FORGET_OLD)
        return [NodeId(row[0]) for row in await ctx.execute(_LIVE)]

    async def live(self) -> Sequence[NodeId]:
        self._postgresql()
        return [NodeId(row[0]) for row in await self._ctx.execute(_LIVE)]

    async def owners(
        self, conversation_ids: Sequence[ConversationId]
    ) -> Mapping[ConversationId, NodeId]:
        self._postgresql()
        if not conversation_ids:
            return {}
        rows = await self._ctx.execute(_OWNERS, {"ids": sorted(set(conversation_ids))})
        return {ConversationId(cid): NodeId(owner) for cid, owner in rows}

    async def claim(
        self, conversation_ids: Sequence[ConversationId], node: NodeId
    ) -> Mapping[ConversationId, NodeId]:
        self._postgresql()
        if not conversation_ids:
            return {}
        ctx = self._ctx
        await ctx.hold_writer()
        ids = sorted(set(conversation_ids))
        await ctx.execute(_CLAIM, {"ids": ids, "node": node})
        rows = await ctx.execute(_OWNERS, {"ids": ids})
        return {ConversationId(cid): NodeId(owner) for cid, owner in rows}

    def own_new(self, conversation_ids: Sequence[ConversationId], node: NodeId) -> None:
        self._postgresql()
        for cid in conversation_ids:
            self._ctx.queue(_OWN_NEW, {"cid": cid, "node": node}, order=OWNER_INSERTS)

    async def leave(self, node: NodeId) -> int:
        self._postgresql()
        ctx = self._ctx
        await ctx.hold_writer()
        released = await ctx.execute(_RELEASE, {"node": node})
        await ctx.execute(_LEAVE, {"node": node})
        return int(released.rowcount or 0)
