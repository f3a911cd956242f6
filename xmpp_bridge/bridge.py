"""The XMPP bridge: lifecycle of the component link and the wiring of its parts."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import random as _random
from collections.abc import Callable, Coroutine, Iterable

from business.delivery_ownership import DeliveryOwnership
from business.model import ConversationId, ParticipantKind
from business.ownership_ports import DeliveryWakes
from business.ports import ConversationNotifier
from business.services import Services
from xmpp_bridge.addresses import Addressing
from xmpp_bridge.adhoc import AdhocDesk
from xmpp_bridge.backoff import Backoff, reconnect_delay
from xmpp_bridge.component import ChatComponent, ComponentSender
from xmpp_bridge.component_adhoc import AdhocEndpoint
from xmpp_bridge.concurrency import SerialLanes
from xmpp_bridge.converters import Stanza, stanza_to_custom, stream_error_text
from xmpp_bridge.engine_desk import EngineDesk
from xmpp_bridge.inbound import InboundDispatcher, lane_of
from xmpp_bridge.link import Link
from xmpp_bridge.log_redaction import mask_payments_in_slixmpp_logs
from xmpp_bridge.markers import MarkerBook
from xmpp_bridge.outbound import XmppAgentNotifier
from xmpp_bridge.ownership import OwnedDelivery
from xmpp_bridge.roster import QueueRoster
from xmpp_bridge.settings import BridgeSettings
from xmpp_bridge.standby_link import ProbeBook, StandbyLinks, claim_slot

logger = logging.getLogger(__name__)

_STOP_TIMEOUT = 5.0
_STABLE_SESSION = 30.0
"""A session must last this long (seconds) to reset the backoff: a server that accepts
and at once drops us (say, two engines kicking each other off with ``kick_old``) must
not be retried at the minimum delay forever."""


class XmppBridge:
    """Agents over XMPP: one external component connection, kept up for the process.

    slixmpp does not reconnect after a lost connection, so this does, with capped and
    jittered exponential backoff, also when the server refuses (connection refused,
    ``conflict``, wrong secret). After every (re)connect it re-announces the queues,
    re-learns agents' presence and replays what agents have not been sent; only then
    does it count as connected.
    """

    def __init__(
        self,
        *,
        settings: BridgeSettings,
        services: Services,
        random: Callable[[], float] = _random.random,
        ownership: DeliveryOwnership | None = None,
        wakes: DeliveryWakes | None = None,
    ) -> None:
        """``ownership`` and ``wakes``: one process among several on one database, each
        with its own component connection (``xmpp_bridge.ownership``)."""
        if settings.secret is None:
            raise ValueError("secret: the XMPP bridge needs the component secret to connect")
        self._settings = settings
        self._publisher = services.publisher
        self._random = random
        addressing = Addressing(settings.component_jid, attachment_url=services.files.links.lasting)
        self._link = Link(addressing, stanza_budget=settings.stanza_budget)
        # Every tenant's agents over one component: their addresses decide their tenant.
        self._roster = QueueRoster(
            services=services, link=self._link, away_is_ready=settings.away_is_ready
        )
        # What was sent, for the chat markers coming back (and going out).
        markers = MarkerBook()
        self._notifier = XmppAgentNotifier(
            services=services,
            link=self._link,
            flush_interval=settings.delivery_flush_interval,
            confirm_timeout=settings.delivery_confirm_timeout,
            # A failed delivery (say, the database hiccupped) is retried on the same
            # schedule as the link itself: the same kind of trouble, the same patience.
            retry_min_delay=settings.reconnect_min_delay,
            retry_max_delay=settings.reconnect_max_delay,
            markers=markers,
            claim=None if ownership is None or ownership.sole else self._claim,
            owns=None if ownership is None or ownership.sole else ownership.owns,
        )
        self._owned: OwnedDelivery | None = None
        if ownership is not None and not ownership.sole:
            if wakes is None:
                raise ValueError("wakes: several processes need them to nudge each other")
            self._owned = OwnedDelivery(
                notifier=self._notifier,
                ownership=ownership,
                wakes=wakes,
                heartbeat=settings.delivery_heartbeat,
                link_up=lambda: self._link.connected,
            )
        self._subscriber: ConversationNotifier = self._owned or self._notifier
        self._inbound = InboundDispatcher(
            services=services,
            roster=self._roster,
            link=self._link,
            away_is_ready=settings.away_is_ready,
            markers=markers,
        )
        self._adhoc = AdhocDesk(
            EngineDesk(
                services=services,
                addressing=self._link.addressing,
                away_is_ready=settings.away_is_ready,
            )
        )
        self._lanes = SerialLanes("xmpp-inbound")
        self._component: ChatComponent | None = None
        self._runner: asyncio.Task[None] | None = None
        self._side_tasks: set[asyncio.Task[None]] = set()
        self._presence_expiry: asyncio.Task[None] | None = None
        self._ready = asyncio.Event()
        self._started: asyncio.Future[str] | None = None
        self._ended: asyncio.Future[str] | None = None
        self._stopping = False
        self.standby: StandbyLinks | None = None
        self._slot_asked = False
        """Stand-ins for the component slots of processes that are gone (ejabberd)."""
        self._probes = ProbeBook()

    # -- public API -------------------------------------------------------------------

    @property
    def connected(self) -> bool:
        """The link is up and caught up (queues announced, missed events replayed)."""
        return self._ready.is_set()

    @property
    def owned_delivery(self) -> OwnedDelivery | None:
        """This process's part in delivery ownership, when it runs beside others."""
        return self._owned

    def delivery_lag(self) -> float:
        """Seconds the oldest event sent to an agent has waited for its delivery cursor
        to be stored; 0 when nothing waits (for ``/metrics``)."""
        return self._notifier.delivery_lag()

    async def wait_connected(self, timeout: float) -> None:
        """Return once ``connected``; ``TimeoutError`` if that takes longer than ``timeout``."""
        async with asyncio.timeout(timeout):
            await self._ready.wait()

    async def start(self) -> None:
        """Subscribe to committed events and start connecting in the background.

        Returns at once; must run inside the event loop the bridge will live in.
        """
        if self._runner is not None:
            raise RuntimeError("the XMPP bridge is already started")
        self._component = ChatComponent(settings=self._settings, events=_Handlers(self))
        AdhocEndpoint(self._component, self._adhoc)
        # After the component loaded its plugins: their modules' loggers exist now.
        mask_payments_in_slixmpp_logs()
        self._component.add_filter("in", self._probes.filter)
        if self._settings.standby_links:
            self.standby = StandbyLinks(
                settings=self._settings,
                on_stanza=self._on_stanza,
                prepare=lambda stand_in: AdhocEndpoint(stand_in, self._adhoc),
                main_connected=lambda: self.connected,
                interval=self._settings.standby_interval,
            )
            self.standby.start()
        if self._owned is not None:
            await self._owned.start()
        # The agents' side: a visitor's message is sent before anything else hears of it.
        self._publisher.subscribe(self._subscriber, audience=ParticipantKind.AGENT)
        self._notifier.start()
        self._runner = asyncio.create_task(self._run(), name="xmpp-bridge")

    async def stop(self) -> None:
        """Disconnect cleanly, finish or cancel work in flight, store delivery cursors."""
        if self._runner is None or self._stopping:
            return
        self._stopping = True
        self._runner.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._runner
        for task in list(self._side_tasks):
            task.cancel()
        component = self._component
        assert component is not None
        if self._owned is not None:
            # No claim, nudge or replay may send after the last confirmed cursors.
            await self._owned.pause()
        if self._link.connected:
            try:
                await self._roster.on_stopping()
            except Exception:
                logger.exception("could not announce the queues going offline")
            # The last delivery cursors move only if the server returns an echo sent
            # after everything else. The stream close below proves nothing: slixmpp's
            # disconnect() returns just the same when the server never answered it.
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(_STOP_TIMEOUT):
                    await self._notifier.stop()
        if self._link.connected:
            # Whatever the server sent us before closing is already in the lanes below.
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(_STOP_TIMEOUT):
                    await component.disconnect(wait=2.0)
        else:
            # Possibly mid-handshake: no stream to close politely, just a socket.
            component.cancel_connection_attempt()
            component.abort()
        if self.standby is not None:
            await self.standby.stop()
        self._link.detach()
        self._ready.clear()
        # Agents' stanzas already received are stored before we go (their replies
        # cannot be sent any more; events they cause are replayed on the next start).
        await self._lanes.close(grace=_STOP_TIMEOUT)
        self._publisher.unsubscribe(self._subscriber)
        await component.close()
        # Anything sent after the last echo is not confirmed: dropped, replayed next start.
        await self._notifier.stop()
        if self._owned is not None:
            # After the last cursors: the next owner starts from them.
            await self._owned.stop()
        logger.info("XMPP component %s stopped", self._settings.component_jid)

    async def _claim(self, conversation_ids: Iterable[ConversationId]) -> set[ConversationId]:
        assert self._owned is not None
        return await self._owned.claim(conversation_ids)

    # -- connection loop --------------------------------------------------------------

    async def _run(self) -> None:
        backoff = Backoff(self._settings, self._random)
        while True:
            self._slot_asked = False
            good = await self._session()
            delay = backoff.next(good=good, slot_asked=self._slot_asked)
            logger.info("XMPP component: next connection attempt in %.1f s", delay)
            await asyncio.sleep(delay)

    async def _session(self) -> bool:
        """One connection attempt and, if the handshake succeeds, the whole session.

        Returns whether the session was a good one (lasted ``_STABLE_SESSION``), after
        which the backoff starts again from the minimum.
        """
        component = self._component
        assert component is not None
        settings = self._settings
        loop = asyncio.get_running_loop()
        started: asyncio.Future[str] = loop.create_future()
        ended: asyncio.Future[str] = loop.create_future()
        self._started, self._ended = started, ended
        logger.info(
            "connecting XMPP component %s to %s:%d",
            settings.component_jid,
            settings.host,
            settings.port,
        )
        component.connect(settings.host, settings.port)
        await asyncio.wait(
            {started, ended},
            timeout=settings.handshake_timeout,
            return_when=asyncio.FIRST_COMPLETED,
        )
        if not started.done():
            reason = ended.result() if ended.done() else "no handshake in time"
            logger.warning(
                "XMPP component %s could not connect to %s:%d: %s",
                settings.component_jid,
                settings.host,
                settings.port,
                reason,
            )
            # Stop slixmpp's own retry loop (our backoff decides) and drop a half-open link.
            component.cancel_connection_attempt()
            component.abort()
            return False
        started_at = loop.time()
        if self.standby is not None:
            if not await claim_slot(component, self._probes):
                self._slot_asked = True
                component.abort()  # a stand-in gives our slot back; reconnect to take it
                await ended
                return False
            if not ended.done():
                # Only now, with the slot's address known: a delivery echo sent from
                # another slot's address (the last session's, or the domain's own) would
                # come back to whichever process holds that slot, and the link would be
                # dropped. What the engine answers to stanzas read before (one probe's
                # round trip) is not sent, as on a link that is down.
                self._link.attach(ComponentSender(component))
        if ended.done():
            # Lost already (while claiming its slot, or in the same read as the
            # handshake): nothing to catch up on a link that is down.
            logger.warning(
                "XMPP component %s lost its link: %s", settings.component_jid, ended.result()
            )
            return False
        await self._catch_up(self._link.generation)
        reason = await ended
        logger.warning("XMPP component %s lost its link: %s", settings.component_jid, reason)
        return loop.time() - started_at >= _STABLE_SESSION

    async def _catch_up(self, generation: int) -> None:
        """Announce the queues and replay missed events; retried while the link lasts,
        since a database hiccup here would otherwise strand events until the next reconnect."""
        attempt = 0
        while self._link.generation == generation:
            try:
                await self._roster.on_connected()
                self._restart_presence_expiry(generation)
                await self._notifier.replay()
            except Exception:
                logger.exception("could not catch up after connecting; retrying")
                await asyncio.sleep(
                    reconnect_delay(
                        attempt,
                        min_delay=self._settings.reconnect_min_delay,
                        max_delay=self._settings.reconnect_max_delay,
                        random=self._random,
                    )
                )
                attempt += 1
                continue
            if self._link.generation == generation:
                self._ready.set()
                logger.info("XMPP component %s connected", self._settings.component_jid)
            return

    def _restart_presence_expiry(self, generation: int) -> None:
        """One timer per link session, counting from the last probe: every successful
        ``on_connected`` forgets who answered and probes again, so an earlier timer
        would expire agents whose answers to the new probe are not even due yet."""
        if self._presence_expiry is not None:
            self._presence_expiry.cancel()
        self._presence_expiry = self._spawn(self._expire_presence_later(generation))

    async def _expire_presence_later(self, generation: int) -> None:
        await asyncio.sleep(self._settings.presence_relearn_timeout)
        if self._link.generation == generation:
            await self._roster.expire_unconfirmed()

    def _spawn(self, coro: Coroutine[object, object, None]) -> asyncio.Task[None]:
        task = asyncio.create_task(coro)
        self._side_tasks.add(task)
        task.add_done_callback(self._side_task_done)
        return task

    def _side_task_done(self, task: asyncio.Task[None]) -> None:
        self._side_tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            logger.error("background task failed", exc_info=task.exception())

    # -- component events (synchronous, from slixmpp) ---------------------------------

    def _on_stanza(self, stanza: Stanza) -> None:
        try:
            received = stanza_to_custom(stanza, self._link.addressing)
        except Exception:
            logger.exception("could not read an inbound stanza")
            return
        if received is None:
            return
        self._lanes.submit(lane_of(received), functools.partial(self._inbound.dispatch, received))

    def _on_session_start(self) -> None:
        component = self._component
        assert component is not None
        if self.standby is None:  # with stand-ins: once the slot is claimed (``_session``)
            self._link.attach(ComponentSender(component))
        if self._started is not None and not self._started.done():
            self._started.set_result("started")

    def _on_disconnected(self, reason: object) -> None:
        self._link.detach()
        self._ready.clear()
        if not self._stopping:
            self._notifier.on_link_lost()
        self._roster.on_disconnected()
        if self._presence_expiry is not None:
            self._presence_expiry.cancel()
            self._presence_expiry = None
        if self._ended is not None and not self._ended.done():
            self._ended.set_result(str(reason or "disconnected"))

    def _on_connection_failed(self, reason: object) -> None:
        if self._ended is not None and not self._ended.done():
            self._ended.set_result(str(reason or "connection failed"))

    def _on_stream_error(self, error: Stanza) -> None:
        # conflict: another engine holds this component domain; not-authorized: the
        # secret is wrong. Either way the server closes the stream and we back off.
        logger.error(
            "XMPP server closed the component stream of %s: %s",
            self._settings.component_jid,
            stream_error_text(error),
        )


class _Handlers:
    """``ComponentEvents`` for the bridge, keeping those callbacks off its public API."""

    def __init__(self, bridge: XmppBridge) -> None:
        self._bridge = bridge

    def on_stanza(self, stanza: Stanza) -> None:
        self._bridge._on_stanza(stanza)

    def on_session_start(self) -> None:
        self._bridge._on_session_start()

    def on_disconnected(self, reason: object) -> None:
        self._bridge._on_disconnected(reason)

    def on_connection_failed(self, reason: object) -> None:
        self._bridge._on_connection_failed(reason)

    def on_stream_error(self, error: Stanza) -> None:
        self._bridge._on_stream_error(error)
