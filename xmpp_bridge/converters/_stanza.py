"""The slixmpp side of the converters: the only module that indexes stanzas.

slixmpp's item access (``stanza["body"]``) returns ``Any``; here every read becomes a
plain typed value and every write takes one, so the rest of the bridge is checked by
mypy. Nothing here decides what a stanza means or what to send: that is ``inbound``
and ``outbound``.

Stanzas are built in the component stream's namespace (``jabber:component:accept``),
as XEP-0114 asks, not in the ``jabber:client`` namespace slixmpp gives a stanza without
a stream. Every text written goes through ``xml_safe``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from xml.etree import ElementTree as ET

from slixmpp import JID, Message, Presence
from slixmpp.jid import InvalidJID
from slixmpp.plugins.xep_0066.stanza import OOB
from slixmpp.plugins.xep_0085 import stanza as chat_states
from slixmpp.plugins.xep_0172.stanza import UserNick
from slixmpp.plugins.xep_0184.stanza import Received as ReceiptReceived, Request as ReceiptRequest
from slixmpp.plugins.xep_0203.stanza import Delay
from slixmpp.stanza.error import Error
from slixmpp.xmlstream import StanzaBase, register_stanza_plugin, tostring

from xmpp_bridge.converters.sizes import xml_safe

COMPONENT_NS = "jabber:component:accept"
STANZA_ERROR_NS = "urn:ietf:params:xml:ns:xmpp-stanzas"

Stanza = StanzaBase
"""What the converters produce and read; the component sends and receives these."""

# Only the stanza classes, not the slixmpp plugins: the xep_0172 plugin drags in PEP,
# pubsub and entity caps, which would disco-query every agent's client on each presence.
for _state in (
    chat_states.Active,
    chat_states.Composing,
    chat_states.Paused,
    chat_states.Inactive,
    chat_states.Gone,
):
    register_stanza_plugin(Message, _state)
register_stanza_plugin(Message, UserNick)
register_stanza_plugin(Presence, UserNick)
register_stanza_plugin(Message, Delay)
register_stanza_plugin(Message, OOB)
register_stanza_plugin(Message, ReceiptRequest)
register_stanza_plugin(Message, ReceiptReceived)


class _StreamNamespace:
    """Stands in for the stream when building or parsing stanzas outside a connection:
    slixmpp takes a new stanza's namespace from its stream."""

    default_ns = COMPONENT_NS
    # What slixmpp's serialiser reads from a stream, so repr() works in logs and tests.
    stream_ns = "http://etherx.jabber.org/streams"
    namespace_map: dict[str, str] = {}
    use_cdata = False


_STREAM = _StreamNamespace()


# -- parsing, serialising and measuring ------------------------------------------------


def parse_stanza(xml: str) -> Stanza:
    """A stanza from its XML text, as the component would receive it.

    Elements without a namespace are in the component stream's namespace, so test
    fixtures can be written the way a server sends them.
    """
    root = ET.fromstring(f'<stream xmlns="{COMPONENT_NS}">{xml}</stream>')
    if len(root) != 1:
        raise ValueError("expected exactly one stanza")
    element = root[0]
    name = element.tag.rpartition("}")[2]
    if name == "message":
        return Message(_STREAM, xml=element, recv=True)  # type: ignore[no-untyped-call]
    if name == "presence":
        return Presence(_STREAM, xml=element, recv=True)
    raise ValueError(f"not a message or presence: {name}")


def written_text(stanza: Stanza) -> str | None:
    """The wire text of a stanza written before it was made (``_written``) and not
    used as a stanza object since; None for any other."""
    fields = vars(stanza)
    text: str | None = fields["_written"] if "_build" in fields else None
    return text


def stanza_to_xml(stanza: Stanza) -> str:
    """The stanza as the component writes it on the wire."""
    text = written_text(stanza)
    if text is not None:
        return text
    return tostring(stanza.xml, xmlns=COMPONENT_NS, top_level=True)


def serialised_size(stanza: Stanza) -> int:
    """The bytes the stanza takes on the wire."""
    return len(stanza_to_xml(stanza).encode())


def fits(stanza: Stanza, budget: int) -> bool:
    """Whether the stanza takes at most ``budget`` bytes on the wire.

    Serialising is the costliest thing the bridge does per stanza, and the socket
    serialises again: a rough upper bound answers for nearly every stanza, and only
    those that might come near the budget are serialised to know for sure.
    """
    text = written_text(stanza)
    if text is not None:
        return len(text.encode()) <= budget
    return _size_at_most(stanza.xml) <= budget or serialised_size(stanza) <= budget


_MAX_CHAR_BYTES = len("&quot;")
"""No character takes more (UTF-8 needs at most four bytes)."""


def _size_at_most(root: ET.Element) -> int:
    """An upper bound of ``root`` serialised: every namespace declared, every attribute
    name in full, every character at its costliest."""
    size = 0
    for element in root.iter():
        size += 2 * len(element.tag) + len('<></> xmlns=""')
        for key, value in element.attrib.items():
            size += len(key) + len(' =""') + _MAX_CHAR_BYTES * len(value)
        size += _MAX_CHAR_BYTES * (len(element.text or "") + len(element.tail or ""))
    return size


def stream_error_text(error: Stanza) -> str:
    """``condition: text`` of a ``<stream:error/>`` (conflict, not-authorized, ...)."""
    item: Any = error
    text = _str(item["text"])
    return f"{item['condition']}: {text}" if text else str(item["condition"])


# -- reading ---------------------------------------------------------------------------


class AddressError(ValueError):
    """A ``from`` or ``to`` that is not a JID; ``value`` is the attribute as received."""

    def __init__(self, attribute: str, value: str) -> None:
        super().__init__(f"unparseable {attribute} address")
        self.attribute = attribute
        self.value = value


@dataclass(frozen=True, slots=True)
class Addresses:
    sender: str
    """The full JID it came from."""
    address: str
    """The sender's bare JID, normalised (stringprep) as the server wrote it."""
    domain: str
    resource: str
    recipient: str
    """The bare JID it was sent to."""


def read_addresses(stanza: Stanza) -> Addresses:
    """The stanza's addresses; ``AddressError`` if either does not parse."""
    item: Any = stanza
    jids: dict[str, JID] = {}
    for attribute in ("from", "to"):
        try:
            jids[attribute] = item[attribute]
        except InvalidJID:
            raise AddressError(attribute, stanza.xml.attrib.get(attribute, "")) from None
    sender = jids["from"]
    return Addresses(
        sender=_str(sender.full),
        address=_str(sender.bare),
        domain=_str(sender.domain),
        resource=_str(sender.resource),
        recipient=_str(jids["to"].bare),
    )


def kind_of(stanza: Stanza) -> str:
    """``message``, ``presence`` or whatever else the element is called."""
    return stanza.xml.tag.rpartition("}")[2]


def read_id(stanza: Stanza) -> str | None:
    return _read(stanza, "id") or None


def read_type(stanza: Stanza) -> str:
    """The ``type``; for an available presence slixmpp gives a valid ``<show/>`` instead."""
    return _read(stanza, "type")


def read_body(stanza: Stanza) -> str:
    return _read(stanza, "body")


def read_chat_state(stanza: Stanza) -> str:
    """The XEP-0085 state (``composing``, ``paused``, …) or an empty string."""
    return _read(stanza, "chat_state")


_RECEIPT_REQUEST = "{urn:xmpp:receipts}request"


def receipt_requested(stanza: Stanza) -> bool:
    """Whether the message asks for a XEP-0184 receipt: what slixmpp's
    ``msg["request_receipt"]`` answers, read from the XML without making its plugin
    object (about 2 % of the event loop under load)."""
    return stanza.xml.find(_RECEIPT_REQUEST) is not None


def read_error(stanza: Stanza) -> tuple[str, str]:
    """The RFC 6120 condition and text of an error stanza (empty strings if absent)."""
    # slixmpp moves only the root of a jabber:client stanza into the component
    # namespace, so the <error/> child may be in either.
    error = next((child for child in stanza.xml if child.tag.endswith("}error")), None)
    condition = ""
    text = ""
    for child in error if error is not None else ():
        if child.tag.startswith(f"{{{STANZA_ERROR_NS}}}"):
            tag = child.tag.rpartition("}")[2]
            if tag == "text":
                text = child.text or ""
            elif not condition:
                condition = tag
    return condition, text


def _read(stanza: Stanza, key: str) -> str:
    item: Any = stanza
    return _str(item[key])


def _str(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, JID):
        return str(value)
    return value if isinstance(value, str) else str(value)


# -- building --------------------------------------------------------------------------


def new_message(
    *, sender: str, to: str, mtype: str | None = "chat", stanza_id: str | None = None
) -> Stanza:
    msg: Any = Message(_STREAM, sto=to, sfrom=sender)  # type: ignore[no-untyped-call]
    if mtype is not None:
        _set(msg, "type", mtype)
    if stanza_id:
        _set(msg, "id", stanza_id)
    result: Stanza = msg
    return result


def new_presence(
    *, sender: str, to: str, ptype: str | None = None, stanza_id: str | None = None
) -> Stanza:
    presence: Any = Presence(_STREAM, sto=to, sfrom=sender)
    if ptype is not None:
        _set(presence, "type", ptype)
    if stanza_id:
        _set(presence, "id", stanza_id)
    result: Stanza = presence
    return result


def set_body(msg: Stanza, text: str) -> None:
    _set(msg, "body", text)


def set_nick(stanza: Stanza, nick: str) -> None:
    """XEP-0172: the name a client shows for the sender."""
    _set(_get(stanza, "nick"), "nick", nick)


def set_chat_state(msg: Stanza, state: str) -> None:
    _set(msg, "chat_state", state)


def set_delay(msg: Stanza, stamp: datetime, by: str) -> None:
    """XEP-0203: when it really happened, for something sent late."""
    delay = _get(msg, "delay")
    _set(delay, "stamp", stamp)
    _set(delay, "from", by)


def set_oob(msg: Stanza, url: str) -> None:
    """XEP-0066: a file's address (clients show it inline when the body is the same)."""
    _set(_get(msg, "oob"), "url", url)


def set_receipt(msg: Stanza, stanza_id: str) -> None:
    """XEP-0184: the message ``stanza_id`` arrived."""
    _set(msg, "receipt", stanza_id)


def add_error(stanza: Stanza, *, error_type: str, condition: str, text: str) -> None:
    """An RFC 6120 ``<error/>``, in the stream's namespace as the rest of the stanza."""
    # slixmpp's Error class is registered in jabber:client; build the element in the
    # stream's namespace instead.
    error: Any = Error(xml=ET.Element(f"{{{COMPONENT_NS}}}error"))
    _set(error, "type", error_type)
    _set(error, "condition", condition)
    if text:
        _set(error, "text", text)
    stanza.append(error)


def _get(element: Any, key: str) -> Any:
    return element[key]


def _set(element: Any, key: str, value: object) -> None:
    element[key] = xml_safe(value) if isinstance(value, str) else value
