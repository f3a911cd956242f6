"""Inactivity (``business.inactivity_rules``): the message path sets each chat's next
deadline; ``InactivityService`` runs the ones due; ``InactivityClock`` wakes it at the
next deadline and at start-up, so deadlines passed while the engine was down run then.

Every rule runs in its own unit of work on the conversation read ``for_update`` and
checked again (still due, still the same deadline): when two processes find the same
deadline due, the row lock (PostgreSQL) or the compared save (SQLite) lets one act and
the other find nothing to do, so a chat is never closed or re-routed twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta

from business.background import Background
from business.conversation import Change, Conversation
from business.ending import dispatch_freed
from business.errors import Conflict, DomainError
from business.events import DomainEvent
from business.inactivity_rules import (
    OFF,
    IdlePolicy,
    IdleStep,
    alert_visitor,
    applies,
    clear,
    close_for_inactivity,
    end_visit,
    remind_agent,
    reroute,
)
from business.inactivity_texts import alert_text, closed_text
from business.languages import agent_language
from business.model import EventId, Queue, QueueName, TenantId, new_id
from business.ports import Clock
from business.routing import Router
from business.transactions import Transaction, Transactions

logger = logging.getLogger(__name__)

POLICY_TTL = timedelta(seconds=10)
"""How long a queue's settings are reused on the message path: a changed setting
applies to new deadlines within this time (and at once in the process that changed it
after ``forget``)."""
_DUE_PER_ROUND = 100
_RETRY = 1.0
_LONGEST_SLEEP = 30.0
"""The clock looks again at least this often (deadlines set by another process)."""


class IdlePolicies:
    """Queues' inactivity settings for the message path, read once per ``POLICY_TTL``:
    a batch of messages reads at most the queues it has not seen lately."""

    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self._known: dict[tuple[TenantId, QueueName], tuple[IdlePolicy, datetime]] = {}

    async def for_queues(
        self, tx: Transaction, keys: Iterable[tuple[TenantId, QueueName]]
    ) -> dict[tuple[TenantId, QueueName], IdlePolicy]:
        now = self._clock.now()
        found: dict[tuple[TenantId, QueueName], IdlePolicy] = {}
        for key in keys:
            known = self._known.get(key)
            if known is None or known[1] <= now:
                queue = await tx.queues.get(*key)
                policy = OFF if queue is None else IdlePolicy.of(queue)
                if len(self._known) > 10_000:
                    self._known.clear()
                self._known[key] = (policy, now + POLICY_TTL)
                known = self._known[key]
            found[key] = known[0]
        return found

    def forget(self, tenant_id: TenantId, queue: QueueName) -> None:
        self._known.pop((tenant_id, queue), None)


class InactivityService:
    def __init__(self, *, transactions: Transactions, router: Router, clock: Clock) -> None:
        self._tx = transactions
        self._router = router
        self._clock = clock

    async def next_due(self) -> datetime | None:
        async with self._tx.read() as tx:
            due = await tx.conversations.list_idle_due(None, 1)
        return due[0].idle_due_at if due else None

    async def run_due(self) -> int:
        """Run the rules due now; returns how many acted."""
        now = self._clock.now()
        async with self._tx.read() as tx:
            due = await tx.conversations.list_idle_due(now, _DUE_PER_ROUND)
        acted = 0
        for seen in due:
            try:
                if await self._run(seen):
                    acted += 1
            except (Conflict, DomainError) as exc:
                # Changed meanwhile (a message, another process): its new state decides.
                logger.info("inactivity of conversation %s not run: %s", seen.id, exc)
        return acted

    async def _run(self, seen: Conversation) -> bool:
        async with self._router.tenant_lock(seen.tenant_id), self._tx() as tx:
            await tx.locks.tenant(seen.tenant_id)
            conv = await tx.conversations.get(seen.id, for_update=True)
            now = self._clock.now()
            if conv is None or conv.idle_due_at != seen.idle_due_at:
                return False
            step = applies(conv, now)
            if step is None:
                if conv.idle_due_at is not None and conv.idle_due_at <= now:
                    await tx.apply(clear(conv))
                    await tx.commit()
                return False
            queue = await tx.queues.get(conv.tenant_id, conv.queue)
            policy = OFF if queue is None else IdlePolicy.of(queue)
            change = await self._change(tx, conv, step, policy, queue, now)
            await tx.apply(change)
            if step is IdleStep.VISITOR_CLOSE and conv.agent_id is not None:
                await tx.visitors.set_last_agent(conv.visitor_id, conv.agent_id, now)
            await tx.commit()
        logger.info("conversation %s: inactivity %s", conv.id, step.value)
        if step in (IdleStep.VISITOR_CLOSE, IdleStep.AGENT_REROUTE, IdleStep.VISIT_END):
            await dispatch_freed(self._tx, self._router, conv)
        return True

    async def _change(
        self,
        tx: Transaction,
        conv: Conversation,
        step: IdleStep,
        policy: IdlePolicy,
        queue: Queue | None,
        now: datetime,
    ) -> Change:
        match step:
            case IdleStep.VISITOR_ALERT:
                own = None if queue is None else queue.visitor_idle_alert_text
                text = own or alert_text(await _language(tx, conv.tenant_id))
                return alert_visitor(conv, id=EventId(new_id()), text=text, now=now, policy=policy)
            case IdleStep.VISITOR_CLOSE:
                own = None if queue is None else queue.visitor_idle_close_text
                text = own or closed_text(await _language(tx, conv.tenant_id))
                return close_for_inactivity(conv, id=EventId(new_id()), text=text, now=now)
            case IdleStep.AGENT_REMINDER:
                return remind_agent(conv, now=now, policy=policy)
            case IdleStep.AGENT_REROUTE:
                head = await tx.conversations.list_queued(conv.tenant_id, conv.queue, limit=1000)
                ahead = sum(1 for q in head if (q.created_at, q.id) < (conv.created_at, conv.id))
                waited = 2 * policy.agent_reminder
                return reroute(conv, now=now, position=ahead + 1, waited=waited)
            case IdleStep.VISIT_END:
                return end_visit(conv, now=now, policy=policy)


async def _language(tx: Transaction, tenant_id: TenantId) -> str:
    config = await tx.widget_configs.get(tenant_id)
    return "en" if config is None else agent_language(config.document)


class InactivityClock(Background):
    """Runs the inactivity rules in the background: at start-up (what fell due while
    the engine was down), then at the next stored deadline, looking again at least every
    ``longest`` seconds for deadlines other processes set; ``wake`` makes it look at
    once (a message set an earlier deadline)."""

    def __init__(
        self, service: InactivityService, *, clock: Clock, longest: float = _LONGEST_SLEEP
    ) -> None:
        super().__init__("inactivity-clock")
        self._service = service
        self._clock = clock
        self._longest = longest
        self._woken = asyncio.Event()
        self._next: datetime | None = None

    def wake(self, due: datetime) -> None:
        """A deadline at ``due`` was just stored: look then if that is sooner."""
        if self._next is None or due < self._next:
            self._woken.set()

    async def notify(self, conversation: Conversation, events: Sequence[DomainEvent]) -> None:
        """As a subscriber of the publisher: every committed change that leaves a
        deadline (a message, a chat taken, a rule run) may move the next one closer."""
        if conversation.idle_due_at is not None:
            self.wake(conversation.idle_due_at)

    async def _run(self) -> None:
        while True:
            # Cleared before reading, so a deadline stored meanwhile wakes the next wait;
            # and no next deadline known while reading, so that ``wake`` does not compare
            # a deadline stored meanwhile with the last round's (which may be gone by
            # now) and keep quiet: the read may miss it, and the clock would sleep on.
            self._woken.clear()
            self._next = None
            try:
                while await self._service.run_due() >= _DUE_PER_ROUND:
                    pass
                self._next = await self._service.next_due()
            except Exception:
                logger.exception("could not run the inactivity rules; trying again")
                self._next = None
            wait = self._longest
            if self._next is not None:
                until = (self._next - self._clock.now()).total_seconds()
                # Still due after a round: it failed (logged); try again in a second.
                wait = min(wait, until if until > 0 else _RETRY)
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(wait):
                    await self._woken.wait()
