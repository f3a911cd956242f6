"""A unit of work over ``FakeStore`` that interleaves like a real database.

``FakeUnitOfWork`` never yields to the event loop and commits by replacing the whole
store, so two use cases can never run at once with it. This one behaves like PostgreSQL
under READ COMMITTED for what the business layer relies on:

- every repository call yields, so concurrent use cases interleave between awaits;
- ``for_update`` reads take a row lock held until commit or rollback, and read the newest
  committed row once they hold it;
- commit writes only the rows this unit of work wrote (last writer wins per row, even when
  it wrote the values it read) and checks the unique keys against what others committed
  meanwhile; agents and queues are written field by field, as their targeted UPDATEs
  are, and a queue's waiting count by the difference this unit of work made.

It also refuses a unit of work opened inside another in the same task, which would
deadlock on SQLite, where every transaction begins IMMEDIATE.

Everything else reads the snapshot taken when the unit of work began, which is staler
than READ COMMITTED and so finds more lost updates, not fewer.
"""

from __future__ import annotations

import asyncio
import copy
import dataclasses
import functools
import inspect
from collections.abc import Callable, Coroutine, Sequence
from types import TracebackType
from typing import Any, Self

from business.conversation import Conversation
from business.model import ConversationId, ConversationState, QueueName, TenantId
from tests.fakes import FakeStore, FakeUnitOfWork, _Conversations
from tests.fakes_directory import DuplicateKey

_ROW_TABLES = ("tenants", "queues", "visitors", "conversations", "agents", "adapter_state")
_UPSERT_TABLES = frozenset({"adapter_state"})
_FIELD_TABLES = frozenset({"agents", "queues"})
"""Written with UPDATEs that name their columns: only the fields a unit of work changed
reach the committed row, and a queue's ``waiting`` by the difference it made."""


class LockingDatabase:
    """Committed state plus the row locks shared by every unit of work on it."""

    def __init__(self, store: FakeStore | None = None) -> None:
        self.store = store or FakeStore()
        self.row_locks: dict[ConversationId, asyncio.Lock] = {}
        self.open_in: set[asyncio.Task[Any]] = set()

    def uow(self) -> LockingUnitOfWork:
        return LockingUnitOfWork(self)


class LockingUnitOfWork(FakeUnitOfWork):
    def __init__(self, db: LockingDatabase) -> None:
        self._db = db
        self._held: dict[ConversationId, asyncio.Lock] = {}
        super().__init__(db.store)

    def _begin(self) -> None:
        super()._begin()
        # The same (frozen) row objects as the work copy: a row this unit of work saved is
        # then a different object, even when it saved equal values, as an UPDATE still is.
        self._base = copy.copy(self._work)
        for table in _ROW_TABLES:
            setattr(self._base, table, dict(getattr(self._work, table)))
        self._base.events = {k: list(v) for k, v in self._work.events.items()}
        self.conversations = _LockingConversations(self._work, self)
        for repo in (
            self.tenants,
            self.queues,
            self.visitors,
            self.conversations,
            self.events,
            self.agents,
        ):
            _yield_before_every_call(repo)

    async def lock_row(self, conversation_id: ConversationId) -> None:
        if conversation_id in self._held:
            return
        lock = self._db.row_locks.setdefault(conversation_id, asyncio.Lock())
        await lock.acquire()
        self._held[conversation_id] = lock
        committed = self._committed.conversations.get(conversation_id)
        if committed is None:
            return
        for state in (self._work, self._base):
            state.conversations[conversation_id] = committed
            state.events[conversation_id] = list(self._committed.events.get(conversation_id, []))

    def committed_queued(self, tenant_id: TenantId, queue: QueueName) -> list[Conversation]:
        found = [
            c
            for c in self._committed.conversations.values()
            if c.tenant_id == tenant_id and c.queue == queue and c.state is ConversationState.QUEUED
        ]
        return sorted(found, key=lambda c: (c.created_at, c.id))

    def _release(self) -> None:
        for lock in self._held.values():
            lock.release()
        self._held.clear()

    async def __aenter__(self) -> Self:
        # SQLite transactions begin IMMEDIATE (data.uow): a task that opened a second unit
        # of work inside its first would wait on itself until the busy timeout.
        task = asyncio.current_task()
        assert task is not None
        assert task not in self._db.open_in, "a unit of work opened inside another"
        self._db.open_in.add(task)
        self._task = task
        return await super().__aenter__()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._db.open_in.discard(self._task)
        self._release()
        await super().__aexit__(exc_type, exc, tb)

    async def commit(self) -> None:
        await asyncio.sleep(0)
        committed, work, base = self._committed, self._work, self._base
        rows: list[tuple[dict[Any, Any], Any, Any]] = []
        for table in _ROW_TABLES:
            done: dict[Any, Any] = getattr(committed, table)
            mine: dict[Any, Any] = getattr(work, table)
            before: dict[Any, Any] = getattr(base, table)
            for key, value in mine.items():
                if key not in before:
                    if key in done and table not in _UPSERT_TABLES:
                        raise DuplicateKey(f"{table} {key}")
                    rows.append((done, key, value))
                elif value is not before[key]:
                    if table in _FIELD_TABLES and key in done:
                        value = _merge_fields(done[key], before[key], value)
                    rows.append((done, key, value))
        new_events = []
        for conversation_id, events in work.events.items():
            seen = {e.pos for e in base.events.get(conversation_id, [])}
            stored = committed.events.get(conversation_id, [])
            for event in events:
                if event.pos in seen:
                    continue
                if any(e.pos == event.pos for e in stored):
                    raise DuplicateKey(f"pos {event.pos} of {conversation_id}")
                client_msg_id = getattr(event, "client_msg_id", None)
                if client_msg_id is not None and any(
                    getattr(e, "client_msg_id", None) == client_msg_id for e in stored
                ):
                    raise DuplicateKey(f"client_msg_id {client_msg_id} of {conversation_id}")
                new_events.append(event)
        for table_rows, key, value in rows:
            table_rows[key] = value
        for event in new_events:
            stored = committed.events.setdefault(event.conversation_id, [])
            stored.append(event)
            stored.sort(key=lambda e: e.pos)
        committed.commits += 1
        self._release()
        self._begin()


class _LockingConversations(_Conversations):
    def __init__(self, store: FakeStore, uow: LockingUnitOfWork) -> None:
        super().__init__(store)
        self._uow = uow

    async def get(
        self, conversation_id: ConversationId, *, for_update: bool = False, fresh: bool = False
    ) -> Conversation | None:
        if for_update:
            await self._uow.lock_row(conversation_id)
        return await super().get(conversation_id)

    async def list_queued(
        self, tenant_id: TenantId, queue: QueueName, *, limit: int, for_update: bool = False
    ) -> Sequence[Conversation]:
        if not for_update:
            return await super().list_queued(tenant_id, queue, limit=limit)
        # Like SELECT ... LIMIT n FOR UPDATE under READ COMMITTED: lock the rows that match
        # now, then return each as it is once locked, if it still matches (a conversation
        # assigned or ended meanwhile drops out, so fewer than n may come back).
        locked = set()
        for conversation in self._uow.committed_queued(tenant_id, queue)[:limit]:
            await self._uow.lock_row(conversation.id)
            locked.add(conversation.id)
        candidates = await super().list_queued(tenant_id, queue, limit=len(self._s.conversations))
        return [c for c in candidates if c.id in locked]


def _merge_fields(committed: Any, before: Any, mine: Any) -> Any:
    """``committed`` with the fields ``mine`` changed from ``before`` applied on top."""
    changes: dict[str, Any] = {}
    for f in dataclasses.fields(mine):
        old, new = getattr(before, f.name), getattr(mine, f.name)
        if new == old:
            continue
        if f.name == "waiting":
            new = committed.waiting + (new - old)
        changes[f.name] = new
    return dataclasses.replace(committed, **changes)


def _yield_before_every_call(repo: object) -> None:
    for name in dir(type(repo)):
        if name.startswith("_"):
            continue
        method = getattr(repo, name)
        if inspect.iscoroutinefunction(method):
            setattr(repo, name, _yielding(method))


def _yielding(
    method: Callable[..., Coroutine[Any, Any, object]],
) -> Callable[..., Coroutine[Any, Any, object]]:
    @functools.wraps(method)
    async def call(*args: object, **kwargs: object) -> object:
        await asyncio.sleep(0)
        return await method(*args, **kwargs)

    return call
