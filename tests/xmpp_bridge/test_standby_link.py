"""The probes that find a connection's ejabberd slot (``xmpp_bridge.standby_link``):
what the filter keeps from the chat handlers and what it reports. The whole mechanism
runs against a real ejabberd in tests/e2e/test_ejabberd_failover.py."""

from __future__ import annotations

import asyncio
import contextlib
from xml.etree import ElementTree as ET

import pytest
from slixmpp.stanza import Message

from tests.harness import World
from tests.xmpp_bridge.component_server import ComponentServer
from tests.xmpp_bridge.support import SilentComponentEvents
from tests.xmpp_bridge.test_ping_backpressure_wire import bridge_and_server
from xmpp_bridge import XmppBridge, standby_link
from xmpp_bridge.component import ChatComponent
from xmpp_bridge.settings import BridgeSettings
from xmpp_bridge.standby_link import PROBE_NS, ProbeBook, StandbyLinks, claim_slot, probe_xml


def _stanza(xml: str) -> Message:
    element = ET.fromstring(xml.replace("<message ", "<message xmlns='jabber:component:accept' "))
    return Message(xml=element)  # type: ignore[no-untyped-call]


def test_probes_and_give_back_requests_never_reach_the_chat_handlers() -> None:
    asked: list[bool] = []
    book = ProbeBook(on_yield=lambda: asked.append(True))

    assert book.filter(_stanza(probe_xml("chat.localhost", "t1", 0))) is None
    assert book.filter(_stanza(probe_xml("chat.localhost", "t1", 1, kind="yield"))) is None
    assert asked == [True]
    chat = _stanza("<message to='c-1@chat.localhost' from='a@localhost'><body>hi</body></message>")
    assert book.filter(chat) is chat
    assert book.filter(None) is None


def test_a_probe_names_the_address_it_was_sent_to() -> None:
    element = _stanza(probe_xml("chat.localhost", "abc", 7)).xml.find(f"{{{PROBE_NS}}}probe")

    assert element is not None
    assert element.get("token") == "abc"
    assert _stanza(probe_xml("chat.localhost", "abc", 7))["to"].bare == (
        "slot-probe-abc-7@chat.localhost"
    )


async def test_a_link_lost_before_its_slot_is_probed_holds_no_slot() -> None:
    """The main connection's handshake succeeded and the link went at once: finding its
    slot says "none" (the bridge reconnects) instead of raising out of the bridge's
    connection loop, which would never reconnect again."""
    settings = BridgeSettings(component_jid="chat.localhost", secret="s" * 32, host="127.0.0.1")
    component = ChatComponent(settings=settings, events=SilentComponentEvents())
    try:
        assert component.transport is None  # the link is gone
        assert not await claim_slot(component, ProbeBook())
    finally:
        await component.close()


async def test_a_stand_in_stopped_while_it_probes_closes_its_connection() -> None:
    """The bridge stops while a stand-in waits for its probes: its connection (and
    slixmpp's send task) must not outlive it, holding an ejabberd slot nobody reads."""
    server = ComponentServer(secret="s" * 32)
    await server.start()
    settings = BridgeSettings(
        component_jid="chat.localhost", secret="s" * 32, host="127.0.0.1", port=server.port
    )
    links = StandbyLinks(
        settings=settings,
        on_stanza=lambda stanza: None,
        prepare=lambda component: None,
        main_connected=lambda: True,
        interval=60.0,
        probe_timeout=30.0,
    )
    try:
        attempt = asyncio.create_task(links.try_once())
        await server.wait_for(1)  # the probes are out: it waits for one to come back
        attempt.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await attempt
        await server.wait_until(lambda: not server.link_open)
    finally:
        await links.stop()
        await server.close()


def main_with_stand_ins(
    world: World,
) -> contextlib.AbstractAsyncContextManager[tuple[XmppBridge, ComponentServer]]:
    """A started bridge with ``standby_links`` (no stand-in tries within the test) and
    its fake server; its link is not up yet."""
    return bridge_and_server(world, connected=False, standby_links=True, standby_interval=60.0)


async def test_with_stand_ins_the_link_is_up_only_once_the_slot_is_known(world: World) -> None:
    """Delivery echoes go from an address of the connection's own slot; one sent before
    the slot is known (from the last session's, or the domain's own address) would come
    back to whichever process holds that slot, and the link would be dropped."""
    async with main_with_stand_ins(world) as (bridge, server):
        probes = await server.wait_for(1)  # the handshake is done and the probes are out
        assert server.handshakes == 1
        await asyncio.sleep(0.2)
        assert not bridge._link.connected  # the session started, the slot is not known
        # The server hands one probe back, as ejabberd does to the slot it hashes to.
        probe = next(p for p in probes if p.find(f"{{{PROBE_NS}}}probe") is not None)
        server.inject(ET.tostring(probe).decode())
        await bridge.wait_connected(5)
        slot = probe.get("to")
        assert slot is not None
        assert slot.startswith("slot-probe-")
        assert bridge._component is not None
        assert bridge._component.ping_address == slot
        assert await bridge._link.round_trip(2.0)  # its echo goes to and from the slot


async def test_a_main_link_that_finds_no_slot_reconnects(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No probe comes back (every slot is held by a stand-in): the connection asks for
    its slot back and reconnects to take it, though its link was never up."""
    monkeypatch.setattr(standby_link, "PROBE_TIMEOUT", 0.2)
    async with main_with_stand_ins(world) as (bridge, server):
        await server.wait_until(lambda: server.handshakes >= 2, timeout=10)
        assert not bridge._link.connected
        # It asked the stand-ins for its slot back before reconnecting.
        assert any(p.find(f"{{{PROBE_NS}}}yield") is not None for p in server.stanzas)
