"""Visitors."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from business.errors import Conflict
from business.model import AgentId, TenantId, Visitor, VisitorId
from data.errors import is_key_taken
from data.models import VisitorRow
from data.repositories.base import SqlContext
from data.repositories.reads import all_rows


def _visitor(row: VisitorRow) -> Visitor:
    return Visitor(
        id=VisitorId(row.id),
        tenant_id=TenantId(row.tenant_id),
        created_at=row.created_at,
        name=row.name,
        last_agent_id=None if row.last_agent_id is None else AgentId(row.last_agent_id),
        last_served_at=row.last_served_at,
    )


class SqlVisitorRepository:
    """Visitors; a token hash is unique per tenant (a duplicate is ``Conflict``)."""

    def __init__(self, ctx: SqlContext) -> None:
        self._ctx = ctx

    async def get(self, visitor_id: VisitorId) -> Visitor | None:
        row = await (await self._ctx.orm()).get(VisitorRow, visitor_id, populate_existing=True)
        return None if row is None else _visitor(row)

    async def get_many(self, visitor_ids: Sequence[VisitorId]) -> Mapping[VisitorId, Visitor]:
        if not visitor_ids:
            return {}
        stmt = select(VisitorRow).where(VisitorRow.id.in_(sorted(set(visitor_ids))))
        return {visitor.id: visitor for visitor in map(_visitor, await all_rows(self._ctx, stmt))}

    async def get_by_token_hash(self, tenant_id: TenantId, token_hash: str) -> Visitor | None:
        stmt = select(VisitorRow).where(
            VisitorRow.tenant_id == tenant_id, VisitorRow.token_hash == token_hash
        )
        rows = await all_rows(self._ctx, stmt)
        return _visitor(rows[0]) if rows else None

    async def add(self, visitor: Visitor, token_hash: str) -> None:
        """A token hash (or id) taken in the tenant is ``Conflict``."""
        (await self._ctx.orm()).add(
            VisitorRow(
                id=visitor.id,
                tenant_id=visitor.tenant_id,
                token_hash=token_hash,
                created_at=visitor.created_at,
                name=visitor.name,
            )
        )
        try:
            await (await self._ctx.orm()).flush()
        except IntegrityError as error:
            if is_key_taken(error):
                raise Conflict("a visitor with this id or token hash exists already") from error
            raise

    async def set_last_agent(self, visitor_id: VisitorId, agent_id: AgentId, at: datetime) -> None:
        row = await (await self._ctx.orm()).get(VisitorRow, visitor_id, populate_existing=True)
        if row is None:
            raise KeyError(visitor_id)
        row.last_agent_id = agent_id
        row.last_served_at = at
        await (await self._ctx.orm()).flush()

    async def set_name(self, visitor_id: VisitorId, name: str) -> None:
        row = await (await self._ctx.orm()).get(VisitorRow, visitor_id, populate_existing=True)
        if row is None:
            raise KeyError(visitor_id)
        row.name = name
        await (await self._ctx.orm()).flush()
