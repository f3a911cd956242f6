"""The component writes the first write of a turn of the event loop at once and joins the
others of that turn into one system call at its end."""

from __future__ import annotations

import asyncio

import pytest
from slixmpp.xmlstream.xmlstream import NotConnectedError

from tests.xmpp_bridge.support import unconnected_component


class _Transport(asyncio.Transport):
    def __init__(self) -> None:
        super().__init__()
        self.writes: list[bytes] = []
        self.closing = False

    def write(self, data: bytes | bytearray | memoryview) -> None:
        self.writes.append(bytes(data))

    def is_closing(self) -> bool:
        return self.closing


async def test_the_first_write_of_a_turn_goes_at_once_the_others_in_one_write_in_order() -> None:
    component = unconnected_component()
    transport = component.transport = _Transport()
    component.send_raw("<message id='1'/>")
    assert transport.writes == [b"<message id='1'/>"], "a lone stanza waited for the turn"
    component.send_raw(b"<message id='2'/>")
    component.send_raw("<message id='3'>é</message>")
    assert transport.writes[1:] == [], "written before the turn ended"
    await asyncio.sleep(0)
    assert transport.writes[1:] == ["<message id='2'/><message id='3'>é</message>".encode()]
    component.send_raw("<iq id='4'/>")  # a new turn: at once again
    assert transport.writes[2:] == [b"<iq id='4'/>"]
    await asyncio.sleep(0)
    assert len(transport.writes) == 3, "an empty join was written"


async def test_what_was_joined_for_a_lost_connection_is_not_written_to_the_next() -> None:
    component = unconnected_component()
    old = component.transport = _Transport()
    component.send_raw("<message id='1'/>")
    component.send_raw("<message id='2'/>")
    new = component.transport = _Transport()
    await asyncio.sleep(0)
    assert old.writes == [b"<message id='1'/>"]
    assert new.writes == []
    closing = component.transport = _Transport()
    component.send_raw("<message id='3'/>")
    component.send_raw("<message id='4'/>")
    closing.closing = True
    await asyncio.sleep(0)
    assert closing.writes == [b"<message id='3'/>"]


async def test_without_a_connection_a_write_is_refused_at_once() -> None:
    component = unconnected_component()
    component.transport = None
    with pytest.raises(NotConnectedError):
        component.send_raw("<message/>")


async def test_the_first_write_of_a_turn_to_a_closing_connection_is_dropped() -> None:
    # Aborted: asyncio would only count the write and log it after a few.
    component = unconnected_component()
    closing = component.transport = _Transport()
    closing.closing = True
    component.send_raw("<message id='1'/>")
    component.send_raw("<message id='2'/>")
    await asyncio.sleep(0)
    assert closing.writes == []
