"""Adding a queue, with its settings, as an administrator does through the REST API.

(Queues also come into being when an agent is configured for one that does not exist
yet; see ``business.agents``.) The settings are checked by the same rules as
``QueueSettingsService.configure``.
"""

from __future__ import annotations

import dataclasses
import logging

from business import commands as c
from business.errors import AlreadyExists, InvalidInput, NotFound
from business.model import Queue
from business.queue_settings import check_wrap_up_required, checked_changes
from business.transactions import Transactions
from business.validation import check_queue_name, check_storable

logger = logging.getLogger(__name__)

TITLE_MAX = 100


class QueueService:
    def __init__(self, *, transactions: Transactions) -> None:
        self._tx = transactions

    async def create(self, cmd: c.CreateQueue) -> Queue:
        """The new queue; ``AlreadyExists`` if the tenant has one of that name. Every
        value is checked before anything is written."""
        name = check_queue_name(cmd.queue)
        title = name.title() if cmd.title is None else _checked_title(cmd.title)
        changes = (
            {}
            if cmd.settings is None
            else checked_changes(
                dataclasses.replace(cmd.settings, tenant_id=cmd.tenant_id, queue=name)
            )
        )
        queue = dataclasses.replace(
            Queue(tenant_id=cmd.tenant_id, name=name, title=title),
            **changes,  # type: ignore[arg-type]
        )
        check_wrap_up_required(queue)
        async with self._tx() as tx:
            if await tx.tenants.get(cmd.tenant_id) is None:
                raise NotFound(f"unknown tenant {cmd.tenant_id!r}")
            if await tx.queues.get(cmd.tenant_id, name) is not None:
                raise AlreadyExists(f"queue {name!r} exists already")
            await tx.queues.add(queue)
            await tx.commit()
        logger.info("queue %s of tenant %s created", name, cmd.tenant_id)
        return queue


def _checked_title(title: str) -> str:
    title = check_storable(title.strip(), "queue title")
    if not title or len(title) > TITLE_MAX:
        raise InvalidInput(f"a queue title must be 1 to {TITLE_MAX} characters")
    return title
