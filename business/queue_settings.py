"""Queue settings: what an administrator configures per queue (the CLI's ``queue set``).

Routing, offers and the end of a chat read these from the queue; nothing here routes: a
running engine applies new settings at its next dispatch of the queue.
"""

from __future__ import annotations

import dataclasses
import logging

from business import commands as c
from business.errors import InvalidInput, NotFound
from business.inactivity_settings import check_idle_rules, idle_changes
from business.model import Queue, QueueName, TenantId
from business.reawaken_rules import check_reawaken_window
from business.threads import check_queue_mode
from business.transactions import Transactions
from business.validation import (
    check_last_agent_window,
    check_offer_timeout,
    check_queue_name,
    check_skills,
    check_wrap_up_codes,
)

logger = logging.getLogger(__name__)

MAX_WAITING = 1_000_000
"""The largest maximum of waiting conversations a queue may have (a bound, so that no
value can overflow a database integer)."""


class QueueSettingsService:
    def __init__(self, *, transactions: Transactions) -> None:
        self._tx = transactions

    async def configure(self, cmd: c.ConfigureQueue) -> Queue:
        """Change the settings ``cmd`` names and keep the others; returns the queue.

        Every value is checked before anything is read or written. ``require_wrap_up`` is
        checked against the codes the queue ends up with (given now or kept), so a queue
        can never require a code while offering none. ``waiting`` is never written here:
        it stays what the transactions that move conversations make it.
        """
        name = check_queue_name(cmd.queue)
        changes = checked_changes(cmd)
        async with self._tx() as tx:
            found = await tx.queues.get(cmd.tenant_id, name, for_update=True)
            if found is None:
                raise NotFound(f"unknown queue {name!r}")
            queue = dataclasses.replace(found, **changes)  # type: ignore[arg-type]
            check_wrap_up_required(queue)
            check_idle_rules(
                visitor_idle_alert=queue.visitor_idle_alert,
                visitor_idle_close=queue.visitor_idle_close,
                agent_reply_reminder=queue.agent_reply_reminder,
                agent_reply_reroute=queue.agent_reply_reroute,
            )
            if queue != found:
                await tx.queues.save_settings(queue)
                await tx.commit()
                logger.info("queue %s of tenant %s configured", name, cmd.tenant_id)
        return queue

    async def get(self, tenant_id: TenantId, queue: QueueName) -> Queue | None:
        async with self._tx.read() as tx:
            return await tx.queues.get(tenant_id, queue)


def checked_changes(cmd: c.ConfigureQueue) -> dict[str, object]:
    """The ``Queue`` fields ``cmd`` changes, each value checked; ``InvalidInput`` names
    the first bad one."""
    changes: dict[str, object] = {}
    if cmd.default_max_waiting:
        if cmd.max_waiting is not None:
            raise InvalidInput("give either a maximum of waiting conversations or the default")
        changes["max_waiting"] = None
    elif cmd.max_waiting is not None:
        if not 1 <= cmd.max_waiting <= MAX_WAITING:
            raise InvalidInput(
                "a queue's maximum of waiting conversations must be at least 1 and at most "
                f"{MAX_WAITING}"
            )
        changes["max_waiting"] = cmd.max_waiting
    if cmd.offer_timeout is not None:
        changes["offer_timeout"] = check_offer_timeout(cmd.offer_timeout)
    if cmd.wrap_up_codes is not None:
        changes["wrap_up_codes"] = check_wrap_up_codes(cmd.wrap_up_codes)
    if cmd.require_wrap_up is not None:
        changes["require_wrap_up"] = cmd.require_wrap_up
    if cmd.skills is not None:
        changes["skills"] = check_skills(cmd.skills)
    if cmd.last_agent_window is not None:
        changes["last_agent_window"] = check_last_agent_window(cmd.last_agent_window)
    if cmd.remove_bot:
        if cmd.bot is not None:
            raise InvalidInput("give either a bot or no bot, not both")
        changes["bot"] = None
    elif cmd.bot is not None:
        changes["bot"] = cmd.bot
    if cmd.always_open:
        if cmd.opening_hours is not None:
            raise InvalidInput("give either opening hours or always open, not both")
        changes["opening_hours"] = None
    elif cmd.opening_hours is not None:
        changes["opening_hours"] = cmd.opening_hours
    if cmd.mode is not None:
        changes["mode"] = check_queue_mode(cmd.mode)
    if cmd.reawaken_window is not None:
        changes["reawaken_window"] = check_reawaken_window(cmd.reawaken_window)
    changes.update(idle_changes(cmd))
    return changes


def check_wrap_up_required(queue: Queue) -> None:
    if queue.require_wrap_up and not queue.wrap_up_codes:
        raise InvalidInput(
            f"queue {queue.name!r} cannot require a wrap-up code without any wrap-up codes"
        )
