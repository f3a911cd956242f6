"""Several engine processes: each conversation's events reach its agents from the one
process that owns its delivery (``business.delivery_ownership``).

``OwnedDelivery`` stands in front of ``XmppAgentNotifier`` as the publisher's
subscriber:

- An event of a conversation this process owns goes straight to the notifier, with
  no statement and no wait: the hot path of a visitor on its sticky process.
- Any other: what goes out from anywhere (typing, page moves, an offer withdrawn) is
  sent here; the stored events are left to the owner. Conversations without a known
  live owner are claimed (one statement for all of those published meanwhile); those
  claimed are caught up from the store, the others' owners are nudged
  (``DeliveryWakes``), a nudge per owner for all its conversations of the moment.
- Only a process whose XMPP link is up holds a lease and owns conversations: one whose
  link goes down hands them over (a Prosody standby never owns any), and nudges a live
  one about conversations nobody owns.
- Every ``heartbeat`` seconds the lease is renewed. When another node's lease ran out
  (or it left), or this one's own lapsed and is back, or the wake listener
  reconnected (nudges may have been missed), and every ``catch_up_every`` seconds
  anyway, the notifier's replay runs: it claims whatever is pending and unowned and
  sends what this process owns from the delivery cursors.
- ``stop`` releases every conversation (the drain's hand-over): the others take them
  at their next beat.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Iterable, Sequence

from business.conversation import Conversation
from business.delivery_ownership import Beat, DeliveryOwnership
from business.events import DomainEvent, MessagePosted, StoredEvent
from business.model import ConversationId, ParticipantKind
from business.outbound_threads import is_opening_message
from business.ownership_ports import DeliveryWakes, NodeId
from xmpp_bridge.outbound import XmppAgentNotifier
from xmpp_bridge.relay import other_recipients

logger = logging.getLogger(__name__)


class OwnedDelivery:
    """``business.ports.ConversationNotifier`` for a process among several."""

    def __init__(
        self,
        *,
        notifier: XmppAgentNotifier,
        ownership: DeliveryOwnership,
        wakes: DeliveryWakes,
        heartbeat: float,
        link_up: Callable[[], bool],
        catch_up_every: float = 30.0,
    ) -> None:
        self._notifier = notifier
        self._ownership = ownership
        self._wakes = wakes
        self._heartbeat = heartbeat
        self._link_up = link_up
        self._catch_up_every = catch_up_every
        self._unsettled: set[ConversationId] = set()
        self._settle_wake = asyncio.Event()
        self._catch_up_due = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._joined = False
        self._last_catch_up = 0.0
        self.claimed = 0
        """Conversations claimed here (for tests and metrics)."""
        self.woken = 0
        """Nudges sent to other processes (conversations named)."""

    # -- ConversationNotifier ---------------------------------------------------------

    async def notify(self, conversation: Conversation, events: Sequence[DomainEvent]) -> None:
        cid = conversation.id
        if self._ownership.owns(cid):
            await self._notifier.notify(conversation, events)
            return
        await self._notifier.notify(conversation, events, send_stored=False)
        stored = [event for event in events if isinstance(event, StoredEvent)]
        if stored and not _for_nobody(conversation, stored):
            self._unsettled.add(cid)
            self._settle_wake.set()

    # -- lifecycle ----------------------------------------------------------------------

    async def start(self) -> None:
        """Listen for nudges and start the background work. The lease is taken once the
        XMPP link is up (``claim``, from the link's catch-up, or the next beat): a
        process that cannot reach agents must not own conversations (a Prosody standby
        never gets the link while the active one holds it)."""
        await self._ownership.observe()
        await self._wakes.listen(self._ownership.node, self._woken, self._listening)
        self._tasks = [
            asyncio.create_task(self._settle_loop(), name="delivery-claims"),
            asyncio.create_task(self._beat_loop(), name="delivery-lease"),
        ]

    async def pause(self) -> None:
        """Stop the background work (claims, nudges heard, lease renewals, replays):
        first thing in a stop, so that nothing is sent after the notifier's last
        confirmed cursors. The lease stays until ``stop``."""
        tasks, self._tasks = self._tasks, []
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await self._wakes.stop()

    async def stop(self) -> None:
        """Stop, and hand every conversation over to the other processes (call after the
        notifier stored its last delivery cursors)."""
        await self.pause()
        await self._part()

    @property
    def node(self) -> NodeId:
        return self._ownership.node

    async def claim(self, conversation_ids: Iterable[ConversationId]) -> set[ConversationId]:
        """For the notifier's replay: join (take the lease) if the link is up and this
        process has none, then claim."""
        if self._link_up() and not self._ownership.leased:
            await self._join()
        return await self._ownership.claim(conversation_ids)

    async def _join(self) -> Beat:
        beat = await self._ownership.beat()
        if not self._joined:
            logger.info("delivering as node %s", self._ownership.node)
        self._joined = True
        return beat

    async def _part(self) -> None:
        """The link is down: hand every conversation over to processes that can reach
        agents."""
        self._joined = False
        try:
            released = await self._ownership.leave()
        except Exception:
            logger.warning(
                "could not hand the delivery of this process's conversations over; the "
                "other processes take them when its lease runs out",
                exc_info=True,
            )
        else:
            logger.info("XMPP link down: handed the delivery of %d conversations over", released)

    # -- background ---------------------------------------------------------------------

    def _woken(self, conversation_ids: Sequence[ConversationId]) -> None:
        mine = [cid for cid in conversation_ids if self._ownership.owns(cid)]
        # Not (or no longer) ours: the claim decides, and catches up if it wins.
        self._unsettled.update(cid for cid in conversation_ids if cid not in mine)
        if len(mine) != len(conversation_ids):
            self._settle_wake.set()
        self._notifier.catch_up(mine)

    def _listening(self) -> None:
        # Nudges sent while nobody listened are lost: catch up on everything of ours.
        self._catch_up_due.set()

    async def _settle_loop(self) -> None:
        while True:
            await self._settle_wake.wait()
            self._settle_wake.clear()
            batch, self._unsettled = self._unsettled, set()
            try:
                await self._settle(batch)
            except Exception:
                logger.warning(
                    "could not settle the delivery of %d conversations; trying again",
                    len(batch),
                    exc_info=True,
                )
                self._unsettled |= batch
                await asyncio.sleep(self._heartbeat)
                self._settle_wake.set()

    async def _settle(self, batch: set[ConversationId]) -> None:
        ownership = self._ownership
        nudges: dict[NodeId, list[ConversationId]] = {}
        unknown = []
        for cid in sorted(batch):
            if ownership.owns(cid):
                self._notifier.catch_up([cid])
            elif (owner := ownership.known_owner(cid)) is not None:
                nudges.setdefault(owner, []).append(cid)
            else:
                unknown.append(cid)
        if unknown:
            mine = await ownership.claim(unknown)
            self.claimed += len(mine)
            self._notifier.catch_up(sorted(mine))
            for cid in unknown:
                if cid in mine:
                    continue
                # Nobody live owns it and this process cannot (no link): a live one
                # is nudged, claims it and delivers.
                owner = ownership.known_owner(cid) or ownership.any_live(cid)
                if owner is not None:
                    nudges.setdefault(owner, []).append(cid)
        for owner, cids in nudges.items():
            self.woken += len(cids)
            await self._wakes.send(owner, cids)

    async def _beat_loop(self) -> None:
        loop = asyncio.get_running_loop()
        self._last_catch_up = loop.time()
        replaying: asyncio.Task[None] | None = None
        try:
            while True:
                if replaying is not None:
                    await asyncio.wait({replaying}, timeout=self._heartbeat)
                elif self._link_up():
                    with contextlib.suppress(TimeoutError):
                        async with asyncio.timeout(self._heartbeat):
                            await self._catch_up_due.wait()
                else:
                    # A catch-up asked for waits for the link (or this would spin).
                    await asyncio.sleep(self._heartbeat)
                if replaying is not None and replaying.done():
                    replaying = None
                if not self._link_up():
                    # Cannot reach agents: deliver nothing, own nothing, watch the others.
                    try:
                        if self._joined:
                            await self._part()
                        await self._ownership.observe()
                    except Exception:
                        logger.warning("could not read the live engine processes", exc_info=True)
                    continue
                try:
                    beat = await self._join()
                except Exception:
                    logger.warning("could not renew this process's delivery lease", exc_info=True)
                    self._ownership.lapse()
                    await asyncio.sleep(self._heartbeat)
                    continue
                if beat.gone:
                    logger.info(
                        "engine processes gone: %s; taking over their deliveries",
                        ", ".join(sorted(beat.gone)),
                    )
                # Also now and then for nothing: a safety net under lost nudges.
                periodic = loop.time() - self._last_catch_up >= self._catch_up_every
                if beat.gone or beat.rejoined or periodic or self._catch_up_due.is_set():
                    if replaying is None:
                        self._catch_up_due.clear()
                        # Beside the beats, never in their way: a replay of many
                        # conversations may take longer than the lease.
                        replaying = asyncio.create_task(self._replay(), name="delivery-replay")
                    else:
                        self._catch_up_due.set()  # once the running one is done
        finally:
            if replaying is not None:
                replaying.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await replaying

    async def _replay(self) -> None:
        try:
            await self._notifier.replay()
        except Exception:
            logger.warning("could not catch up on deliveries", exc_info=True)
            await asyncio.sleep(self._heartbeat)
            self._catch_up_due.set()
        else:
            self._last_catch_up = asyncio.get_running_loop().time()


def _for_nobody(conversation: Conversation, events: Sequence[StoredEvent]) -> bool:
    """Events no agent is sent anything for: the conversation's own agent's messages
    with nobody else in it (the commonest event a process stores for a conversation it
    does not own: ejabberd hands an agent's stanza to any process). The owner is not
    nudged for them; its cursor passes them with its next delivery, which fills the gap
    from the store, or at its periodic catch-up."""
    if other_recipients(conversation, events):
        return False
    desk = conversation.desk_agent_id
    return desk is not None and all(
        isinstance(event, MessagePosted)
        and event.sender.kind is ParticipantKind.AGENT
        and event.sender.id == desk
        and not is_opening_message(event.client_msg_id)
        for event in events
    )
