"""What the repositories of one unit of work share, and the read-through cache helper.

Repositories flush and never commit: the unit of work owns the transaction. They take
and return business dataclasses only; no ORM row leaves this package.

Every read uses ``populate_existing`` so that a repeated read in one transaction returns
what the database holds now (for example after a ``FOR UPDATE`` lock was granted) and
not an older copy from the session's identity map.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

from sqlalchemy import Executable, Update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession

from business.conversation import Conversation
from business.errors import Conflict
from business.model import AgentId, ConversationId, TenantId
from data.cache import Caches
from data.cache_bus import NOTIFY, invalidation_payload
from data.errors import is_key_taken
from data.pg_lane import FastLane
from data.repositories.conversation_cursors import same_but_cursors, with_furthest_cursors
from data.repositories.one_statement import fusable, write_in_one
from data.repositories.write_batches import Batch, checked, checked_in_bulk
from data.sqlite_writer import READ_ONLY, QueuedWrite, SqliteWriter

# The order queued writes are flushed in (see ``SqlContext.queue``): a conversation
# exists before it changes, and before its events and members; a queue's waiting count
# last.
CONVERSATION_INSERTS, CONVERSATION_SAVES, EVENT_INSERTS, MEMBER_WRITES, QUEUE_COUNTS = range(5)
OUTBOX_INSERTS = QUEUE_COUNTS + 1
"""Webhook deliveries staged with the events (no key on anything written before)."""
OWNER_INSERTS = OUTBOX_INSERTS + 1
"""The delivery owner of a conversation started in the same unit of work (after it)."""


class Gate(Protocol):
    """One holder at a time (``data.uow.WriterGate``)."""

    async def acquire(self) -> None: ...

    def release(self) -> None: ...


class SqlContext:
    """What the repositories of one unit of work share: its connection (in a
    transaction), an ORM session on that connection for the repositories that still use
    the ORM, the database's caches, and what this unit of work wrote.

    The hot repositories (conversations, events) do not write at once: they queue their
    statements here, and ``flush`` sends each kind in one ``executemany`` (one trip to
    the database however many messages a unit of work stores). Any read flushes first,
    so a unit of work always reads its own writes.
    """

    def __init__(
        self,
        *,
        engine: AsyncEngine,
        caches: Caches,
        gate: Gate | None,
        writer: SqliteWriter | None = None,
        lane: FastLane | None = None,
    ) -> None:
        self.caches = caches
        self._writer = writer
        self._lane = lane
        self._gate = gate
        self._holds_gate = False
        self.dialect = engine.dialect.name
        self._engine = engine
        self.multi_rowcount = engine.dialect.supports_sane_multi_rowcount
        """Whether the driver counts the rows an executemany matched (asyncpg does not)."""
        self._open = False
        self.written_tenants: set[TenantId] = set()
        self.written_agents: set[AgentId] = set()
        self.written_webhook_tenants: set[TenantId] = set()
        """Tenants whose webhook subscriptions this unit of work changed."""
        self.written_redaction_tenants: set[TenantId] = set()
        """Tenants whose redaction settings this unit of work changed."""
        self.removed_addresses: set[str] = set()
        """Addresses of agents this unit of work removed (cached address -> id)."""
        self.written_conversations: dict[ConversationId, Conversation] = {}
        self.decided_on: dict[ConversationId, Conversation | None] = {}
        """For each conversation written, the copy its first change was decided on (None:
        a new one). After the commit the cache takes the written copy only if it still
        holds that one (cursors aside), so it never serves columns another unit of work
        changed meanwhile in an older version."""
        """What this unit of work wrote, as written: served to its own reads, and put in
        the conversation cache once committed."""
        self.changed_behind: set[ConversationId] = set()
        """Conversations a statement changed outside their aggregate (a member promoted
        to owner raises ``agent_delivered_pos`` in SQL): read from the database, not
        from what was written or cached, and dropped from the cache at commit."""
        self._pending: dict[Executable, Batch] = {}
        self.unflushed_saves: dict[ConversationId, tuple[Executable, dict[str, Any], Any]] = {}
        """A conversation's save still queued (statement, row, what it was decided on):
        a second save of it in the same flush replaces it (see the conversations)."""
        self._connection: AsyncConnection | None = None
        self._session: AsyncSession | None = None
        self.read_only = False
        """Set before the first statement: a snapshot read (on SQLite a deferred BEGIN,
        outside the writer slot); ``hold_writer`` and ``queue`` refuse."""

    @property
    def snapshot_taken(self) -> bool:
        """A read-only unit of work on SQLite that has read already: its snapshot (a
        deferred BEGIN) may be older than what was committed and invalidated since, so
        what it reads now must neither fill a cache nor be shared
        (``data.repositories.reads``). PostgreSQL reads each statement afresh."""
        return self.read_only and self._connection is not None and self.dialect == "sqlite"

    @property
    def holds_nothing(self) -> bool:
        """Neither a connection nor the writer slot yet: whoever this waits on cannot be
        waiting for something it holds."""
        return self._connection is None and not self._holds_gate

    @property
    def connects_freely(self) -> bool:
        """Holds nothing yet, and its connection takes nothing else (not SQLite's writer
        slot): readers that hold nothing may wait on its read before it connects."""
        if not self.holds_nothing:
            return False
        return self._gate is None or (self.read_only and self._writer is not None)

    # -- the connection ---------------------------------------------------------------

    async def connection(self) -> AsyncConnection:
        """The unit of work's connection, taken from the pool on first use (a unit of
        work that never touches the database never waits for one)."""
        if not self._open:
            # Outside ``async with`` no transaction (and on SQLite no writer slot) is held.
            raise RuntimeError("a unit of work is only usable inside 'async with'")
        if self._connection is None:
            if self.read_only:
                if self._gate is not None and self._writer is None:
                    # In-memory SQLite: every connection is the same one, and a read
                    # beside a writer's open transaction would end it. Take turns.
                    await self._gate.acquire()
                    self._holds_gate = True
                connection = await self._engine.connect()
                self._connection = await connection.execution_options(**{READ_ONLY: True})
            else:
                await self.hold_writer()
                self._connection = await self._engine.connect()
        return self._connection

    async def hold_writer(self) -> None:
        """Take the writer slot (SQLite) if not held yet: a read that a change will be
        decided on takes it even when the cache answers, so writers of one conversation
        go one after the other instead of failing each other's compare-and-set."""
        if self.read_only:
            raise RuntimeError("a read-only unit of work cannot lock or write")
        if self._gate is not None and not self._holds_gate:
            await self._gate.acquire()
            self._holds_gate = True

    def release_gate(self) -> None:
        """Open the writer slot if this unit of work took it (after it closed)."""
        if self._holds_gate:
            assert self._gate is not None
            self._holds_gate = False
            self._gate.release()

    def open(self) -> None:
        self._open = True
        self._pending.clear()
        self.unflushed_saves.clear()
        self.forget_writes()

    async def end_transaction(self, *, commit: bool) -> None:
        """Commit (after flushing) or roll back; the block may go on in a new one."""
        session, self._session = self._session, None
        try:
            if commit and self._writer is not None and self._connection is None:
                # Nothing was read from the database: the writes go in one hop.
                await self._write_at_once()
            elif commit and self._connection is None and self._fusable():
                await self._write_in_one()
            elif commit:
                await self.flush()  # may be the first use of the connection
                if session is not None:
                    await session.flush()
                await self._announce()
            connection = self._connection
            if connection is not None and connection.in_transaction():
                await (connection.commit() if commit else connection.rollback())
        finally:
            self._pending.clear()
            self.unflushed_saves.clear()
            if session is not None:
                await session.close()

    async def _announce(self) -> None:
        """PostgreSQL: name the cached rows written to the other processes, in this
        transaction, so that they hear of it at COMMIT (``data.cache_bus``)."""
        if self.dialect != "postgresql" or self._connection is None:
            return
        payload = invalidation_payload(
            self.caches,
            tenants=self.written_tenants,
            agents=self.written_agents,
            addresses=self.removed_addresses,
            webhook_tenants=self.written_webhook_tenants,
            redaction_tenants=self.written_redaction_tenants,
        )
        if payload is not None:
            await self._connection.execute(NOTIFY, {"payload": payload})

    @property
    def untouched(self) -> bool:
        """Whether no connection was taken (everything came from the caches, or went to
        the writer thread): closing is then ``close_untouched``, without awaiting."""
        return self._connection is None and self._session is None

    def close_untouched(self) -> None:
        """``close`` for an untouched unit of work: drop what was never written."""
        self._open = False
        self._pending.clear()
        self.unflushed_saves.clear()
        self.forget_writes()

    async def close(self) -> None:
        """Drop the session, what was never flushed and the connection (the pool rolls
        back what was not committed)."""
        self._open = False
        try:
            await self.end_transaction(commit=False)
        finally:
            connection, self._connection = self._connection, None
            self.forget_writes()
            if connection is not None:
                await connection.close()

    async def execute(self, stmt: Executable, params: Mapping[str, Any] | None = None) -> Any:
        """Run one statement now, after flushing what is queued."""
        await self.flush()
        return await (await self.connection()).execute(stmt, params)

    async def orm(self) -> AsyncSession:
        """The ORM session of this unit of work, on its connection (queued writes
        flushed first, so the ORM sees them)."""
        await self.flush()
        if self._session is None:
            connection = await self.connection()
            if not connection.in_transaction():
                await connection.begin()
            # It joins the connection's transaction; the unit of work commits that.
            self._session = AsyncSession(bind=connection, expire_on_commit=False)
        return self._session

    # -- queued writes ----------------------------------------------------------------

    def queue(
        self,
        stmt: Executable,
        params: Mapping[str, Any],
        *,
        order: int,
        check: bool = False,
        taken_is_conflict: bool = False,
        bulk: Executable | None = None,
    ) -> dict[str, Any]:
        """Queue ``stmt`` with ``params``; statements go out by ``order`` (the order of
        first use among equals), each kind in one trip. ``check``: every row must match
        (a compare-and-set), or the flush raises ``Conflict``. ``taken_is_conflict``: a
        unique key violation is ``Conflict`` too (otherwise the database's error).
        ``bulk``: for a ``check`` where the driver cannot count the rows an executemany
        matched (asyncpg), one statement that takes each parameter as an array of the
        rows' values and returns a row per row it changed; without it, one trip per
        row."""
        if self.read_only:
            raise RuntimeError("a read-only unit of work cannot write")
        batch = self._pending.get(stmt)
        if batch is None:
            batch = self._pending[stmt] = Batch(
                order=order, check=check, taken_is_conflict=taken_is_conflict, bulk=bulk
            )
        row = dict(params)
        batch.rows.append(row)
        return row

    def unqueue(self, stmt: Executable, row: dict[str, Any]) -> None:
        """Take back a row ``queue`` returned, not flushed yet."""
        batch = self._pending[stmt]
        for index, queued in enumerate(batch.rows):
            if queued is row:
                del batch.rows[index]
                break
        if not batch.rows:
            del self._pending[stmt]

    async def flush(self) -> None:
        """Send the queued writes. ``Conflict`` when a compare-and-set matched fewer rows
        than it was given or a unique key was taken (the caller rolls back)."""
        if not self._pending:
            return
        batches = self._take_pending()
        connection = await self.connection()
        try:
            for stmt, batch in batches:
                try:
                    if batch.check and batch.bulk is not None and len(batch.rows) > 1:
                        await checked_in_bulk(connection, batch.bulk, batch.rows)
                    elif batch.check and not (self.multi_rowcount or len(batch.rows) == 1):
                        # Without a trustworthy total over executemany, one by one.
                        for row in batch.rows:
                            await checked(connection, stmt, [row])
                    elif batch.check:
                        await checked(connection, stmt, batch.rows)
                    else:
                        await connection.execute(stmt, batch.rows)
                except IntegrityError as error:
                    if batch.taken_is_conflict and is_key_taken(error):
                        raise Conflict("a unique key was taken meanwhile") from error
                    raise
        except Conflict:
            self._forget_written_conversations()
            raise

    async def _write_at_once(self) -> None:
        if not self._pending:
            return
        assert self._writer is not None
        batches = self._take_pending()
        await self.hold_writer()
        try:
            await self._writer.write(
                [
                    QueuedWrite(stmt, batch.rows, batch.check, batch.taken_is_conflict)
                    for stmt, batch in batches
                ]
            )
        except Conflict:
            self._forget_written_conversations()
            raise

    def _fusable(self) -> bool:
        return (
            self.dialect == "postgresql"
            and self._session is None
            and fusable(self._sorted_pending(), CONVERSATION_SAVES, EVENT_INSERTS)
        )

    async def _write_in_one(self) -> None:
        """A lone message on PostgreSQL (``one_statement``): its own transaction, in one
        trip, on the fast lane or on a connection outside a transaction block."""
        (save, saved), (_, inserted) = self._take_pending()
        assert isinstance(save, Update)

        async def autocommit() -> AsyncConnection:
            connection = await self._engine.connect()
            self._connection = await connection.execution_options(isolation_level="AUTOCOMMIT")
            return self._connection

        try:
            await write_in_one(autocommit, save, saved.rows[0], inserted.rows[0], self._lane)
        except Conflict:
            self._forget_written_conversations()
            raise

    def is_queued(self, stmt: Executable) -> bool:
        """Whether rows of ``stmt`` wait for the next flush."""
        return stmt in self._pending

    def _sorted_pending(self) -> list[tuple[Executable, Batch]]:
        return sorted(self._pending.items(), key=lambda item: item[1].order)

    def _take_pending(self) -> list[tuple[Executable, Batch]]:
        batches = self._sorted_pending()
        self._pending = {}
        self.unflushed_saves = {}
        return batches

    def _forget_written_conversations(self) -> None:
        # Which row moved on is not known: forget every conversation written here.
        self.caches.conversations.invalidate(self.written_conversations)

    # -- caches -----------------------------------------------------------------------

    def publish_writes(self, *, committed: bool) -> None:
        """After a commit: what this unit of work wrote becomes what the caches hold
        (conversations, which are written only through here) or is dropped from them
        (tenants, agents, which other code paths also write). After a failed commit the
        outcome is unknown, and everything written is dropped."""
        if self.written_tenants:
            self.caches.tenants.invalidate(self.written_tenants)
        if self.written_agents:
            self.caches.agents.invalidate(self.written_agents)
        if self.written_webhook_tenants:
            self.caches.webhooks.invalidate(self.written_webhook_tenants)
        if self.written_redaction_tenants:
            self.caches.redaction.invalidate(self.written_redaction_tenants)
        conversations = self.caches.conversations
        if committed:
            for written in self.written_conversations.values():
                base = self.decided_on.get(written.id)
                cached = conversations.get(written.id)
                if base is None:  # new: nobody else can have changed it
                    conversations.put_committed(written.id, written)
                elif cached is not None and same_but_cursors(cached, base):
                    furthest = with_furthest_cursors(
                        written, cached, new_owner=written.agent_id != base.agent_id
                    )
                    conversations.put_committed(written.id, furthest)
                else:
                    # Someone else committed a change to it since this unit of work read
                    # it (on PostgreSQL units of work commit side by side): the columns
                    # this one did not write may be newer there. Read it again next time.
                    conversations.invalidate([written.id])
        elif self.written_conversations:
            conversations.invalidate(self.written_conversations)
        if self.changed_behind:
            conversations.invalidate(self.changed_behind)
        self.forget_writes()

    def forget_writes(self) -> None:
        # Without a commit nothing written reached the database, and nothing written
        # was put in a cache, so the cached values are still the committed ones.
        self.written_tenants = set()
        self.written_agents = set()
        self.written_webhook_tenants = set()
        self.written_redaction_tenants = set()
        self.removed_addresses = set()
        self.written_conversations = {}
        self.decided_on = {}
        self.changed_behind = set()
