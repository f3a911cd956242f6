"""In-process caches of hot reads (tenants and agents by id, a tenant's webhooks).

The caches are bounded maps whose entries expire (``business.ttl_map.TtlMap``, which
does what ``cachetools.TTLCache`` does at a fifth of its cost per lookup: the message
path reads a dozen of them per round trip) owned by one ``Database``. The database stays
the only source of truth: a cache holds copies of committed rows and may always be
emptied.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Callable, Hashable, Iterable
from typing import Generic, TypeVar

from business.conversation import Conversation
from business.model import Agent, AgentId, ConversationId, Tenant, TenantId
from business.redaction import RedactionSettings
from business.ttl_map import TtlMap
from business.webhook_model import WebhookSubscription

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class EntityCache(Generic[K, V]):
    """Committed values of one entity, by id.

    Invariants:

    - it only ever holds values read from committed state (a unit of work that wrote a
      key neither reads that key from here nor fills it until it has committed);
    - a unit of work's written keys are dropped when it commits;
    - a value read before an invalidation is never stored after it: a reader takes
      ``generation`` before its SELECT, and ``fill`` ignores the value if anything was
      invalidated meanwhile. Without that, a reader that started before a concurrent
      commit (PostgreSQL) could put the old row back right after the writer dropped it.
      One counter for all keys is deliberately coarse: a spurious skip is only a miss.

    Other processes invalidate this one's entries through PostgreSQL NOTIFY
    (``data.cache_bus``); ``ttl`` still bounds how stale a read may be when a
    notification is missed (the listening connection lost, SQLite, which has none).
    Single event loop only.
    """

    def __init__(
        self, *, maxsize: int, ttl: float, timer: Callable[[], float] = time.monotonic
    ) -> None:
        self._entries: TtlMap[K, V] | None = (
            TtlMap(maxsize=maxsize, ttl=ttl, timer=timer) if maxsize > 0 and ttl > 0 else None
        )
        self._generation = 0
        self._reading: dict[K, tuple[int, asyncio.Future[object], bool]] = {}

    @property
    def generation(self) -> int:
        return self._generation

    def reading(self, key: K, *, holding: bool = True) -> asyncio.Future[object] | None:
        """The read of ``key`` under way, if nothing was invalidated since it began: its
        outcome is what a read starting now would see (``data.repositories.reads``).
        ``holding``: the caller holds a connection or the writer slot, and may only
        wait on a reader that holds its own already (not on one still waiting for
        what the caller holds)."""
        found = self._reading.get(key)
        if found is None or found[0] != self._generation or (holding and not found[2]):
            return None
        return found[1]

    def start_reading(self, key: K, *, held: bool = True) -> asyncio.Future[object]:
        """Announce a read of ``key``; end it with ``stop_reading``. ``held``: its reader
        holds its connection already (else ``hold`` says so once it does)."""
        outcome: asyncio.Future[object] = asyncio.get_running_loop().create_future()
        # Nobody may be waiting: a failure must not be logged as never retrieved.
        outcome.add_done_callback(_retrieve)
        self._reading[key] = (self._generation, outcome, held)
        return outcome

    def hold(self, key: K, outcome: asyncio.Future[object]) -> None:
        """The reader of ``outcome`` holds its connection now."""
        found = self._reading.get(key)
        if found is not None and found[1] is outcome:
            self._reading[key] = (found[0], outcome, True)

    def stop_reading(self, key: K, outcome: asyncio.Future[object], value: object) -> None:
        """The read announced as ``outcome`` ended with ``value`` (an exception: failed)."""
        if not outcome.done():
            if isinstance(value, BaseException):
                outcome.set_exception(value)
            else:
                outcome.set_result(value)
        found = self._reading.get(key)
        if found is not None and found[1] is outcome:
            del self._reading[key]

    def get(self, key: K) -> V | None:
        if self._entries is None:
            return None
        return self._entries.get(key)

    def fill(self, key: K, value: V, generation: int) -> None:
        """Remember ``value``, read after ``generation`` was taken, unless stale by now."""
        if self._entries is not None and generation == self._generation:
            self._entries[key] = value

    def put_committed(self, key: K, value: V) -> None:
        """``value`` was just committed for ``key``: it is what the cache holds now.

        Counts as an invalidation too, so a reader that read the old row before this
        commit cannot put it back afterwards."""
        self._generation += 1
        if self._entries is not None:
            self._entries[key] = value

    def invalidate(self, keys: Iterable[K]) -> None:
        self._generation += 1
        if self._entries is not None:
            for key in keys:
                self._entries.pop(key, None)

    def clear(self) -> None:
        self._generation += 1
        if self._entries is not None:
            self._entries.clear()

    def __contains__(self, key: K) -> bool:
        return self._entries is not None and key in self._entries

    def __len__(self) -> int:
        return 0 if self._entries is None else len(self._entries)


def _retrieve(outcome: asyncio.Future[object]) -> None:
    if not outcome.cancelled():
        outcome.exception()


class Caches:
    """The caches one ``Database`` owns; ``ttl <= 0`` or ``maxsize <= 0`` disables them."""

    def __init__(
        self, *, ttl: float, maxsize: int, timer: Callable[[], float] = time.monotonic
    ) -> None:
        self.origin = uuid.uuid4().hex
        """Names this process's invalidations, which it ignores when they come back
        (``data.cache_bus``)."""
        self.tenants: EntityCache[TenantId, Tenant] = EntityCache(
            maxsize=maxsize, ttl=ttl, timer=timer
        )
        self.agents: EntityCache[AgentId, Agent] = EntityCache(
            maxsize=maxsize, ttl=ttl, timer=timer
        )
        self.agent_ids: EntityCache[str, AgentId] = EntityCache(
            maxsize=maxsize, ttl=ttl, timer=timer
        )
        """Agent ids by address."""
        self.conversations: EntityCache[ConversationId, Conversation] = EntityCache(
            maxsize=maxsize, ttl=ttl, timer=timer
        )
        """Conversations as this process last committed or read them (see
        ``data.repositories.conversations``)."""
        self.webhooks: EntityCache[TenantId, tuple[WebhookSubscription, ...]] = EntityCache(
            maxsize=maxsize, ttl=ttl, timer=timer
        )
        """Each tenant's enabled webhook subscriptions (read on the message path)."""
        self.redaction: EntityCache[TenantId, tuple[RedactionSettings | None]] = EntityCache(
            maxsize=maxsize, ttl=ttl, timer=timer
        )
        """Each tenant's redaction settings, as a 1-tuple (None: no row, the defaults),
        read on the message path."""

    def clear(self) -> None:
        self.tenants.clear()
        self.webhooks.clear()
        self.redaction.clear()
        self.agents.clear()
        self.agent_ids.clear()
        self.conversations.clear()
