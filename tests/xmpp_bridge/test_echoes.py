"""Echoes: an iq the component sends itself proves what the server read, once it is back
from where it was sent; nothing else resolves it."""

from __future__ import annotations

import asyncio
import xml.etree.ElementTree as ET
from xml.sax.saxutils import quoteattr

import pytest
from slixmpp.stanza import Iq

from xmpp_bridge.converters import COMPONENT_NS
from xmpp_bridge.echoes import Echoes

OWN = "chat.localhost"


def sent(echoes: Echoes, address: str = OWN) -> tuple[ET.Element, asyncio.Future[bool]]:
    text, future = echoes.new(address, asyncio.get_running_loop())
    return ET.fromstring(f'<s xmlns="{COMPONENT_NS}">{text}</s>')[0], future


def back(echoes: Echoes, element: ET.Element, **changed: str) -> bool:
    """Whether ``echoes`` takes ``element`` coming back from the server, with
    ``changed`` attributes (say, another sender)."""
    attributes = dict(element.attrib) | changed
    text = "<iq " + " ".join(f"{k}={quoteattr(v)}" for k, v in attributes.items()) + "/>"
    read = ET.fromstring(f'<s xmlns="{COMPONENT_NS}">{text}</s>')[0]
    return echoes.returned(Iq(xml=read))  # type: ignore[no-untyped-call]


@pytest.fixture
def echoes() -> Echoes:
    return Echoes()


async def test_an_echo_is_an_iq_result_to_and_from_its_address(echoes: Echoes) -> None:
    element, future = sent(echoes, "probe-3@chat.localhost")
    assert element.tag == f"{{{COMPONENT_NS}}}iq"
    assert element.get("type") == "result"
    assert element.get("to") == element.get("from") == "probe-3@chat.localhost"
    assert element.get("id", "").startswith(echoes.prefix)
    assert not future.done()


async def test_an_echo_back_from_its_address_resolves_true_and_is_swallowed(
    echoes: Echoes,
) -> None:
    element, future = sent(echoes)
    assert back(echoes, element)
    assert future.done()
    assert future.result() is True


async def test_the_same_id_from_anyone_else_resolves_nothing(echoes: Echoes) -> None:
    # An agent guessing an id cannot move the cursors: the server stamps their address.
    element, future = sent(echoes)
    assert not back(echoes, element, **{"from": "mallory@localhost/desk"})
    assert not future.done()
    assert back(echoes, element)
    assert future.result() is True


async def test_a_late_echo_is_swallowed_and_another_id_is_not_ours(echoes: Echoes) -> None:
    element, future = sent(echoes)
    future.cancel()  # the waiter gave up (timed out)
    await asyncio.sleep(0)  # forgetting runs as the future's callback
    assert back(echoes, element)  # still ours: handled by nobody else, resolving nothing
    assert not back(echoes, element, id="a-ping-of-slixmpp")
    assert not back(echoes, element, id=Echoes().prefix + "1")  # another process's prefix


async def test_each_echo_has_an_id_of_its_own(echoes: Echoes) -> None:
    first, one = sent(echoes)
    second, two = sent(echoes)
    assert first.get("id") != second.get("id")
    assert back(echoes, second)
    assert two.result() is True
    assert not one.done()


async def test_a_lost_connection_answers_every_echo_false(echoes: Echoes) -> None:
    _, one = sent(echoes)
    _, two = sent(echoes)
    echoes.abandon()
    assert one.result() is False
    assert two.result() is False


async def test_an_address_with_quotes_is_escaped(echoes: Echoes) -> None:
    element, future = sent(echoes, 'a"b@chat.localhost')
    assert element.get("to") == element.get("from") == 'a"b@chat.localhost'
    assert back(echoes, element)
    assert future.result() is True


async def test_every_way_an_echo_ends_forgets_it(echoes: Echoes) -> None:
    element, back_again = sent(echoes)
    _, given_up = sent(echoes)
    _, lost = sent(echoes)
    assert echoes.pending == 3
    assert back(echoes, element)
    given_up.cancel()
    await asyncio.sleep(0)  # forgetting runs as each future's callback
    assert echoes.pending == 1
    echoes.abandon()
    await asyncio.sleep(0)
    assert echoes.pending == 0
    assert back_again.result() is True
    assert lost.result() is False


async def test_an_address_the_server_wrote_another_way_still_counts(echoes: Echoes) -> None:
    element, future = sent(echoes, "probe-3@chat.localhost")
    assert back(echoes, element, **{"from": "probe-3@Chat.LocalHost"})
    assert future.result() is True
