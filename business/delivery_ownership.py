"""Delivery ownership: exactly one engine process sends a conversation's events to its
agents, and another takes over when that one stops or dies.

Every process may store events of any conversation (the visitor's socket lives in one,
an agent's stanza arrives at another, the REST API at a third), and each process has
its own XMPP component connection. If each sent what it stored, an agent would get a
conversation's messages out of order, and twice from processes that fill gaps from
the store. So each conversation has one owner process: the others only nudge it
(``DeliveryWakes``).

- **Sole** (SQLite, or one process): this process owns everything; nothing is stored
  and nothing costs a statement.
- **Shared** (PostgreSQL): each process is a node with a lease in the database
  (``beat`` every ``heartbeat`` seconds renews it for ``lease_seconds``, measured by
  the database's clock). The first process that has something to deliver for a
  conversation claims it (``claim``: one compare-and-set per conversation, not per
  message; a conversation is nearly always claimed by the process its visitor is on,
  which with sticky sessions stores most of its events; one started here is its own
  from the start's commit, ``own_started``). A claim takes a conversation from another
  node only once that node's lease has run out, so no two live nodes own one
  conversation. A node that cannot renew its lease in time stops delivering at
  once (``owns`` is false for everything) and forgets what it owned, before another
  node can take it over: the lease is counted from before the renewal was sent.
- A node whose lease ran out, or that left (``leave``, at a drain), is noticed by
  every other node at its next beat (``Beat.gone``); each then claims whatever that
  node left undelivered and sends it from the delivery cursors. Events sent by the
  old owner after its last stored cursor go out again (same stanza ids), as after a
  restart.
"""

from __future__ import annotations

import asyncio
import hashlib
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from business.model import ConversationId
from business.ownership_ports import NodeId
from business.transactions import Transaction, Transactions

FOREIGN_OWNERS = 100_000
"""How many other nodes' conversations a process remembers the owner of."""


@dataclass(frozen=True, slots=True)
class Beat:
    gone: frozenset[NodeId]
    """Nodes that were live at the last beat and are not any more."""
    rejoined: bool
    """This node's own lease had run out and is valid again: it owns nothing it has not
    claimed again (it must catch up on what it may have lost meanwhile)."""


@dataclass(frozen=True, slots=True)
class NewlyOwned:
    """Conversations a start's transaction makes this node's (``own_started``)."""

    ids: frozenset[ConversationId]
    epoch: int


class DeliveryOwnership:
    def __init__(
        self,
        *,
        node: NodeId,
        transactions: Transactions | None = None,
        lease_seconds: float = 10.0,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        """``transactions`` None: sole owner (one process, nothing stored)."""
        if transactions is not None and lease_seconds <= 0:
            raise ValueError("lease_seconds must be positive")
        self.node = node
        self._tx = transactions
        self._lease = lease_seconds
        self._monotonic = monotonic
        self._valid_until = float("-inf")
        self._lapsed = False
        self._live: frozenset[NodeId] = frozenset()
        self._owned: set[ConversationId] = set()
        # One more each time what this node owned is forgotten (its lease lapsed, or it
        # left): a claim that began before must not add to what it owns afterwards.
        self._epoch = 0
        # Insertion-ordered: the oldest entries go first once it is full.
        self._foreign: dict[ConversationId, NodeId] = {}
        # A renewal and a leave must not overlap: a leave committed after a renewal
        # deletes the lease the node goes on delivering under.
        self._lease_change = asyncio.Lock()

    @property
    def sole(self) -> bool:
        return self._tx is None

    @property
    def live(self) -> frozenset[NodeId]:
        """The nodes with a valid lease at the last beat."""
        return frozenset({self.node}) if self._tx is None else self._live

    @property
    def leased(self) -> bool:
        """This node's lease is valid (always, when sole)."""
        return self._tx is None or self._monotonic() < self._valid_until

    def owns(self, conversation_id: ConversationId) -> bool:
        """This process delivers the conversation now (known without a statement)."""
        if self._tx is None:
            return True
        return conversation_id in self._owned and self.leased

    def known_owner(self, conversation_id: ConversationId) -> NodeId | None:
        """Another live node that owned the conversation when last asked, if any."""
        owner = self._foreign.get(conversation_id)
        return owner if owner is not None and owner in self._live else None

    async def beat(self) -> Beat:
        """Renew this node's lease and learn which nodes are live."""
        if self._tx is None:
            return Beat(gone=frozenset(), rejoined=False)
        async with self._lease_change:
            started = self._monotonic()
            previous_until = self._valid_until
            async with self._tx() as tx:
                live = frozenset(await tx.delivery_owners.beat(self.node, self._lease))
                await tx.commit()
            # Lapsed if the old lease ran out before the renewal was committed (not only
            # before it was sent): a slow commit leaves a gap in which another node may
            # have taken this one's conversations.
            lapsed = self._lapsed or self._monotonic() >= previous_until
            # Counted from before the renewal was sent: never later than the database's.
            self._valid_until = started + self._lease
            self._lapsed = False
            gone = self._live - live
            self._live = live
            for cid in [cid for cid, owner in self._foreign.items() if owner in gone]:
                del self._foreign[cid]
            if lapsed:
                self._forget()
            return Beat(gone=gone, rejoined=lapsed)

    async def observe(self) -> frozenset[NodeId]:
        """Learn which nodes are live without taking a lease (a process that cannot
        deliver: its XMPP link is down). Returns the nodes gone since last time."""
        if self._tx is None:
            return frozenset()
        async with self._tx.read() as tx:
            live = frozenset(await tx.delivery_owners.live())
        gone = self._live - live
        self._live = live
        return gone

    def any_live(self, conversation_id: ConversationId) -> NodeId | None:
        """A live node to nudge about a conversation nobody owns (the same one for the
        same conversation while the live nodes stay the same)."""
        live = sorted(self._live - {self.node}) if not self.leased else sorted(self._live)
        if not live:
            return None
        return live[int(hashlib.sha1(conversation_id.encode()).hexdigest()[:8], 16) % len(live)]

    def lapse(self) -> None:
        """The lease is known lost (the database refused the renewal past its end):
        deliver nothing until a beat succeeds."""
        if self._tx is not None and not self.leased:
            self._lapsed = True
            self._forget()

    def _forget(self) -> None:
        self._owned.clear()
        self._epoch += 1

    async def claim(self, conversation_ids: Iterable[ConversationId]) -> set[ConversationId]:
        """Claim the conversations not owned by another live node; returns those this
        node won (all, when sole; none while the lease is not valid). One won while the
        lease lapsed and came back is stored as this node's but not delivered
        (``owns`` is false) until claimed again: the replay that follows a lapse does."""
        wanted = sorted(set(conversation_ids))
        if self._tx is None:
            return set(wanted)
        if not wanted:
            return set()
        if not self.leased:
            # Cannot deliver: only learn who does, to nudge them.
            async with self._tx.read() as tx:
                owners = await tx.delivery_owners.owners(wanted)
            for cid, owner in owners.items():
                self._remember(cid, owner)
            return set()
        epoch = self._epoch
        async with self._tx() as tx:
            owners = await tx.delivery_owners.claim(wanted, self.node)
            await tx.commit()
        mine = set()
        for cid, owner in owners.items():
            if owner == self.node:
                mine.add(cid)
                self._foreign.pop(cid, None)
            else:
                self._remember(cid, owner)
        # Not if the lease lapsed meanwhile, even if it is back: another node may have
        # taken them in the gap (the owners read may be older than that).
        if self.leased and self._epoch == epoch:
            self._owned |= mine
        return mine

    def own_started(
        self, tx: Transaction, conversation_ids: Iterable[ConversationId]
    ) -> NewlyOwned:
        """In the transaction that creates the conversations: make them this node's at
        its commit (no other node can know them before), and ``adopt`` them once it
        committed, before their events are published. Those go straight to agents, with
        no claim and no catch-up read. Nothing while the lease is not valid (the link
        is down: the first event's claim or nudge decides, as for any other)."""
        ids = frozenset(conversation_ids)
        if self._tx is None or not ids or not self.leased:
            return NewlyOwned(frozenset(), self._epoch)
        tx.delivery_owners.own_new(sorted(ids), self.node)
        return NewlyOwned(ids, self._epoch)

    def adopt(self, started: NewlyOwned) -> None:
        """After the start committed (see ``own_started``). If the lease lapsed since,
        the stored ownership stands, but this node claims them again like any other."""
        if started.ids and self.leased and self._epoch == started.epoch:
            self._owned |= started.ids

    def _remember(self, conversation_id: ConversationId, owner: NodeId) -> None:
        if owner == self.node:
            return
        self._foreign.pop(conversation_id, None)
        self._foreign[conversation_id] = owner
        if len(self._foreign) > FOREIGN_OWNERS:
            del self._foreign[next(iter(self._foreign))]

    async def leave(self) -> int:
        """Hand every conversation over (a drain): the other nodes take them at their
        next beat. Returns how many this node owned."""
        if self._tx is None:
            return 0
        async with self._lease_change:
            self._forget()
            self._valid_until = float("-inf")
            self._lapsed = True
            async with self._tx() as tx:
                released = await tx.delivery_owners.leave(self.node)
                await tx.commit()
        return released
