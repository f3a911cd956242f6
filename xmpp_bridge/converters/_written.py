"""Chat messages written as their wire text at once, made stanza objects only if used.

The bridge's commonest stanza, a chat message to an agent, was built as XML, wrapped in
slixmpp's ``Message`` (which makes a plugin object for each of its markers, nick and
chat state) and serialised by slixmpp's send loop (which escapes character by
character): together about 5 % of the event loop under load, for a stanza that is only
ever written. ``WrittenMessage`` is that ``Message`` with its wire text written first,
the way slixmpp would write it (``tests/xmpp_bridge/converters/test_element_build.py``
compares the two byte for byte): measuring it and sending it use the text
(``_stanza.written_text``), and the first use as a stanza object (reading a field, changing
it, printing it) makes it the very ``Message`` it stands for, from the same XML. From
then on it is that ``Message`` (and ``written_text`` is None: it may have changed).
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any, SupportsIndex
from xml.etree import ElementTree as ET

from slixmpp import Message

from xmpp_bridge.converters._stanza import _STREAM, COMPONENT_NS


def escape(text: str) -> str:
    """slixmpp's escapes (``slixmpp.xmlstream.tostring.escape``), for text and
    attributes; a text without any of the five characters is returned as it is (a test
    per character is a tenth of ``str.translate``'s cost here)."""
    if "&" in text:
        text = text.replace("&", "&amp;")
    if "<" in text:
        text = text.replace("<", "&lt;")
    if ">" in text:
        text = text.replace(">", "&gt;")
    if "'" in text:
        text = text.replace("'", "&apos;")
    if '"' in text:
        text = text.replace('"', "&quot;")
    return text


def _preset() -> dict[str, Any]:
    """What ``Message.__init__`` sets on an instance over a class attribute of another
    value (the stream's namespace, and the tag in it): set before the message is made,
    so nothing reads the class's values meanwhile."""
    made = vars(Message(_STREAM))  # type: ignore[no-untyped-call]
    return {
        name: value
        for name, value in made.items()
        if hasattr(Message, name) and getattr(Message, name) != value
    }


_PRESET = _preset()


class WrittenMessage(Message):
    """A ``Message`` whose wire text is known; made in full on first use as one."""

    def __init__(self, text: str, build: Callable[[], ET.Element]) -> None:
        # Message.__init__ runs later, in ``_make``, if anything needs the stanza.
        # ``_written`` and ``_build`` are what ``_stanza.written_text`` reads.
        self.__dict__.update(_PRESET)
        self._written = text
        self._build = build

    def _make(self) -> bool:
        """Become the ``Message`` this stands for; False if it already is one."""
        fields = self.__dict__
        build = fields.get("_build")
        if build is None:
            return False
        xml = build()
        del fields["_build"], fields["_written"]
        self.__class__ = Message  # type: ignore[assignment]  # a Message like any other now
        Message.__init__(self, _STREAM, xml=xml)  # type: ignore[no-untyped-call]
        return True

    def __getattr__(self, name: str) -> Any:
        # Reached only for what this instance lacks: the first use as a stanza.
        if not self._make():
            raise AttributeError(name)
        return getattr(self, name)

    # Python looks these up on the class, before anything reads an attribute: each
    # makes the Message first, then does what a Message does.
    def __copy__(self) -> Message:
        self._make()
        return copy.copy(self)

    def __deepcopy__(self, memo: dict[int, Any]) -> Message:
        self._make()
        return copy.deepcopy(self, memo)

    def __reduce_ex__(self, protocol: SupportsIndex) -> Any:
        self._make()
        return self.__reduce_ex__(protocol)


def written_message(
    attrib: dict[str, str],
    children: list[tuple[str, str, str | None]],
    build: Callable[[], ET.Element],
) -> WrittenMessage:
    """``<message>`` in the component namespace with ``attrib`` (in order) and
    ``children`` as (tag, namespace, text), written as slixmpp writes them: the
    namespace of a child only where it is not the stanza's, an element without text
    closed as ``<tag />``. ``build`` makes the same element as XML, for when the
    message is used as a stanza."""
    parts = ["<message"]
    for name, value in attrib.items():
        parts.append(f' {name}="{escape(value)}"')
    if not children:
        parts.append(" />")
        return WrittenMessage("".join(parts), build)
    parts.append(">")
    for tag, namespace, text in children:
        declared = "" if namespace == COMPONENT_NS else f' xmlns="{namespace}"'
        if text:
            parts.append(f"<{tag}{declared}>{escape(text)}</{tag}>")
        else:
            parts.append(f"<{tag}{declared} />")
    parts.append("</message>")
    return WrittenMessage("".join(parts), build)
