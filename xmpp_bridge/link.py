"""The component link as the rest of the bridge sees it: up (with a sender) or down."""

from __future__ import annotations

import asyncio
import logging
from typing import Protocol

from xmpp_bridge.addresses import Addressing
from xmpp_bridge.converters import Stanza, custom_to_stanza, fits, serialised_size
from xmpp_bridge.custom import Outbound
from xmpp_bridge.settings import DEFAULT_STANZA_BUDGET

logger = logging.getLogger(__name__)

PING_PATIENCE = 3
"""How many ping timeouts ``Link.round_trip`` waits in all while the server keeps
sending (its answer queues behind what it sent before; see ``Link.round_trip``)."""


class StanzaTooLarge(Exception):  # noqa: N818 - the name the bridge agreed on
    """A stanza is over the per-stanza byte budget: nothing of the item was sent.

    Raised by ``Link.send`` before anything reaches the socket. The server would close
    the connection for such a stanza and the replay after reconnecting would send it
    first again, cutting every agent off, so the caller must not retry the item: park
    it, tell the agent, and carry on. The converters keep stanzas within the budget,
    so this means an input they could not shorten (an address thousands of bytes long).
    ``size`` and ``budget`` are in bytes, when known.
    """

    def __init__(
        self, message: str = "", *, size: int | None = None, budget: int | None = None
    ) -> None:
        super().__init__(message or f"stanza of {size} bytes is over the budget of {budget}")
        self.size = size
        self.budget = budget


class StanzaSender(Protocol):
    def send(self, stanza: Stanza) -> None:
        """Hand a stanza to the connection; must not block or raise for a dead link."""
        ...

    def echo(self) -> asyncio.Future[bool]:
        """Send something the server returns, after every earlier stanza; the future
        turns True when it is back (``xmpp_bridge.echoes``). Whoever awaits it times
        it out."""
        ...

    @property
    def received(self) -> int:
        """How many stanzas arrived from the server on this session so far."""
        ...

    def abort(self) -> None:
        """Drop the connection now (it looks alive but does not answer)."""
        ...


class Link:
    """Converts outbound values to stanzas and sends them while the link is up.

    ``generation`` changes whenever the link goes up or down, so code that awaited
    something can tell whether it is still talking to the same session before sending.
    While down, ``send`` sends nothing and says so: slixmpp would silently drop or
    queue the stanzas for a session that may never come, so callers keep their own
    record of what still has to go out.
    """

    def __init__(
        self,
        addressing: Addressing,
        *,
        stanza_budget: int = DEFAULT_STANZA_BUDGET,
        ping_patience: int = PING_PATIENCE,
    ) -> None:
        self.addressing = addressing
        self.stanza_budget = stanza_budget
        self.ping_patience = ping_patience
        self._sender: StanzaSender | None = None
        self._generation = 0
        self._echoes: set[asyncio.Future[bool]] = set()
        """The echoes ``round_trip`` awaits: a lost link answers them False."""

    @property
    def connected(self) -> bool:
        return self._sender is not None

    @property
    def generation(self) -> int:
        return self._generation

    def attach(self, sender: StanzaSender) -> None:
        self._sender = sender
        self._generation += 1

    def detach(self) -> None:
        if self._sender is not None:
            self._sender = None
            self._generation += 1
            for echo in self._echoes:
                if not echo.done():
                    echo.set_result(False)

    async def round_trip(self, timeout: float) -> bool:
        """Whether the server confirmed receiving everything sent so far on this link.

        False at once when the link is down or goes down meanwhile, so nobody waits
        out a timeout for a session that is already gone.

        It sends an echo (``xmpp_bridge.echoes``; a ping, in the log's words) and waits
        for it. One not back within ``timeout`` is backpressure, not a dead link, while
        stanzas kept arriving from the server meanwhile: it queues behind them in our
        own input, which a busy engine reads late. Then the wait goes on, one
        ``timeout`` at a time, up to ``ping_patience`` timeouts in all. False once the
        server was silent for a whole ``timeout`` or that bound is reached.
        """
        sender = self._sender
        if sender is None:
            return False
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout * max(1, self.ping_patience)
        echo = sender.echo()
        heard = sender.received
        timer: asyncio.TimerHandle | None = None

        def window_over() -> None:
            # No task per echo and no asyncio.wait: the waiter runs in the turn after
            # the one that reads the echo (``xmpp_bridge.echoes``), not three turns later.
            nonlocal heard, timer
            if echo.done():
                return
            left = deadline - loop.time()
            if sender.received == heard:
                echo.set_result(False)  # silent for a whole window
            elif left <= 0:
                logger.warning(
                    "XMPP server kept sending but did not answer a ping within %.0f s",
                    timeout * max(1, self.ping_patience),
                )
                echo.set_result(False)
            else:
                logger.info(
                    "XMPP server busy: no ping answer yet, but %d stanzas came meanwhile; "
                    "still waiting",
                    sender.received - heard,
                )
                heard = sender.received
                timer = loop.call_later(min(timeout, left), window_over)

        timer = loop.call_later(min(timeout, deadline - loop.time()), window_over)
        self._echoes.add(echo)
        try:
            return await echo
        finally:
            if timer is not None:
                timer.cancel()
            self._echoes.discard(echo)
            if not echo.done():
                echo.cancel()  # this wait was cancelled: nobody awaits the echo any more

    def abort(self) -> None:
        """Drop a link that looks up but does not answer; the bridge reconnects."""
        sender = self._sender
        if sender is not None:
            sender.abort()

    def send(self, item: Outbound) -> bool:
        """Send the stanzas for ``item``; False (and nothing sent) if the link is down.

        Raises ``StanzaTooLarge`` (and sends nothing of ``item``) if one of its stanzas
        is over ``stanza_budget`` bytes.
        """
        sender = self._sender
        if sender is None:
            return False
        stanzas = custom_to_stanza(item, self.addressing, budget=self.stanza_budget)
        for stanza in stanzas:
            if not fits(stanza, self.stanza_budget):
                size = serialised_size(stanza)
                raise StanzaTooLarge(
                    f"a {type(item).__name__} made a stanza of {size} bytes, "
                    f"over the budget of {self.stanza_budget}",
                    size=size,
                    budget=self.stanza_budget,
                )
        for stanza in stanzas:
            sender.send(stanza)
        return True
