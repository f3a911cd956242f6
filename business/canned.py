"""Canned responses: prepared answers an agent sends by name.

A response belongs to one queue or, with queue None, to every queue of the tenant; where
both have one of the same name, the queue's own wins. Placeholders in the text are filled
in when it is sent (``render``), never by ``str.format``: a response is text an
administrator wrote and a visitor's name is text a visitor chose, and neither may reach
Python's formatting machinery.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from business import commands as c
from business.errors import NotFound
from business.model import CannedResponse, QueueName, TenantId
from business.ports import Clock
from business.transactions import Transaction, Transactions
from business.validation import Limits, check_queue_name, check_text, check_word

logger = logging.getLogger(__name__)

PLACEHOLDERS = ("{visitor}", "{agent}", "{queue}")


class CannedService:
    def __init__(self, *, transactions: Transactions, clock: Clock, limits: Limits) -> None:
        self._tx = transactions
        self._clock = clock
        self._limits = limits

    async def add(self, cmd: c.AddCannedResponse) -> CannedResponse:
        """Add the response, or replace the text of the one with this name in the same
        place (tenant-wide or the queue); the queue must exist. Its text is a message
        text: not blank, at most ``Limits.max_text_length`` characters."""
        name = check_word(cmd.name, "canned response name")
        text = check_text(cmd.text, self._limits, "canned response text")
        queue = None if cmd.queue is None else check_queue_name(cmd.queue)
        async with self._tx() as tx:
            await _check_place(tx, cmd.tenant_id, queue)
            existing = await tx.canned.get(cmd.tenant_id, queue, name)
            response = CannedResponse(
                tenant_id=cmd.tenant_id,
                queue=queue,
                name=name,
                text=text,
                created_at=self._clock.now() if existing is None else existing.created_at,
                rich=cmd.rich,
            )
            await tx.canned.put(response)
            await tx.commit()
        logger.info("canned response %s of queue %s saved", name, queue or "(all)")
        return response

    async def list(
        self, tenant_id: TenantId, queue: QueueName | None = None
    ) -> Sequence[CannedResponse]:
        """Without ``queue``: every response of the tenant, tenant-wide first, then by
        queue and name. With it: what that queue's agents use, by name — its own
        responses and the tenant-wide ones it has none of the same name of; ``NotFound``
        for a queue that does not exist (rather than the tenant-wide ones for a typo)."""
        async with self._tx.read() as tx:
            if queue is None:
                return await tx.canned.list(tenant_id)
            if await tx.queues.get(tenant_id, queue) is None:
                raise NotFound(f"unknown queue {queue!r}")
            found = await tx.canned.list(tenant_id, [None, queue])
        effective = {r.name: r for r in found if r.queue is None}
        effective.update({r.name: r for r in found if r.queue is not None})
        return [effective[name] for name in sorted(effective)]

    async def find(
        self, tenant_id: TenantId, queue: QueueName | None, name: str
    ) -> CannedResponse | None:
        """The response called ``name`` for agents of ``queue``: the queue's own, else the
        tenant-wide one; None if neither exists."""
        async with self._tx.read() as tx:
            if queue is not None and (own := await tx.canned.get(tenant_id, queue, name)):
                return own
            return await tx.canned.get(tenant_id, None, name)

    async def remove(self, cmd: c.RemoveCannedResponse) -> None:
        """Remove exactly this one (a tenant-wide response is not removed by naming a
        queue, nor the other way round); ``NotFound`` if there is none."""
        async with self._tx() as tx:
            if not await tx.canned.remove(cmd.tenant_id, cmd.queue, cmd.name):
                where = "tenant-wide" if cmd.queue is None else f"of queue {cmd.queue!r}"
                raise NotFound(f"no canned response {cmd.name!r} {where}")
            await tx.commit()
        logger.info("canned response %s of queue %s removed", cmd.name, cmd.queue or "(all)")

    @staticmethod
    def render(text: str, *, visitor: str, agent: str, queue: str) -> str:
        """``text`` with ``{visitor}``, ``{agent}`` and ``{queue}`` replaced by these
        values; any other braces stay as they are. One pass: a value that itself contains
        a placeholder (a visitor called "{agent}") is not filled in again."""
        return _fill(text, list(zip(PLACEHOLDERS, (visitor, agent, queue), strict=True)))


def _fill(text: str, values: Sequence[tuple[str, str]]) -> str:
    # str.replace, one placeholder at a time, applied only to the parts of the original
    # text between the placeholders already filled: values are never searched.
    if not values:
        return text
    (placeholder, value), rest = values[0], values[1:]
    return value.join(_fill(part, rest) for part in text.split(placeholder))


async def _check_place(tx: Transaction, tenant_id: TenantId, queue: QueueName | None) -> None:
    if await tx.tenants.get(tenant_id) is None:
        raise NotFound(f"unknown tenant {tenant_id!r}")
    if queue is not None and await tx.queues.get(tenant_id, queue) is None:
        raise NotFound(f"unknown queue {queue!r}")
