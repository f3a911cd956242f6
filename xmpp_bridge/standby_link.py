"""Stand-in component connections for the slots of engine processes that died (ejabberd).

With ``domain_balancing: bare_destination`` ejabberd 23.01 spreads the component domain
over ``component_number`` slots. A connection takes a free slot when it completes its
handshake and frees it when it goes; a stanza whose bare destination hashes to a free
slot is dropped without an error (see ``chat_engine.ejabberd``). A connection made while
every slot is taken is accepted but gets nothing, and it does not move into a slot that
frees later. So when an engine process is killed its share of conversations would stay
cut off until some connection completes a handshake again.

``StandbyLinks`` makes sure one does: every ``standby_interval`` seconds (while the main
link is up) it opens a stand-in connection and sends it ``PROBES`` messages to random
addresses of the domain. If any comes back to the stand-in, it holds a slot, which was
free: it stays, and feeds what it receives to the bridge's own inbound handler (replies
go out over the main link: any connection may send for the domain). If none comes back
in ``PROBE_TIMEOUT`` seconds every slot was taken, and it closes again. Probes that land
on other processes' connections are dropped there by ``drop_probes``.

Off by default (``xmpp.standby_links``): Prosody allows one connection per component
domain, and a second one is refused with ``conflict``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
from collections.abc import Callable
from typing import Any

from slixmpp.xmlstream.xmlstream import NotConnectedError

from xmpp_bridge.component import ChatComponent
from xmpp_bridge.converters import Stanza
from xmpp_bridge.settings import BridgeSettings

logger = logging.getLogger(__name__)

PROBE_NS = "urn:x-chat-engine:slot-probe:0"
PROBES = 32
"""Probe messages per attempt, to random addresses: with N slots the chance that none
lands on a given one is (1 - 1/N)^32 (1 in 400 000 for three, 1.4 % for eight)."""
PROBE_TIMEOUT = 3.0
"""How long a stand-in waits for one of its probes (generous: the machine may be busy)."""
MAX_STANDINS = 4
"""At most this many stand-ins per process, however many peers died."""


def probe_xml(component_jid: str, token: str, index: int, kind: str = "probe") -> str:
    return (
        f"<message to='slot-probe-{token}-{index}@{component_jid}' from='{component_jid}'>"
        f"<{kind} xmlns='{PROBE_NS}' token='{token}'/></message>"
    )


class ProbeBook:
    """The ``in`` filter of one component connection: drops every probe (they are not
    chat traffic), notes those this connection waits for, and reports a peer's request
    to give a slot back (``on_yield``)."""

    def __init__(self, on_yield: Callable[[], None] | None = None) -> None:
        self._waiting: dict[str, asyncio.Future[str]] = {}
        self._on_yield = on_yield

    def filter(self, stanza: Stanza | None) -> Stanza | None:
        if stanza is None:
            return None
        element = stanza.xml.find(f"{{{PROBE_NS}}}probe")
        if element is None:
            if stanza.xml.find(f"{{{PROBE_NS}}}yield") is None:
                return stanza
            if self._on_yield is not None:
                self._on_yield()
            return None
        waiting = self._waiting.get(element.get("token", ""))
        if waiting is not None and not waiting.done():
            waiting.set_result(str(stanza["to"].bare))
        return None

    async def own_address(
        self, component: ChatComponent, component_jid: str, timeout: float | None = None
    ) -> str | None:
        """An address of the domain whose stanzas reach this connection (its slot), or
        None if none came back within ``timeout`` (``PROBE_TIMEOUT`` when None): the
        connection holds no slot."""
        timeout = PROBE_TIMEOUT if timeout is None else timeout
        token = secrets.token_hex(8)
        found: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        self._waiting[token] = found
        try:
            for index in range(PROBES):
                component.send_raw(probe_xml(component_jid, token, index))
            async with asyncio.timeout(timeout):
                return await found
        except TimeoutError:
            return None
        finally:
            del self._waiting[token]


def ask_to_yield(component: ChatComponent, component_jid: str) -> None:
    """Ask whoever holds a slot with a stand-in to give it back (sent to random
    addresses: every slot gets some with near certainty; main connections ignore it)."""
    token = secrets.token_hex(8)
    for index in range(PROBES):
        component.send_raw(probe_xml(component_jid, token, index, kind="yield"))


async def claim_slot(component: ChatComponent, probes: ProbeBook) -> bool:
    """Whether the main connection holds a slot, and if so its delivery echoes go from
    an address of that slot (the domain's own address may hash to another process's).
    If not, a stand-in holds the slot it would take: this asks for it back, and the
    caller reconnects."""
    jid = component.boundjid.bare
    try:
        component.ping_address = await probes.own_address(component, jid)
        if component.ping_address is not None:
            return True
        logger.warning("XMPP component %s got no slot; asking a stand-in to give one back", jid)
        ask_to_yield(component, jid)
    except NotConnectedError:
        # Lost right after the handshake: no slot to speak of; the caller reconnects
        # (raising would end the bridge's connection loop for good).
        return False
    await asyncio.sleep(0.2)  # the request leaves before the connection does
    return False


class _StandIn:
    """One stand-in connection's ``ComponentEvents``: what it receives goes to the
    bridge's inbound handler."""

    def __init__(self, on_stanza: Callable[[Stanza], None]) -> None:
        self._on_stanza = on_stanza
        self.started: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.gone = asyncio.Event()

    def on_stanza(self, stanza: Stanza) -> None:
        self._on_stanza(stanza)

    def on_session_start(self) -> None:
        if not self.started.done():
            self.started.set_result(None)

    def on_disconnected(self, reason: object) -> None:
        self.gone.set()

    def on_connection_failed(self, reason: object) -> None:
        self.gone.set()

    def on_stream_error(self, error: Stanza) -> None:
        logger.warning("the server closed a stand-in component stream: %s", error)


class StandbyLinks:
    """Takes over free component slots with stand-in connections (see the module)."""

    def __init__(
        self,
        *,
        settings: BridgeSettings,
        on_stanza: Callable[[Stanza], None],
        prepare: Callable[[ChatComponent], object],
        main_connected: Callable[[], bool],
        interval: float,
        probe_timeout: float = PROBE_TIMEOUT,
    ) -> None:
        self._settings = settings
        self._on_stanza = on_stanza
        self._prepare = prepare
        self._main_connected = main_connected
        self._interval = interval
        self._probe_timeout = probe_timeout
        self._held: dict[ChatComponent, asyncio.Task[None]] = {}
        self._runner: asyncio.Task[None] | None = None
        self._quiet_until = 0.0
        self._watchers: set[asyncio.Task[None]] = set()

    @property
    def held(self) -> int:
        """How many free slots this process holds with stand-ins now."""
        return len(self._held)

    def start(self) -> None:
        self._runner = asyncio.create_task(self._run(), name="xmpp-standby")

    async def stop(self) -> None:
        """Close every stand-in (their slots free up for whoever is left)."""
        runner, self._runner = self._runner, None
        if runner is not None:
            runner.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await runner
        held, self._held = list(self._held), {}
        for watcher in list(self._watchers):
            watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await watcher
        for component in held:
            await _close(component)

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self._interval)
            if (
                not self._main_connected()
                or len(self._held) >= MAX_STANDINS
                or asyncio.get_running_loop().time() < self._quiet_until
            ):
                continue
            try:
                await self.try_once()
            except Exception:
                logger.exception("a stand-in component connection failed")

    async def try_once(self) -> bool:
        """Open a stand-in; keep it if it got a free slot. Returns whether it did."""
        settings = self._settings
        stand_in = _StandIn(self._on_stanza)
        component = ChatComponent(settings=settings, events=stand_in)
        probes = ProbeBook(on_yield=lambda: self._give_back(component))
        component.add_filter("in", probes.filter)
        self._prepare(component)
        component.connect(settings.host, settings.port)
        gone = asyncio.ensure_future(stand_in.gone.wait())
        waiters: set[asyncio.Future[Any]] = {stand_in.started, gone}
        try:
            async with asyncio.timeout(settings.handshake_timeout):
                await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
        except TimeoutError:
            pass
        finally:
            gone.cancel()
        if not stand_in.started.done() or stand_in.gone.is_set():
            component.cancel_connection_attempt()
            component.abort()
            await component.close()
            return False
        try:
            address = await probes.own_address(
                component, settings.component_jid, self._probe_timeout
            )
        except BaseException:  # lost meanwhile, or stopping: its send task must end too
            await _close(component)
            raise
        if address is None or stand_in.gone.is_set():
            await _close(component)
            return False
        logger.warning(
            "took over a free component slot of %s with a stand-in connection "
            "(an engine process is gone); %d held now",
            settings.component_jid,
            len(self._held) + 1,
        )
        watcher = asyncio.create_task(self._watch(component, stand_in))
        self._watchers.add(watcher)
        watcher.add_done_callback(self._watchers.discard)
        self._held[component] = watcher
        return True

    def _give_back(self, component: ChatComponent) -> None:
        """A process that came back found no slot for its own connection: free ours."""
        if self._held.pop(component, None) is not None:  # its watcher closes it
            # No new stand-in until the process that asked has had its reconnect: three
            # of its shortest backoffs. (A request reaches every stand-in: with two held
            # in the cluster both give theirs back, and one slot stays free this long.)
            grace = 3 * self._settings.reconnect_min_delay + self._interval
            self._quiet_until = asyncio.get_running_loop().time() + grace
            logger.warning(
                "giving a component slot of %s back to an engine process that came back",
                self._settings.component_jid,
            )
            component.abort()

    async def _watch(self, component: ChatComponent, stand_in: _StandIn) -> None:
        await stand_in.gone.wait()
        logger.warning("a stand-in component connection of %s closed", self._settings.component_jid)
        self._held.pop(component, None)
        await component.close()


async def _close(component: ChatComponent) -> None:
    with contextlib.suppress(Exception):
        async with asyncio.timeout(5.0):
            await component.disconnect(wait=1.0)
    component.abort()
    await component.close()
