"""A conversation's stored events, through the codecs of ``data.codecs``."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from sqlalchemy import Table, bindparam, func, insert, select, tuple_

from business.events import ConversationEvent, DeskMessage, MessagePosted, StoredEvent
from business.model import ConversationId
from data.codecs import decode_event, decode_visible, encode_event
from data.models import EventRow
from data.repositories.base import EVENT_INSERTS, SqlContext

_E: Table = EventRow.__table__  # type: ignore[assignment]
_INSERT_EVENT = insert(_E)
_LIST_AFTER = (
    select(_E)
    .where(_E.c.conversation_id == bindparam("conversation_id"), _E.c.seq > bindparam("after"))
    .order_by(_E.c.seq)
    .limit(bindparam("limit"))
)
_LIST_AFTER_POS = (
    select(_E)
    .where(_E.c.conversation_id == bindparam("conversation_id"), _E.c.pos > bindparam("after"))
    .order_by(_E.c.pos)
    .limit(bindparam("limit"))
)
# UNIQUE (conversation_id, seq) answers each max(seq), and then each row, from the index.
_NEWEST_VISIBLE = select(_E).where(
    tuple_(_E.c.conversation_id, _E.c.seq).in_(
        select(_E.c.conversation_id, func.max(_E.c.seq))
        .where(
            _E.c.conversation_id.in_(bindparam("ids", expanding=True)),
            _E.c.seq.is_not(None),
        )
        .group_by(_E.c.conversation_id)
    )
)
_LIST_OF_MANY = (
    select(_E)
    .where(
        _E.c.conversation_id.in_(bindparam("ids", expanding=True)),
        _E.c.pos < bindparam("before"),
    )
    .order_by(_E.c.conversation_id, _E.c.pos)
)
# A client id belongs to one message of either kind (one UNIQUE key over both).
_MESSAGE_TYPES = (MessagePosted.TYPE, DeskMessage.TYPE)
_FIND_MESSAGES = select(_E).where(
    tuple_(_E.c.conversation_id, _E.c.client_msg_id).in_(bindparam("keys", expanding=True)),
    _E.c.type.in_(_MESSAGE_TYPES),
)
_BY_CLIENT_ID = select(_E).where(
    _E.c.conversation_id == bindparam("conversation_id"),
    _E.c.client_msg_id == bindparam("client_msg_id"),
    _E.c.type.in_(_MESSAGE_TYPES),
)


class SqlEventRepository:
    """Stored conversation events, through the codecs of ``data.codecs``.

    ``add`` of a pos, a seq or a message's (or a desk message's) ``client_msg_id`` that the
    conversation already has
    fails the flush with ``Conflict`` (nothing of the unit of work is stored): another
    writer took the seq, or the message is a retry. The message path stores without
    looking for repeats first and decides again when that happens; any other
    IntegrityError (an unknown conversation) propagates.
    """

    def __init__(self, ctx: SqlContext) -> None:
        self._ctx = ctx

    async def add(self, event: StoredEvent) -> None:
        """Queued; it goes out with the next flush."""
        self._ctx.queue(
            _INSERT_EVENT, encode_event(event), order=EVENT_INSERTS, taken_is_conflict=True
        )

    async def list_after(
        self, conversation_id: ConversationId, after_seq: int, limit: int
    ) -> Sequence[ConversationEvent]:
        params = {"conversation_id": conversation_id, "after": after_seq, "limit": max(limit, 0)}
        return [decode_visible(row) for row in await self._ctx.execute(_LIST_AFTER, params)]

    async def newest_visible(
        self, conversation_ids: Sequence[ConversationId]
    ) -> Mapping[ConversationId, ConversationEvent]:
        if not conversation_ids:
            return {}
        rows = await self._ctx.execute(_NEWEST_VISIBLE, {"ids": sorted(set(conversation_ids))})
        return {ConversationId(row.conversation_id): decode_visible(row) for row in rows}

    async def list_after_pos(
        self, conversation_id: ConversationId, after_pos: int, limit: int
    ) -> Sequence[StoredEvent]:
        params = {"conversation_id": conversation_id, "after": after_pos, "limit": max(limit, 0)}
        return [decode_event(row) for row in await self._ctx.execute(_LIST_AFTER_POS, params)]

    async def list_before_many(
        self, keys: Sequence[tuple[ConversationId, int]]
    ) -> Mapping[ConversationId, Sequence[StoredEvent]]:
        if not keys:
            return {}
        before: dict[ConversationId, int] = {}
        for conversation_id, pos in keys:
            before[conversation_id] = max(pos, before.get(conversation_id, 0))
        params = {"ids": sorted(before), "before": max(before.values())}
        found: dict[ConversationId, list[StoredEvent]] = {}
        for row in await self._ctx.execute(_LIST_OF_MANY, params):
            if row.pos < before[row.conversation_id]:
                found.setdefault(row.conversation_id, []).append(decode_event(row))
        return found

    async def get_message_by_client_id(
        self, conversation_id: ConversationId, client_msg_id: str
    ) -> MessagePosted | DeskMessage | None:
        params = {"conversation_id": conversation_id, "client_msg_id": client_msg_id}
        row = (await self._ctx.execute(_BY_CLIENT_ID, params)).first()
        if row is None:
            return None
        event = decode_event(row)
        assert isinstance(event, MessagePosted | DeskMessage)
        return event

    async def find_messages(
        self, keys: Sequence[tuple[ConversationId, str]]
    ) -> Mapping[tuple[ConversationId, str], MessagePosted | DeskMessage]:
        if not keys:
            return {}
        found: dict[tuple[ConversationId, str], MessagePosted | DeskMessage] = {}
        for row in await self._ctx.execute(_FIND_MESSAGES, {"keys": list(dict.fromkeys(keys))}):
            event = decode_event(row)
            assert isinstance(event, MessagePosted | DeskMessage)
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
