"""``WrittenMessage``: the wire text is slixmpp's for the same stanza, the message is an
ordinary ``Message`` from its first use as one, and the component sends the text."""

from __future__ import annotations

import asyncio
import copy
from datetime import UTC, datetime
from typing import Any

from hypothesis import given, settings, strategies as st
from slixmpp import Message
from slixmpp.xmlstream import tostring

from tests.xmpp_bridge.support import unconnected_component
from xmpp_bridge.converters import stanza_to_xml, written_text
from xmpp_bridge.converters._element_build import chat_message
from xmpp_bridge.converters._stanza import COMPONENT_NS, set_delay
from xmpp_bridge.converters._written import _PRESET, WrittenMessage

_text = st.text(alphabet=st.characters(codec="utf-8"), max_size=40)  # no lone surrogates


def _message(**overrides: Any) -> Any:
    fields: dict[str, Any] = {
        "sender": "c-1f2e@chat.localhost",
        "to": "alice@localhost/desk",
        "stanza_id": "ev-1",
        "body": "Hello & <bye> \"quoted\" 'single'",
        "marked": True,
        "nick": "Vera <&>",
        "active": True,
    }
    fields.update(overrides)
    return chat_message(**fields)


def _as_slixmpp_writes(msg: Any) -> str:
    """What slixmpp's send loop writes for the message, on the component stream."""
    return tostring(msg.xml, xmlns=COMPONENT_NS, top_level=True)


@settings(max_examples=200, deadline=None)
@given(
    body=_text,
    nick=st.none() | _text,
    stanza_id=st.none() | _text,
    to=_text,
    sender=_text,
    marked=st.booleans(),
    active=st.booleans(),
)
def test_the_written_text_is_what_slixmpp_writes_for_the_message(
    body: str,
    nick: str | None,
    stanza_id: str | None,
    to: str,
    sender: str,
    marked: bool,
    active: bool,
) -> None:
    msg = _message(
        body=body,
        nick=nick,
        stanza_id=stanza_id,
        to=to,
        sender=sender,
        marked=marked,
        active=active,
    )
    text = written_text(msg)
    assert text is not None
    assert stanza_to_xml(msg) == text
    assert _as_slixmpp_writes(msg) == text  # made from its XML now
    assert written_text(msg) is None


def test_first_use_makes_it_the_message_it_stands_for() -> None:
    msg = _message()
    assert type(msg) is WrittenMessage
    text = written_text(msg)
    assert msg["body"] == "Hello & <bye> \"quoted\" 'single'"
    assert type(msg) is Message
    assert msg["nick"]["nick"] == "Vera <&>"
    assert msg["id"] == "ev-1"
    assert str(msg["to"]) == "alice@localhost/desk"
    assert msg["chat_state"] == "active"
    assert msg["request_receipt"]
    # Read through its plugins, nothing was added twice.
    assert [child.tag.rpartition("}")[2] for child in msg.xml] == [
        "body",
        "markable",
        "request",
        "nick",
        "active",
    ]
    assert _as_slixmpp_writes(msg) == text
    assert copy.copy(msg)["body"] == msg["body"]  # a Message's own copy works


def test_copies_of_an_unused_one_are_the_message() -> None:
    for copied in (copy.copy(_message()), copy.deepcopy(_message())):
        assert type(copied) is Message
        assert copied["body"] == "Hello & <bye> \"quoted\" 'single'"
        assert written_text(copied) is None
    used = _message()
    assert copy.copy(used)["nick"]["nick"] == "Vera <&>"
    assert type(used) is Message  # copying made it the Message first
    assert "_written" not in vars(used)


def test_a_change_after_first_use_is_what_goes_on_the_wire() -> None:
    msg = _message()
    written = written_text(msg)
    set_delay(msg, datetime(2026, 11, 27, 9, 0, tzinfo=UTC), "chat.localhost")
    assert written_text(msg) is None
    assert written is not None
    assert stanza_to_xml(msg) != written
    assert "urn:xmpp:delay" in stanza_to_xml(msg)


def test_nothing_reads_the_class_defaults_before_first_use() -> None:
    """What Message.__init__ would set over a class attribute is set at once."""
    assert _PRESET == {"namespace": COMPONENT_NS}
    msg = _message()
    assert vars(msg)["namespace"] == COMPONENT_NS
    assert msg.namespace == COMPONENT_NS
    assert type(msg) is WrittenMessage  # reading it did not need the stanza


def test_an_empty_message_closes_itself_and_attributes_are_escaped() -> None:
    empty = {"body": "", "marked": False, "nick": None, "active": False}
    msg = _message(to='o\'brien&co@localhost/"desk"', **empty)
    assert written_text(msg) == (
        '<message to="o&apos;brien&amp;co@localhost/&quot;desk&quot;" '
        'from="c-1f2e@chat.localhost" type="chat" id="ev-1" />'
    )
    assert _as_slixmpp_writes(msg) == written_text(
        _message(to='o\'brien&co@localhost/"desk"', **empty)
    )


class _Transport(asyncio.Transport):
    def __init__(self) -> None:
        super().__init__()
        self.written = b""

    def write(self, data: bytes | bytearray | memoryview) -> None:
        self.written += bytes(data)

    def is_closing(self) -> bool:
        return False


async def test_written_and_made_stanzas_and_an_echo_go_out_in_the_order_sent() -> None:
    """The echo that proves delivery comes after every message sent before it, written
    or not (behind a stanza object, through slixmpp's own send queue)."""
    component = unconnected_component()
    transport = component.transport = _Transport()
    component._session_started = True
    sender = asyncio.ensure_future(component.run_filters())
    try:
        first, second = _message(stanza_id="w-1"), _message(stanza_id="w-2")
        made = _message(stanza_id="m-1")
        assert made["body"]  # used as a stanza: sent as one
        component.send_stanza(first)
        component.send_stanza(made)
        echo = component.echo()
        component.send_stanza(second)
        for _ in range(50):
            await asyncio.sleep(0)
            if b"w-2" in transport.written:
                break
        wire = transport.written.decode()
        order = [wire.index(f'id="{name}') for name in ("w-1", "m-1", "echo-", "w-2")]
        assert order == sorted(order)
        assert not echo.done()  # nobody sent it back
        assert type(first) is WrittenMessage  # sending did not make the stanza
        assert wire.startswith(written_text(first) or "<none>")
    finally:
        sender.cancel()


async def test_with_the_session_up_and_nothing_queued_written_text_skips_the_send_task() -> None:
    """Straight to the writes of this turn, with no send task running at all (slixmpp's
    would have had to pick it up first): the first at once, the next when the turn
    ends."""
    component = unconnected_component()
    transport = component.transport = _Transport()
    component._session_started = True
    first, second = _message(stanza_id="w-1"), _message(stanza_id="w-2")
    component.send_stanza(first)
    component.send_stanza(second)
    assert component.waiting_queue.empty()
    assert transport.written.decode() == written_text(first)
    await asyncio.sleep(0)
    assert transport.written.decode() == (written_text(first) or "") + (written_text(second) or "")


async def test_written_text_waits_behind_whatever_the_send_queue_holds() -> None:
    """A stanza object queued ahead, then an echo (it proves the delivery of what went
    before it): what comes after goes through the queue behind them, never past them."""
    component = unconnected_component()
    transport = component.transport = _Transport()
    component._session_started = True
    first, second, third = (_message(stanza_id=f"w-{n}") for n in (1, 2, 3))
    made = _message(stanza_id="m-1")
    assert made["body"]  # used as a stanza: sent as one, through the queue
    component.send_stanza(first)
    component.send_stanza(made)
    component.echo()
    component.send_stanza(second)
    component.send_stanza(third)
    assert component.waiting_queue.qsize() == 4
    sender = asyncio.ensure_future(component.run_filters())
    try:
        for _ in range(50):
            await asyncio.sleep(0)
            if b"w-3" in transport.written:
                break
        wire = transport.written.decode()
        order = [wire.index(f'id="{name}') for name in ("w-1", "m-1", "echo-", "w-2", "w-3")]
        assert order == sorted(order)
    finally:
        sender.cancel()


def test_with_an_outgoing_filter_the_stanza_object_is_sent() -> None:
    component = unconnected_component()
    # The only outgoing filter of a new component: slixmpp's roster, presences only.
    filters = component._XMLStream__filters  # type: ignore[attr-defined]
    assert [f.__name__ for mode in ("out", "out_sync", "out_sce") for f in filters[mode]] == [
        "_save_last_status"
    ]
    sent: list[object] = []
    component.send = sent.append  # type: ignore[method-assign,assignment]
    written = _message()
    text = written_text(written)
    component.send_stanza(written)
    component.add_filter("out", lambda stanza: stanza)
    again = _message()
    component.send_stanza(again)
    assert sent == [text, again]  # slixmpp runs the filter on ``again``


async def test_an_echo_goes_out_at_once_when_nothing_waits_and_no_filter_is_registered() -> None:
    component = unconnected_component()
    transport = component.transport = _Transport()
    component._session_started = True
    component.echo()
    assert component.waiting_queue.empty()
    assert 'type="result"' in transport.written.decode()


async def test_with_an_outgoing_filter_an_echo_goes_through_the_send_queue() -> None:
    """slixmpp's send task may hold a stanza it took from the queue while an
    asynchronous filter runs: the queue looks empty, and an echo written at once would
    overtake that stanza."""
    component = unconnected_component()
    transport = component.transport = _Transport()
    component._session_started = True
    component.add_filter("out", lambda stanza: stanza)
    component.echo()
    assert component.waiting_queue.qsize() == 1
    assert transport.written == b""


async def test_without_a_session_an_echo_is_false_at_once_and_not_sent() -> None:
    component = unconnected_component()
    transport = component.transport = _Transport()
    echo = component.echo()
    assert echo.result() is False
    assert component.waiting_queue.empty()
    assert transport.written == b""
