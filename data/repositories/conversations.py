"""Conversations and their stored events (the conversation aggregate)."""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy import (
    Select,
    Table,
    Update,
    bindparam,
    case,
    column,
    func,
    insert,
    select,
    tuple_,
    update,
)
from sqlalchemy.dialects.postgresql import ARRAY

from business.conversation import Conversation
from business.events import ConversationEvent, MessagePosted
from business.model import (
    AgentId,
    ConversationId,
    ConversationState,
    QueueName,
    TenantId,
    VisitorContext,
    VisitorId,
)
from data.codecs import decode_event, encode_event
from data.models import ConversationRow, EventRow
from data.repositories.base import SqlContext


def _context_to_json(context: VisitorContext) -> dict[str, Any]:
    return {
        "page_url": context.page_url,
        "page_title": context.page_title,
        "referrer": context.referrer,
        "custom": dict(context.custom),
    }


def _context_from_json(data: Mapping[str, Any]) -> VisitorContext:
    return VisitorContext(
        page_url=data.get("page_url"),
        page_title=data.get("page_title"),
        referrer=data.get("referrer"),
        custom=dict(data.get("custom") or {}),
    )


class _ConversationColumns(Protocol):
    """A conversations row as Core returns it."""

    id: str
    tenant_id: str
    visitor_id: str
    visitor_name: str
    queue: str
    state: str
    created_at: datetime
    context: Mapping[str, Any]
    form: Mapping[str, Any]
    agent_id: str | None
    agent_name: str | None
    last_seq: int
    visitor_read_seq: int
    agent_delivered_seq: int
    queue_position: int | None
    assigned_at: datetime | None
    ended_at: datetime | None


def _conversation(row: _ConversationColumns) -> Conversation:
    return Conversation(
        id=ConversationId(row.id),
        tenant_id=TenantId(row.tenant_id),
        visitor_id=VisitorId(row.visitor_id),
        visitor_name=row.visitor_name,
        queue=QueueName(row.queue),
        state=ConversationState(row.state),
        created_at=row.created_at,
        context=_context_from_json(row.context),
        form=dict(row.form),
        agent_id=None if row.agent_id is None else AgentId(row.agent_id),
        agent_name=row.agent_name,
        last_seq=row.last_seq,
        visitor_read_seq=row.visitor_read_seq,
        agent_delivered_seq=row.agent_delivered_seq,
        queue_position=row.queue_position,
        assigned_at=row.assigned_at,
        ended_at=row.ended_at,
    )


def _column_value(conv: Conversation, name: str) -> Any:
    """One of ``_mutable_columns``, alone."""
    match name:
        case "state":
            return conv.state.value
        case "context":
            return _context_to_json(conv.context)
        case "form":
            return dict(conv.form)
        case _:
            return getattr(conv, name)


def _mutable_columns(conv: Conversation) -> dict[str, Any]:
    return {
        "visitor_name": conv.visitor_name,
        "state": conv.state.value,
        "context": _context_to_json(conv.context),
        "form": dict(conv.form),
        "agent_id": conv.agent_id,
        "agent_name": conv.agent_name,
        "last_seq": conv.last_seq,
        "visitor_read_seq": conv.visitor_read_seq,
        "agent_delivered_seq": conv.agent_delivered_seq,
        "queue_position": conv.queue_position,
        "assigned_at": conv.assigned_at,
        "ended_at": conv.ended_at,
    }


_T: Table = ConversationRow.__table__  # type: ignore[assignment]
_NEWEST_FIRST = (_T.c.created_at.desc(), _T.c.id.desc())
_MUTABLE = (
    "visitor_name",
    "state",
    "context",
    "form",
    "agent_id",
    "agent_name",
    "last_seq",
    "visitor_read_seq",
    "agent_delivered_seq",
    "queue_position",
    "assigned_at",
    "ended_at",
)

# Built once: executing a prepared statement object skips building and hashing a new
# one for the compiled-statement cache on every message.
_GET = select(_T).where(_T.c.id == bindparam("id"))
_GET_LOCKED = _GET.with_for_update()
_GET_MANY = select(_T).where(_T.c.id.in_(bindparam("ids", expanding=True))).order_by(_T.c.id)
# In id order, so two writers locking several conversations never wait for each other.
_GET_MANY_LOCKED = _GET_MANY.with_for_update()
_INSERT = insert(_T)
_UNCOMPARED = frozenset({"context", "form"})
"""Columns a save does not compare with what it read (JSON has no equality in
PostgreSQL); they change only under a lock read (``for_update``, not optimistic)."""


_CURSORS = frozenset({"visitor_read_seq", "agent_delivered_seq"})
"""Columns that only move forward: written as the greater of stored and new, never
compared, so a cursor moved by one writer is never taken back by another."""


def _checks_version(columns: tuple[str, ...]) -> bool:
    """Whether a save of these columns compares ``last_seq`` and state: a change decided
    on the conversation's events does; one moving only cursors needs not (it can lose
    nothing and clamps to a ``last_seq`` that only grows)."""
    return not _CURSORS.issuperset(columns)


def _written(column_: Any, new: Any) -> Any:
    if column_.name in _CURSORS:
        return case((column_ > new, column_), else_=new)
    return new


@functools.cache
def _save(columns: tuple[str, ...]) -> Update:
    """The UPDATE of these columns, if the row still has the ``last_seq`` and state the
    change was decided on and, for each column written, the value it was read with.
    Built once per set of columns (a message writes ``last_seq``; an agent's message
    also moves ``agent_delivered_seq``; a cursor only that): executing the same
    statement object skips building and hashing it for the compiled cache."""
    where = [_T.c.id == bindparam("b_id")]
    if _checks_version(columns):
        where += [
            _T.c.last_seq == bindparam("b_last_seq"),
            _T.c.state == bindparam("b_state"),
        ]
    where += [
        _T.c[name].is_not_distinct_from(bindparam(f"b_{name}")) for name in _compared(columns)
    ]
    return (
        update(_T)
        .where(*where)
        .values({name: _written(_T.c[name], bindparam(name)) for name in columns})
    )


@functools.cache
def _compared(columns: tuple[str, ...]) -> tuple[str, ...]:
    """The written columns compared with the value they were read with."""
    skip = _UNCOMPARED | _CURSORS | {"last_seq", "state"}
    return tuple(name for name in columns if name not in skip)


@functools.cache
def _save_params(columns: tuple[str, ...]) -> tuple[str, ...]:
    """The names of ``_save(columns)``'s parameters."""
    names = ["b_id", *columns, *(f"b_{name}" for name in _compared(columns))]
    if _checks_version(columns):
        names += ["b_last_seq", "b_state"]
    return tuple(names)


@functools.cache
def _save_in_bulk(columns: tuple[str, ...]) -> Update:
    """``_save`` for many rows in one statement (PostgreSQL): each parameter is the
    array of the rows' values, unnested into a table to update from; it returns the id
    of each row it changed, so a row that moved on is noticed without a trip per row."""
    names = _save_params(columns)

    def type_of(name: str) -> Any:
        return _T.c[name.removeprefix("b_")].type

    arrays = [bindparam(name, type_=ARRAY(type_of(name))) for name in names]
    rows = (
        func.unnest(*arrays)
        .table_valued(*(column(name, type_of(name)) for name in names))
        .render_derived(name="v")
    )
    where = [_T.c.id == rows.c.b_id]
    if _checks_version(columns):
        where += [_T.c.last_seq == rows.c.b_last_seq, _T.c.state == rows.c.b_state]
    where += [_T.c[name].is_not_distinct_from(rows.c[f"b_{name}"]) for name in _compared(columns)]
    return (
        update(_T)
        .where(*where)
        .values({name: _written(_T.c[name], rows.c[name]) for name in columns})
        .returning(_T.c.id)
    )


# Flush order: a conversation exists before it changes, and before its events.
_INSERTS, _SAVES, _EVENTS = 0, 1, 2


class SqlConversationRepository:
    """Conversations, in SQLAlchemy Core: no ORM session state on the message path.

    Reads come from the database's conversation cache when they can. The cache holds
    what this process committed (``SqlContext.publish_writes`` puts each written
    conversation in when its commit succeeds), so in one process it is exact; a write
    by another process is caught by ``save``, which writes only if the row still has the
    ``last_seq`` and state the change was decided on (``Conflict`` otherwise, and the
    stale entry is dropped). A unit of work sees its own writes before it commits.
    """

    def __init__(self, ctx: SqlContext) -> None:
        self._ctx = ctx

    async def get(
        self, conversation_id: ConversationId, *, for_update: bool = False
    ) -> Conversation | None:
        """On PostgreSQL a read ``for_update`` locks the row (and so reads it fresh):
        writers of one conversation queue there instead of failing each other's
        ``save``. SQLite has one writer at a time anyway, so the cache serves it."""
        ctx = self._ctx
        if for_update:
            await ctx.hold_writer()
        mine = ctx.written_conversations.get(conversation_id)
        if mine is not None:
            return mine
        cache = ctx.caches.conversations
        lock = for_update and ctx.dialect == "postgresql"
        if not lock and (hit := cache.get(conversation_id)) is not None:
            return hit
        generation = cache.generation
        row = (await ctx.execute(_GET_LOCKED if lock else _GET, {"id": conversation_id})).first()
        if row is None:
            return None
        conv = _conversation(row)
        cache.fill(conversation_id, conv, generation)
        return conv

    async def get_many(
        self,
        conversation_ids: Sequence[ConversationId],
        *,
        for_update: bool = False,
        optimistic: bool = False,
    ) -> Mapping[ConversationId, Conversation]:
        ctx = self._ctx
        if for_update:
            await ctx.hold_writer()
        cache = ctx.caches.conversations
        lock = for_update and not optimistic and ctx.dialect == "postgresql"
        found: dict[ConversationId, Conversation] = {}
        missing = []
        for conversation_id in sorted(set(conversation_ids)):
            mine = ctx.written_conversations.get(conversation_id)
            hit = mine or (None if lock else cache.get(conversation_id))
            if hit is not None:
                found[conversation_id] = hit
            else:
                missing.append(conversation_id)
        if missing:
            generation = cache.generation
            stmt = _GET_MANY_LOCKED if lock else _GET_MANY
            for row in await ctx.execute(stmt, {"ids": missing}):
                conv = _conversation(row)
                cache.fill(conv.id, conv, generation)
                found[conv.id] = conv
        return found

    async def add(self, conversation: Conversation) -> None:
        values = _mutable_columns(conversation)
        values.update(
            id=conversation.id,
            tenant_id=conversation.tenant_id,
            visitor_id=conversation.visitor_id,
            queue=conversation.queue,
            created_at=conversation.created_at,
        )
        self._ctx.queue(_INSERT, values, order=_INSERTS)
        self._ctx.written_conversations[conversation.id] = conversation
        self._ctx.decided_on[conversation.id] = None

    async def save(self, conversation: Conversation, *, previous: Conversation) -> None:
        """Write the fields that differ from ``previous``, if the row still has its
        ``last_seq`` and state and, in each field written, the value ``previous`` had:
        otherwise the flush raises ``Conflict`` and nothing of this unit of work is
        written. What others wrote meanwhile to other fields (a delivery cursor moved
        while a message was decided on an older copy) stays. Queued; it goes out with
        the next flush. A second save of the conversation before that flush replaces
        the first (compared with what the first was decided on): one row per
        conversation, however many messages a batch stores in it."""
        unflushed = self._ctx.unflushed_saves.pop(conversation.id, None)
        if unflushed is not None:
            stmt, row, previous = unflushed
            self._ctx.unqueue(stmt, row)
        # The columns are named as the fields; only what is needed is converted.
        changed = (n for n in _MUTABLE if getattr(conversation, n) != getattr(previous, n))
        # Nothing changed still checks the row is there and as read.
        columns = tuple(changed) or ("last_seq",)
        params: dict[str, Any] = {}
        for name in _save_params(columns):
            if name == "b_id":
                params[name] = conversation.id
            elif name.startswith("b_"):
                params[name] = _column_value(previous, name[2:])
            else:
                params[name] = _column_value(conversation, name)
        bulk = None
        if not self._ctx.multi_rowcount and _UNCOMPARED.isdisjoint(columns):
            bulk = _save_in_bulk(columns)
        stmt = _save(columns)
        row = self._ctx.queue(stmt, params, order=_SAVES, check=True, bulk=bulk)
        self._ctx.unflushed_saves[conversation.id] = (stmt, row, previous)
        self._ctx.decided_on.setdefault(conversation.id, previous)
        self._ctx.written_conversations[conversation.id] = conversation

    async def _rows(self, stmt: Select[Any]) -> list[Conversation]:
        return [_conversation(row) for row in await self._ctx.execute(stmt)]

    async def list_for_visitor(
        self, visitor_id: VisitorId, *, ended: int = 0
    ) -> Sequence[Conversation]:
        """Newest first (id breaks ties); through the (visitor, state, created_at) index,
        so a visitor's ended conversations are never read beyond the ``ended`` newest."""
        mine = _T.c.visitor_id == visitor_id
        is_ended = _T.c.state == ConversationState.ENDED.value
        found = await self._rows(select(_T).where(mine, ~is_ended).order_by(*_NEWEST_FIRST))
        if ended > 0:
            stmt = select(_T).where(mine, is_ended).order_by(*_NEWEST_FIRST).limit(ended)
            found += await self._rows(stmt)
        found.sort(key=lambda conv: (conv.created_at, conv.id), reverse=True)
        return found

    async def open_for_visitors(
        self, visitor_ids: Sequence[VisitorId]
    ) -> Mapping[VisitorId, Sequence[Conversation]]:
        if not visitor_ids:
            return {}
        stmt = (
            select(_T)
            .where(
                _T.c.visitor_id.in_(sorted(set(visitor_ids))),
                _T.c.state != ConversationState.ENDED.value,
            )
            .order_by(*_NEWEST_FIRST)
        )
        found: dict[VisitorId, list[Conversation]] = {}
        for conv in await self._rows(stmt):
            found.setdefault(conv.visitor_id, []).append(conv)
        return found

    async def list_queued(
        self,
        tenant_id: TenantId,
        queue: QueueName,
        *,
        limit: int,
        for_update: bool = False,
    ) -> Sequence[Conversation]:
        """Longest waiting first (id breaks ties); read through the queue index, so the
        cost is the ``limit``, not the queue's length. Always from the database: what is
        routed must be what is stored."""
        stmt = (
            select(_T)
            .where(
                _T.c.tenant_id == tenant_id,
                _T.c.queue == queue,
                _T.c.state == ConversationState.QUEUED.value,
            )
            .order_by(_T.c.created_at, _T.c.id)
            .limit(max(limit, 0))
        )
        if for_update:
            stmt = stmt.with_for_update()
        return await self._rows(stmt)

    async def count_active_by_agent(
        self, tenant_id: TenantId, agent_ids: Sequence[AgentId]
    ) -> Mapping[AgentId, int]:
        if not agent_ids:
            return {}
        stmt = (
            select(_T.c.agent_id, func.count())
            .where(
                _T.c.tenant_id == tenant_id,
                _T.c.state == ConversationState.ACTIVE.value,
                _T.c.agent_id.in_(list(agent_ids)),
            )
            .group_by(_T.c.agent_id)
        )
        result = await self._ctx.execute(stmt)
        return {AgentId(agent_id): count for agent_id, count in result if agent_id}

    async def list_undelivered_to_agents(self) -> Sequence[Conversation]:
        """Oldest first (id breaks ties)."""
        stmt = (
            select(_T)
            .where(_T.c.agent_id.is_not(None), _T.c.agent_delivered_seq < _T.c.last_seq)
            .order_by(_T.c.created_at, _T.c.id)
        )
        return await self._rows(stmt)


_E: Table = EventRow.__table__  # type: ignore[assignment]
_INSERT_EVENT = insert(_E)
_LIST_AFTER = (
    select(_E)
    .where(_E.c.conversation_id == bindparam("conversation_id"), _E.c.seq > bindparam("after"))
    .order_by(_E.c.seq)
    .limit(bindparam("limit"))
)
_LIST_OF_MANY = (
    select(_E)
    .where(
        _E.c.conversation_id.in_(bindparam("ids", expanding=True)),
        _E.c.seq < bindparam("before"),
    )
    .order_by(_E.c.conversation_id, _E.c.seq)
)
_FIND_MESSAGES = select(_E).where(
    tuple_(_E.c.conversation_id, _E.c.client_msg_id).in_(bindparam("keys", expanding=True)),
    _E.c.type == MessagePosted.TYPE,
)
_BY_CLIENT_ID = select(_E).where(
    _E.c.conversation_id == bindparam("conversation_id"),
    _E.c.client_msg_id == bindparam("client_msg_id"),
    _E.c.type == MessagePosted.TYPE,
)


class SqlEventRepository:
    """Stored conversation events, through the codecs of ``data.codecs``.

    ``add`` of a seq or a message ``client_msg_id`` that the conversation already has
    raises ``sqlalchemy.exc.IntegrityError`` and leaves the transaction unusable; the
    unit of work then rolls back. In business code neither can happen: every writer
    reads the conversation ``for_update`` first, which serialises writers on the row
    lock (PostgreSQL) or the writer slot (SQLite), and a message writer looks its
    ``client_msg_id`` up after taking that lock, so a concurrent retry finds the stored
    message instead of inserting it again. An IntegrityError here therefore means a bug
    or a foreign writer, and it is left to propagate rather than be papered over.
    """

    def __init__(self, ctx: SqlContext) -> None:
        self._ctx = ctx

    async def add(self, event: ConversationEvent) -> None:
        """Queued; it goes out with the next flush (a duplicate seq or client_msg_id
        then fails the flush with an IntegrityError)."""
        # A taken client_msg_id is a retried message: the caller decides again.
        self._ctx.queue(_INSERT_EVENT, encode_event(event), order=_EVENTS, taken_is_conflict=True)

    async def list_after(
        self, conversation_id: ConversationId, after_seq: int, limit: int
    ) -> Sequence[ConversationEvent]:
        params = {"conversation_id": conversation_id, "after": after_seq, "limit": max(limit, 0)}
        return [decode_event(row) for row in await self._ctx.execute(_LIST_AFTER, params)]

    async def list_before_many(
        self, keys: Sequence[tuple[ConversationId, int]]
    ) -> Mapping[ConversationId, Sequence[ConversationEvent]]:
        if not keys:
            return {}
        before: dict[ConversationId, int] = {}
        for conversation_id, seq in keys:
            before[conversation_id] = max(seq, before.get(conversation_id, 0))
        params = {"ids": sorted(before), "before": max(before.values())}
        found: dict[ConversationId, list[ConversationEvent]] = {}
        for row in await self._ctx.execute(_LIST_OF_MANY, params):
            if row.seq < before[row.conversation_id]:
                found.setdefault(row.conversation_id, []).append(decode_event(row))
        return found

    async def get_message_by_client_id(
        self, conversation_id: ConversationId, client_msg_id: str
    ) -> MessagePosted | None:
        params = {"conversation_id": conversation_id, "client_msg_id": client_msg_id}
        row = (await self._ctx.execute(_BY_CLIENT_ID, params)).first()
        if row is None:
            return None
        event = decode_event(row)
        assert isinstance(event, MessagePosted)
        return event

    async def find_messages(
        self, keys: Sequence[tuple[ConversationId, str]]
    ) -> Mapping[tuple[ConversationId, str], MessagePosted]:
        if not keys:
            return {}
        found: dict[tuple[ConversationId, str], MessagePosted] = {}
        for row in await self._ctx.execute(_FIND_MESSAGES, {"keys": list(dict.fromkeys(keys))}):
            event = decode_event(row)
            assert isinstance(event, MessagePosted)
            assert event.client_msg_id is not None
            found[(event.conversation_id, event.client_msg_id)] = event
        return found

    async def count_messages_after(
        self, conversation_id: ConversationId, after_seq: int, exclude_kind: str
    ) -> int:
        stmt = select(func.count()).where(
            _E.c.conversation_id == conversation_id,
            _E.c.seq > after_seq,
            _E.c.type == MessagePosted.TYPE,
            _E.c.sender_kind != exclude_kind,
        )
        return int((await self._ctx.execute(stmt)).scalar() or 0)
