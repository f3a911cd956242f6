"""What the repositories of one unit of work share, and the read-through cache helper.

Repositories flush and never commit: the unit of work owns the transaction. They take
and return business dataclasses only; no ORM row leaves this package.

Every read uses ``populate_existing`` so that a repeated read in one transaction returns
what the database holds now (for example after a ``FOR UPDATE`` lock was granted) and
not an older copy from the session's identity map.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence
from typing import TypeVar

from sqlalchemy import Select
from sqlalchemy.ext.asyncio import AsyncSession

from business.conversation import Conversation
from business.model import AgentId, ConversationId, TenantId
from data.cache import Caches, EntityCache


class SqlContext:
    """What the repositories of one unit of work share: its session, the database's
    caches, and the cache keys this unit of work has written since its last commit."""

    def __init__(self, *, caches: Caches, dialect: str) -> None:
        self.caches = caches
        self.dialect = dialect
        self.written_tenants: set[TenantId] = set()
        self.written_agents: set[AgentId] = set()
        self.written_conversations: dict[ConversationId, Conversation] = {}
        """What this unit of work wrote, as written: served to its own reads, and put in
        the conversation cache once committed."""
        self._session: AsyncSession | None = None

    @property
    def session(self) -> AsyncSession:
        if self._session is None:
            # Outside ``async with`` no transaction (and on SQLite no writer slot) is held.
            raise RuntimeError("a unit of work is only usable inside 'async with'")
        return self._session

    def open(self, session: AsyncSession) -> None:
        self._session = session
        self.forget_writes()

    def close(self) -> None:
        self._session = None
        self.forget_writes()

    def publish_writes(self, *, committed: bool) -> None:
        """After a commit: what this unit of work wrote becomes what the caches hold
        (conversations, which are written only through here) or is dropped from them
        (tenants, agents, which other code paths also write). After a failed commit the
        outcome is unknown, and everything written is dropped."""
        if self.written_tenants:
            self.caches.tenants.invalidate(self.written_tenants)
        if self.written_agents:
            self.caches.agents.invalidate(self.written_agents)
        conversations = self.caches.conversations
        if committed:
            for conversation in self.written_conversations.values():
                conversations.put_committed(conversation.id, conversation)
        elif self.written_conversations:
            conversations.invalidate(self.written_conversations)
        self.forget_writes()

    def forget_writes(self) -> None:
        # Without a commit nothing written reached the database, and nothing written
        # was put in a cache, so the cached values are still the committed ones.
        self.written_tenants = set()
        self.written_agents = set()
        self.written_conversations = {}


_Row = TypeVar("_Row")
_K = TypeVar("_K", bound=Hashable)
_V = TypeVar("_V")
_R = TypeVar("_R")


async def all_rows(session: AsyncSession, stmt: Select[_Row]) -> Sequence[_Row]:
    result = await session.scalars(stmt.execution_options(populate_existing=True))
    return result.all()


async def read_through(
    ctx: SqlContext,
    cache: EntityCache[_K, _V],
    written: set[_K],
    row_type: type[_R],
    key: _K,
    convert: Callable[[_R], _V],
    *,
    fresh: bool = False,
) -> _V | None:
    """Read ``key`` through ``cache``; ``fresh`` asks the database whatever the cache says
    (a read that a write will follow must never start from a stale copy).

    A unit of work that wrote the key neither trusts nor fills the cache (it would see or
    publish its own uncommitted value); a fill is refused when an invalidation happened
    since the read began (the generation), so a stale row never lands in the cache.
    """
    own_write = key in written
    if not fresh and not own_write and (hit := cache.get(key)) is not None:
        return hit
    generation = cache.generation
    row = await ctx.session.get(row_type, key, populate_existing=True, with_for_update=fresh)
    if row is None:
        return None
    value = convert(row)
    if not own_write:
        cache.fill(key, value, generation)
    return value
