"""The probes that find a connection's ejabberd slot (``xmpp_bridge.standby_link``):
what the filter keeps from the chat handlers and what it reports. The whole mechanism
runs against a real ejabberd in tests/e2e/test_ejabberd_failover.py."""

from __future__ import annotations

from xml.etree import ElementTree as ET

from slixmpp.stanza import Message

from xmpp_bridge.standby_link import PROBE_NS, ProbeBook, probe_xml


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
