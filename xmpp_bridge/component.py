"""The slixmpp component: registers handlers and forwards to the bridge, nothing else."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any, Protocol

from slixmpp import ComponentXMPP
from slixmpp.xmlstream.handler import Callback
from slixmpp.xmlstream.handler.base import BaseHandler
from slixmpp.xmlstream.matcher import MatchXPath
from slixmpp.xmlstream.xmlstream import NotConnectedError

from xmpp_bridge.converters import Stanza, written_text
from xmpp_bridge.echoes import Echoes
from xmpp_bridge.handler_matching import UNUSED_HANDLERS, quicker
from xmpp_bridge.settings import BridgeSettings


class ComponentEvents(Protocol):
    """What the component reports; all called synchronously from slixmpp's loop."""

    def on_stanza(self, stanza: Stanza) -> None: ...

    def on_session_start(self) -> None: ...

    def on_disconnected(self, reason: object) -> None: ...

    def on_connection_failed(self, reason: object) -> None: ...

    def on_stream_error(self, error: Stanza) -> None: ...


# slixmpp's roster answers subscriptions and probes by itself: with auto_authorize it
# accepts anybody, and a probe from a contact it does not remember (all of them, after
# a restart) gets ``unsubscribed``, which cancels the agent's subscription. The bridge
# keeps that state in the database and answers itself, so these handlers go.
_ROSTER_HANDLERS = (
    ("presence_available", "_handle_available"),
    ("presence_dnd", "_handle_available"),
    ("presence_xa", "_handle_available"),
    ("presence_chat", "_handle_available"),
    ("presence_away", "_handle_available"),
    ("presence_unavailable", "_handle_unavailable"),
    ("presence_subscribe", "_handle_subscribe"),
    ("presence_subscribed", "_handle_subscribed"),
    ("presence_unsubscribe", "_handle_unsubscribe"),
    ("presence_unsubscribed", "_handle_unsubscribed"),
    ("roster_subscription_request", "_handle_new_subscription"),
    ("presence_probe", "_handle_probe"),
)


class ChatComponent(ComponentXMPP):
    """One XEP-0114 connection for ``settings.component_jid``.

    Must be built inside the running event loop (slixmpp creates futures in
    ``__init__``). One instance serves every reconnect: slixmpp starts a send task per
    instance that only ``close`` ends.
    """

    _send_loop: asyncio.Task[None] | None = None
    _unwritten: list[bytes]
    """What was sent in this turn of the event loop after its first write."""
    _turn_ends: asyncio.Handle | None = None
    """The call that writes ``_unwritten`` when this turn ends; None: nothing was
    written in this turn yet."""
    _filters_out = False
    """Whether an outgoing filter was registered (see ``send_stanza``)."""
    _made = False
    ping_address: str | None = None
    """Where delivery echoes (``xmpp_bridge.echoes``) go to and from; the component
    domain itself when None. With ejabberd's ``domain_balancing`` the domain's own
    address hashes to one process's slot, so each connection echoes from an address of
    its own slot
    (``xmpp_bridge.standby_link.ProbeBook.own_address``)."""
    received = 0
    """Stanzas read from the server so far (over every session): counted before any
    handler runs, so a reply that queues behind them still shows the server alive."""

    def __init__(self, *, settings: BridgeSettings, events: ComponentEvents) -> None:
        super().__init__(  # type: ignore[no-untyped-call]
            settings.component_jid, settings.secret, settings.host, settings.port
        )
        # Disco answers feature queries; chat states (XEP-0085) advertise themselves there.
        self.register_plugin("xep_0030")
        self.register_plugin("xep_0085")
        # Answers the pings of clients and servers (delivery is proved by echoes).
        self.register_plugin("xep_0199", {"keepalive": False})
        for name in UNUSED_HANDLERS:
            self.remove_handler(name)
        self.auto_authorize = None
        self.auto_subscribe = False
        for event, method in _ROSTER_HANDLERS:
            self.del_event_handler(event, getattr(self, method))
        ns = self.default_ns
        self.register_handler(
            Callback("chat engine message", MatchXPath(f"{{{ns}}}message"), events.on_stanza)
        )
        self.register_handler(
            Callback("chat engine presence", MatchXPath(f"{{{ns}}}presence"), events.on_stanza)
        )
        self.add_event_handler("session_start", lambda _: events.on_session_start())
        self.add_event_handler("disconnected", events.on_disconnected)
        self.add_event_handler("connection_failed", events.on_connection_failed)
        self.add_event_handler("stream_error", events.on_stream_error)
        self._unwritten = []
        self._echoes = Echoes()
        self.add_filter("in", self._count_received)
        self.add_event_handler("disconnected", lambda _: self._echoes.abandon())
        self._made = True

    def register_handler(
        self,
        handler: BaseHandler,
        before: BaseHandler | None = None,
        after: BaseHandler | None = None,
    ) -> None:
        """slixmpp's, with a stanza path tested name first
        (``xmpp_bridge.handler_matching``)."""
        super().register_handler(quicker(handler), before, after)

    def _count_received(self, stanza: Stanza) -> Stanza | None:
        self.received += 1
        return None if self._echoes.returned(stanza) else stanza

    def echo(self) -> asyncio.Future[bool]:
        """Send an echo (``xmpp_bridge.echoes``) after everything sent so far; the
        future turns True when it is back, False if the connection is lost first or
        there is no session to send it on.

        Through slixmpp's send queue whenever an outgoing filter is registered: its
        send task may be holding a stanza taken from the queue while an asynchronous
        filter runs, and the queue, empty meanwhile, would let the echo overtake it
        (slixmpp itself sends on past a filter that takes over a second). None is
        registered by the engine today."""
        address = self.ping_address or str(self.boundjid)
        text, future = self._echoes.new(address, self.loop)
        if not (self._session_started and self.transport):
            future.set_result(False)
        else:
            self._send_text(text)
        return future

    def send_stanza(self, stanza: Stanza) -> None:
        """In order with everything else sent; a stanza already written
        (``converters.written_text``) as its text, unless an outgoing filter is
        registered (slixmpp runs those on stanza objects only).

        Written text goes straight to this turn's writes (``send_raw``: the first at
        once, the rest joined) when slixmpp's send queue holds nothing that must go
        first: through the queue it would wait a turn of the event loop for slixmpp's
        send task, then another for the join, behind everything else ready to run (a
        visitor's message waited about 0.18 ms there before it left for the agent,
        ``bench.roundtrip`` at K = 1). A stanza object, or anything while the queue is
        not empty (which must go first), goes through the queue as before."""
        text = None if self._filters_out else written_text(stanza)
        if text is None:
            self.send(stanza)
        else:
            self._send_text(text)

    def _send_text(self, text: str) -> None:
        """Straight to this turn's writes unless something must go first: anything in
        slixmpp's send queue, or what an outgoing filter may hold (see ``echo``)."""
        direct = self._session_started and self.transport and not self._filters_out
        if direct and self.waiting_queue.empty():
            self.send_raw(text)
        else:
            self.send(text)

    def add_filter(self, mode: Any, handler: Any, order: int | None = None) -> None:
        """slixmpp's, noting whether an outgoing filter is registered once the
        component is made. The one slixmpp registers itself as it is made (its roster
        keeping the last presence sent) looks at presences only, never at messages."""
        if self._made and str(mode).startswith("out"):
            self._filters_out = True
        super().add_filter(mode, handler, order)

    def send_raw(self, data: str | bytes) -> None:
        """slixmpp's ``send_raw``, with the writes of one turn of the event loop joined:
        the first goes out at once, those after it in the same turn wait for its end
        and go in one write. A group commit hands the bridge a batch of messages, and
        each would otherwise be a ``send`` system call of its own (the biggest single
        cost of the event loop under load), which costs one more call per turn than
        joining them all; holding the first for the turn's end too kept a lone
        message from the agent for everything else the turn did (about 0.07 ms,
        ``bench.roundtrip`` at K = 1). What was joined for a connection that is gone by
        the turn's end is dropped, as a write to it would be."""
        transport = self.transport
        if not transport:
            raise NotConnectedError()
        encoded = data.encode() if isinstance(data, str) else data
        if self._turn_ends is None:
            self._turn_ends = self.loop.call_soon(self._write_joined, transport)
            if not transport.is_closing():  # aborted: dropped, as a write to it would be
                transport.write(encoded)
        else:
            self._unwritten.append(encoded)

    def _write_joined(self, transport: asyncio.WriteTransport) -> None:
        self._turn_ends = None
        if not self._unwritten:
            return
        data = b"".join(self._unwritten)
        self._unwritten.clear()
        if transport is self.transport and not transport.is_closing():
            transport.write(data)

    async def run_filters(self) -> None:
        """slixmpp's send loop, which ``connect`` starts as a task of its own.

        slixmpp ends that task only in ``__del__``, which the task's own reference to
        this instance prevents; knowing the task from inside lets ``close`` end it
        without reaching into slixmpp's private state.
        """
        self._send_loop = asyncio.current_task()
        await super().run_filters()

    async def close(self) -> None:
        """End the send task (after the stream is closed: nothing is sent any more)."""
        task, self._send_loop = self._send_loop, None
        if task is not None and not task.done():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task


class ComponentSender:
    """``StanzaSender`` over a connected component."""

    def __init__(self, component: ChatComponent) -> None:
        self._component = component
        self._received_before = component.received

    @property
    def received(self) -> int:
        """Stanzas read from the server since this session started."""
        return self._component.received - self._received_before

    def send(self, stanza: Stanza) -> None:
        self._component.send_stanza(stanza)

    def echo(self) -> asyncio.Future[bool]:
        return self._component.echo()

    def abort(self) -> None:
        self._component.abort()
