"""The chat messages built straight as XML (``_element_build``) are, byte for byte, what
slixmpp's stanza plugins build, and slixmpp reads them back as its own."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime

import pytest

from xmpp_bridge.converters._markers import set_markable, set_receipt_request, set_replace
from xmpp_bridge.converters._stanza import (
    Stanza,
    new_message,
    set_body,
    set_chat_state,
    set_delay,
    set_nick,
    set_oob,
    stanza_to_xml,
)
from xmpp_bridge.converters.outbound import _Chat

WHEN = datetime(2026, 11, 26, 9, 30, tzinfo=UTC)


def _with_plugins(chat: _Chat, body: str, stanza_id: str | None) -> Stanza:
    """What ``_Chat.build`` made before, through slixmpp's plugins only."""
    msg = new_message(sender=chat.sender, to=chat.to, stanza_id=stanza_id)
    set_body(msg, body)
    if chat.marked:
        set_markable(msg)
        set_receipt_request(msg)
    if chat.replaces is not None:
        set_replace(msg, chat.replaces)
    if chat.oob is not None:
        set_oob(msg, chat.oob)
    if chat.nick is not None:
        set_nick(msg, chat.nick)
    if chat.active:
        set_chat_state(msg, "active")
    if chat.delay is not None:
        set_delay(msg, *chat.delay)
    return msg


@pytest.mark.parametrize(
    ("marked", "nick", "active", "replaces", "oob", "delay"),
    list(itertools.product([False, True], repeat=6)),
)
def test_every_combination_is_the_same_xml_as_slixmpps_plugins_make(
    marked: bool, nick: bool, active: bool, replaces: bool, oob: bool, delay: bool
) -> None:
    chat = _Chat(
        sender="c-1f2e@chat.localhost",
        to="alice@localhost/desk",
        stanza_id="ev-1",
        nick="Vera <&> \x07" if nick else None,
        active=active,
        delay=(WHEN, "chat.localhost") if delay else None,
        oob="https://files.example/a b.png" if oob else None,
        marked=marked,
        replaces="ev-0" if replaces else None,
    )
    cases: list[tuple[str, str | None]] = [
        ("Hello & <bye> \x00 \ud800", "ev-1"),
        ("", "ev-2"),
        ("x", "id\x01"),
    ]
    if not marked:  # slixmpp's receipt request wants an id from a live stream
        cases.append(("no id", None))
    for body, stanza_id in cases:
        assert stanza_to_xml(chat.build(body, stanza_id)) == stanza_to_xml(
            _with_plugins(chat, body, stanza_id)
        )


def test_slixmpp_reads_what_was_built_as_its_own() -> None:
    chat = _Chat(
        sender="c-1f2e@chat.localhost",
        to="alice@localhost",
        stanza_id="ev-1",
        nick="Vera",
        active=True,
        marked=True,
    )
    msg: object = chat.build("Is it in stock?", "ev-1")
    read = msg  # the plugins find the elements already there
    assert read["body"] == "Is it in stock?"  # type: ignore[index]
    assert read["type"] == "chat"  # type: ignore[index]
    assert read["id"] == "ev-1"  # type: ignore[index]
    assert str(read["to"]) == "alice@localhost"  # type: ignore[index]
    assert read["nick"]["nick"] == "Vera"  # type: ignore[index]
    assert read["chat_state"] == "active"  # type: ignore[index]
    assert read["request_receipt"] is True  # type: ignore[index]
    assert read.xml.find("{urn:xmpp:chat-markers:0}markable") is not None  # type: ignore[attr-defined]
    # and reading made nothing new: the same bytes as before
    assert stanza_to_xml(msg) == stanza_to_xml(chat.build("Is it in stock?", "ev-1"))  # type: ignore[arg-type]


def test_an_empty_address_is_left_out_as_slixmpp_leaves_it_out() -> None:
    chat = _Chat(sender="c-1f2e@chat.localhost", to="", stanza_id="ev-1")
    built = stanza_to_xml(chat.build("x", "ev-1"))
    assert built == stanza_to_xml(_with_plugins(chat, "x", "ev-1"))
    assert "to=" not in built
