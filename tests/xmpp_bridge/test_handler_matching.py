"""``xmpp_bridge.handler_matching``: a stanza path tested name first matches exactly
what slixmpp's own does, and the component keeps only the handlers it uses."""

from __future__ import annotations

from typing import Any
from xml.etree import ElementTree as ET

import pytest
from slixmpp import Iq, Message, Presence
from slixmpp.xmlstream.matcher.stanzapath import StanzaPath

from tests.xmpp_bridge.support import unconnected_component
from xmpp_bridge.component import ChatComponent
from xmpp_bridge.converters._stanza import COMPONENT_NS
from xmpp_bridge.handler_matching import UNUSED_HANDLERS, NameFirst, first_step

FROM = 'from="alice@localhost/a" to="c-1@chat.localhost"'
STANZAS = [
    f'<message {FROM} type="chat" id="m1"><body>hi</body></message>',
    f'<message {FROM} type="chat"><composing xmlns="http://jabber.org/protocol/chatstates"/>'
    "</message>",
    f'<message {FROM} type="chat" id="m2"><body>hi</body>'
    '<active xmlns="http://jabber.org/protocol/chatstates"/>'
    '<request xmlns="urn:xmpp:receipts"/></message>',
    f'<message {FROM} type="error" id="m3"><error type="cancel">'
    '<item-not-found xmlns="urn:ietf:params:xml:ns:xmpp-stanzas"/></error></message>',
    f'<iq {FROM} type="get" id="i1"><query xmlns="http://jabber.org/protocol/disco#info"/></iq>',
    f'<iq {FROM} type="get" id="i2"><query xmlns="http://jabber.org/protocol/disco#items"/></iq>',
    f'<iq {FROM} type="get" id="i3"><ping xmlns="urn:xmpp:ping"/></iq>',
    f'<iq {FROM} type="set" id="i4"><ping xmlns="urn:xmpp:ping"/></iq>',
    f'<iq {FROM} type="result" id="i5"/>',
    f'<iq {FROM} type="set" id="i6"><command xmlns="http://jabber.org/protocol/commands" '
    'node="x" action="execute"/></iq>',
    f"<presence {FROM}><show>away</show><status>lunch</status></presence>",
    f'<presence {FROM} type="unavailable"/>',
]
PATHS = [
    "iq/disco_info",
    "iq/disco_items",
    "iq@type=get/ping",
    "iq@type=set/command",
    "message/chat_state",
    "message/body",
    "presence/status",
    "presence@type=unavailable",
    "chat_state",
]


def _component() -> ChatComponent:
    component = unconnected_component()
    component.register_plugin("xep_0050")  # as xmpp_bridge.component_adhoc does
    return component


def _read(component: ChatComponent, xml: str) -> Any:
    """The stanza as slixmpp makes it from what it reads (its plugins loaded)."""
    element = ET.fromstring(f'<stream xmlns="{COMPONENT_NS}">{xml}</stream>')[0]
    kind: Any = {"message": Message, "presence": Presence, "iq": Iq}[element.tag.rpartition("}")[2]]
    return kind(component, xml=element, recv=True)


@pytest.mark.parametrize("path", PATHS)
def test_name_first_matches_what_the_stanza_path_matches(path: str) -> None:
    component = _component()
    inner = StanzaPath(path)
    first = first_step(inner)
    assert first == path.split("/")[0].split("@")[0]
    quick = NameFirst(inner, first)
    results = []
    for xml in STANZAS:
        # Each on a stanza of its own: a match may load plugins on the stanza it reads.
        expected = bool(inner.match(_read(component, xml)))
        assert quick.match(_read(component, xml)) is expected, (path, xml)
        results.append(expected)
    assert any(results), path  # the table exercises a match for every path


def test_the_component_drops_the_unused_handlers_and_tests_paths_name_first() -> None:
    component = _component()
    handlers = component._XMLStream__handlers  # type: ignore[attr-defined]
    names = {handler.name for handler in handlers}
    assert not names & set(UNUSED_HANDLERS)
    assert {"Disco Info", "Disco Items", "Ping", "Ad-Hoc Execute", "chat engine message"} <= names
    paths = [h for h in handlers if isinstance(h._matcher, StanzaPath | NameFirst)]
    assert paths
    assert all(isinstance(h._matcher, NameFirst) for h in paths)
    # A message meets only the bridge's own handler; a disco query only disco's.
    message = _read(component, STANZAS[2])
    assert [h.name for h in handlers if h.match(message)] == ["chat engine message"]
    disco = _read(component, STANZAS[4])
    assert [h.name for h in handlers if h.match(disco)] == ["Disco Info"]
