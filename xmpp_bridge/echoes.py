"""Echoes: what proves the server has read everything the component sent before.

The link is one ordered stream, and the server routes a stanza addressed to the
component's own domain back to it: so once an ``<iq type="result"/>`` the component sent
to itself comes back, the server has read every stanza written before it. That is what
moves the delivery cursors (``xmpp_bridge.cursors``).

A ping (XEP-0199) to its own address did the same with more on the way: the ping came
back as a request the component answered, and the answer made a second trip through the
server and this process's input; it went out through slixmpp's send task and was waited
for by a task of its own. Under load every one of those steps waits for a turn of the
event loop behind everything else ready to run: at 1,000 visitors (``bench.roundtrip``)
about 0.5 s from the flush to the answer, where the server itself answered within
0.1 to 0.2 s. An echo makes one trip, leaves with the writes of the turn that sends it, and
is resolved as it is read: its waiter runs in the next turn.

An echo counts only when it comes back from the address it was sent from (the server
stamps the sender of whatever agents send, so nobody else can forge one), with an id
that only this process knows the prefix of.
"""

from __future__ import annotations

import asyncio
import itertools
import secrets
from xml.sax.saxutils import quoteattr

from slixmpp import JID
from slixmpp.jid import InvalidJID

from xmpp_bridge.converters import Stanza

IQ_TAG = "{jabber:component:accept}iq"


class Echoes:
    """The echoes out on the link, by id; ``returned`` resolves them as they come back."""

    def __init__(self) -> None:
        self.prefix = f"echo-{secrets.token_hex(6)}-"
        self._ids = itertools.count(1)
        self._waiting: dict[str, tuple[str, asyncio.Future[bool]]] = {}

    def new(
        self, address: str, loop: asyncio.AbstractEventLoop
    ) -> tuple[str, asyncio.Future[bool]]:
        """The text of an echo to and from ``address``, and the future it resolves with
        True when it comes back. Cancelling or resolving the future forgets the echo."""
        ident = f"{self.prefix}{next(self._ids)}"
        future: asyncio.Future[bool] = loop.create_future()
        self._waiting[ident] = (address, future)
        future.add_done_callback(lambda _: self._waiting.pop(ident, None))
        quoted = quoteattr(address)
        return f'<iq type="result" id="{ident}" to={quoted} from={quoted}/>', future

    def returned(self, stanza: Stanza) -> bool:
        """Whether ``stanza`` is one of this process's echoes (resolved, if still
        awaited): such a stanza is for nothing else to handle."""
        xml = stanza.xml
        if xml.tag != IQ_TAG:
            return False
        ident = xml.get("id")
        if ident is None or not ident.startswith(self.prefix):
            return False
        waiting = self._waiting.get(ident)
        if waiting is None:
            return True  # given up on (timed out, link lost): nothing to resolve
        address, future = waiting
        sender = xml.get("from")
        if sender != address and not _same_address(sender, address):
            return False  # not from where it was sent: not ours, whatever its id says
        if not future.done():
            future.set_result(True)
        return True

    @property
    def pending(self) -> int:
        """How many echoes are out and still awaited."""
        return len(self._waiting)

    def abandon(self) -> None:
        """The connection is gone: no echo out on it will come back."""
        for _, future in list(self._waiting.values()):
            if not future.done():
                future.set_result(False)


def _same_address(sender: str | None, address: str) -> bool:
    """Whether ``sender`` is ``address`` written another way (a server may normalise
    the case of what it routes back)."""
    if sender is None:
        return False
    try:
        return bool(JID(sender) == JID(address))
    except InvalidJID:
        return False
