"""The component link as the rest of the bridge sees it: up (with a sender) or down."""

from __future__ import annotations

import asyncio
import logging
from typing import Protocol

from xmpp_bridge.addresses import Addressing
from xmpp_bridge.converters import Stanza, custom_to_stanza
from xmpp_bridge.custom import Outbound

logger = logging.getLogger(__name__)


class StanzaSender(Protocol):
    def send(self, stanza: Stanza) -> None:
        """Hand a stanza to the connection; must not block or raise for a dead link."""
        ...

    async def round_trip(self, timeout: float) -> bool:
        """True once the server answered something sent after every earlier stanza."""
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

    def __init__(self, addressing: Addressing) -> None:
        self.addressing = addressing
        self._sender: StanzaSender | None = None
        self._generation = 0
        self._lost = asyncio.Event()

    @property
    def connected(self) -> bool:
        return self._sender is not None

    @property
    def generation(self) -> int:
        return self._generation

    def attach(self, sender: StanzaSender) -> None:
        self._sender = sender
        self._generation += 1
        self._lost = asyncio.Event()

    def detach(self) -> None:
        if self._sender is not None:
            self._sender = None
            self._generation += 1
            self._lost.set()

    async def round_trip(self, timeout: float) -> bool:
        """Whether the server confirmed receiving everything sent so far on this link.

        False at once when the link is down or goes down meanwhile, so nobody waits
        out a timeout for a session that is already gone.
        """
        sender = self._sender
        if sender is None:
            return False
        ping = asyncio.ensure_future(sender.round_trip(timeout))
        lost = asyncio.ensure_future(self._lost.wait())
        try:
            await asyncio.wait({ping, lost}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in (ping, lost):
                task.cancel()
        return ping.done() and not ping.cancelled() and ping.exception() is None and ping.result()

    def abort(self) -> None:
        """Drop a link that looks up but does not answer; the bridge reconnects."""
        sender = self._sender
        if sender is not None:
            sender.abort()

    def send(self, item: Outbound) -> bool:
        """Send the stanzas for ``item``; False (and nothing sent) if the link is down."""
        sender = self._sender
        if sender is None:
            return False
        for stanza in custom_to_stanza(item, self.addressing):
            sender.send(stanza)
        return True
