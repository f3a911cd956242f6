"""A conversation and its row: the column values, and the statements that write them.

A save writes only the columns that changed and is a compare-and-set: the row must still
have the ``last_pos`` and state the change was decided on and, in each column written
(JSON aside), the value it was read with. The cursors only move forward: written as the
greater of stored and new, never compared; except that a save giving the conversation a
new owner (``agent_id`` written) writes the owner's cursor as given, since it is theirs
from then on. Statements are built once per set of columns.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy import Table, Update, bindparam, case, column, func, update
from sqlalchemy.dialects.postgresql import ARRAY

from business.conversation import Conversation
from business.model import (
    AgentId,
    Channel,
    ConversationId,
    ConversationState,
    Member,
    MemberRole,
    OfferKind,
    QueueName,
    TenantId,
    VisitorContext,
    VisitorId,
)
from data.models import ConversationRow
from data.visit_json import started_by_from_json, visit_from_json, visit_to_json


def context_to_json(context: VisitorContext) -> dict[str, Any]:
    return {
        "page_url": context.page_url,
        "page_title": context.page_title,
        "referrer": context.referrer,
        "custom": dict(context.custom),
        **visit_to_json(context),
    }


def _context_from_json(data: Mapping[str, Any]) -> VisitorContext:
    return VisitorContext(
        page_url=data.get("page_url"),
        page_title=data.get("page_title"),
        referrer=data.get("referrer"),
        custom=dict(data.get("custom") or {}),
        **visit_from_json(data),
    )


def members_to_json(members: tuple[Member, ...]) -> list[dict[str, Any]]:
    return [{"agent_id": m.agent_id, "name": m.name, "role": m.role.value} for m in members]


def _members_from_json(data: Sequence[Mapping[str, Any]]) -> tuple[Member, ...]:
    return tuple(
        Member(agent_id=AgentId(m["agent_id"]), name=m["name"], role=MemberRole(m["role"]))
        for m in data
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
    last_pos: int
    visitor_read_seq: int
    agent_delivered_pos: int
    queue_position: int | None
    offered_to: str | None
    offered_name: str | None
    offer_expires_at: datetime | None
    last_offered_to: str | None
    offer_kind: str
    offer_by: str | None
    offer_note: str | None
    members: Sequence[Mapping[str, Any]]
    preferred_agent_id: str | None
    assigned_at: datetime | None
    ended_at: datetime | None
    bot_misses: int
    channel: str
    provider: str | None
    external_id: str | None
    offline: bool
    offline_message_id: str | None
    started_by: Mapping[str, Any] | None
    locked: bool
    reserved_until: datetime | None
    idle_due_at: datetime | None
    idle_step: str | None


def conversation_from_row(row: _ConversationColumns) -> Conversation:
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
        last_pos=row.last_pos,
        visitor_read_seq=row.visitor_read_seq,
        agent_delivered_pos=row.agent_delivered_pos,
        queue_position=row.queue_position,
        offered_to=None if row.offered_to is None else AgentId(row.offered_to),
        offered_name=row.offered_name,
        offer_expires_at=row.offer_expires_at,
        last_offered_to=None if row.last_offered_to is None else AgentId(row.last_offered_to),
        offer_kind=OfferKind(row.offer_kind),
        offer_by=None if row.offer_by is None else AgentId(row.offer_by),
        offer_note=row.offer_note,
        members=_members_from_json(row.members),
        preferred_agent_id=(
            None if row.preferred_agent_id is None else AgentId(row.preferred_agent_id)
        ),
        assigned_at=row.assigned_at,
        ended_at=row.ended_at,
        bot_misses=row.bot_misses,
        channel=Channel(row.channel),
        provider=row.provider,
        external_id=row.external_id,
        offline=bool(row.offline),
        offline_message_id=row.offline_message_id,
        started_by=started_by_from_json(row.started_by),
        locked=bool(row.locked),
        reserved_until=row.reserved_until,
        idle_due_at=row.idle_due_at,
        idle_step=row.idle_step,
    )


def column_value(conv: Conversation, name: str) -> Any:
    """One of ``mutable_columns``, alone."""
    match name:
        case "state":
            return conv.state.value
        case "context":
            return context_to_json(conv.context)
        case "form":
            return dict(conv.form)
        case "offer_kind":
            return conv.offer_kind.value
        case "members":
            return members_to_json(conv.members)
        case _:
            return getattr(conv, name)


def mutable_columns(conv: Conversation) -> dict[str, Any]:
    return {name: column_value(conv, name) for name in MUTABLE}


CONVERSATIONS: Table = ConversationRow.__table__  # type: ignore[assignment]
_T = CONVERSATIONS
NEWEST_FIRST = (_T.c.created_at.desc(), _T.c.id.desc())
MUTABLE = (
    "visitor_id",
    "visitor_name",
    "queue",
    "state",
    "context",
    "form",
    "agent_id",
    "agent_name",
    "last_seq",
    "last_pos",
    "visitor_read_seq",
    "agent_delivered_pos",
    "queue_position",
    "offered_to",
    "offered_name",
    "offer_expires_at",
    "last_offered_to",
    "offer_kind",
    "offer_by",
    "offer_note",
    "members",
    "preferred_agent_id",
    "assigned_at",
    "ended_at",
    "bot_misses",
    "offline",
    "offline_message_id",
    "locked",
    "reserved_until",
    "idle_due_at",
    "idle_step",
)

UNCOMPARED = frozenset({"context", "form", "members"})
"""Columns a save does not compare with what it read (JSON has no equality in
PostgreSQL); they change only under a lock read (``for_update``, not optimistic), or,
``members``, only with an event, so the ``last_pos`` compared catches a race."""


_CURSORS = frozenset({"visitor_read_seq", "agent_delivered_pos"})
"""Columns that only move forward: written as the greater of stored and new, never
compared, so a cursor moved by one writer is never taken back by another."""


def _checks_version(columns: tuple[str, ...]) -> bool:
    """Whether a save of these columns compares ``last_pos`` and state: a change decided
    on the conversation's events does; one moving only cursors needs not (it can lose
    nothing and clamps to a ``last_pos`` that only grows). Every stored event moves
    ``last_pos`` (``last_seq`` only with the visitor's), so it alone tells whether
    another writer added events since the change was decided."""
    return not _CURSORS.issuperset(columns)


OWNER_CURSOR = "agent_delivered_pos"


def columns_to_save(conv: Conversation, previous: Conversation) -> tuple[str, ...]:
    """The columns a save of ``conv`` decided on ``previous`` writes: those that differ,
    and the owner's cursor whenever the owner does (a new owner's cursor is what the
    change says, even when it happens to equal the old owner's)."""
    new_owner = conv.agent_id != previous.agent_id
    return tuple(
        name
        for name in MUTABLE
        if getattr(conv, name) != getattr(previous, name) or (new_owner and name == OWNER_CURSOR)
    )


def _written(column_: Any, new: Any, columns: tuple[str, ...]) -> Any:
    if column_.name == OWNER_CURSOR and "agent_id" in columns:
        return new  # a new owner: see columns_to_save
    if column_.name in _CURSORS:
        return case((column_ > new, column_), else_=new)
    return new


@functools.cache
def save_statement(columns: tuple[str, ...]) -> Update:
    """The UPDATE of these columns, if the row still has the ``last_pos`` and state the
    change was decided on and, for each column written, the value it was read with.
    Built once per set of columns (a message writes ``last_seq`` and ``last_pos``; an
    agent's message also moves ``agent_delivered_pos``; a cursor only that): executing the same
    statement object skips building and hashing it for the compiled cache."""
    where = [_T.c.id == bindparam("b_id")]
    if _checks_version(columns):
        where += [
            _T.c.last_pos == bindparam("b_last_pos"),
            _T.c.state == bindparam("b_state"),
        ]
    where += [
        _T.c[name].is_not_distinct_from(bindparam(f"b_{name}")) for name in _compared(columns)
    ]
    return (
        update(_T)
        .where(*where)
        .values({name: _written(_T.c[name], bindparam(name), columns) for name in columns})
    )


@functools.cache
def _compared(columns: tuple[str, ...]) -> tuple[str, ...]:
    """The written columns compared with the value they were read with."""
    skip = UNCOMPARED | _CURSORS | {"last_seq", "last_pos", "state"}
    compared = tuple(name for name in columns if name not in skip)
    if "agent_delivered_pos" in columns and "agent_id" not in columns:
        # The owner's cursor is written only for the owner it was read with: after a
        # transfer, a late cursor of the old owner must not move the new one's.
        compared += ("agent_id",)
    return compared


@functools.cache
def save_params(columns: tuple[str, ...]) -> tuple[str, ...]:
    """The names of ``save_statement(columns)``'s parameters."""
    names = ["b_id", *columns, *(f"b_{name}" for name in _compared(columns))]
    if _checks_version(columns):
        names += ["b_last_pos", "b_state"]
    return tuple(names)


@functools.cache
def save_in_bulk(columns: tuple[str, ...]) -> Update:
    """``_save`` for many rows in one statement (PostgreSQL): each parameter is the
    array of the rows' values, unnested into a table to update from; it returns the id
    of each row it changed, so a row that moved on is noticed without a trip per row."""
    names = save_params(columns)

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
        where += [
            _T.c.last_pos == rows.c.b_last_pos,
            _T.c.state == rows.c.b_state,
        ]
    where += [_T.c[name].is_not_distinct_from(rows.c[f"b_{name}"]) for name in _compared(columns)]
    return (
        update(_T)
        .where(*where)
        .values({name: _written(_T.c[name], rows.c[name], columns) for name in columns})
        .returning(_T.c.id)
    )
