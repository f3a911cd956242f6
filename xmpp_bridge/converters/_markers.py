"""The stanza zone (see ``_stanza``) for what marks a message rather than carries it:
XEP-0184 receipts, XEP-0333 chat markers, XEP-0308 corrections and the XEP-0066 URL a
file arrives with. Typed readers and builders; nothing here decides what they mean.

Elements are found by their own namespace whatever the stanza's: slixmpp moves only the
root of a ``jabber:client`` stanza into the component namespace.
"""

from __future__ import annotations

from typing import Any

from slixmpp import Message
from slixmpp.plugins.xep_0308.stanza import Replace
from slixmpp.plugins.xep_0333.stanza import Displayed, Markable, Received as MarkerReceived
from slixmpp.xmlstream import register_stanza_plugin

from xmpp_bridge.converters._stanza import Stanza, _get, _set

MARKERS_NS = "urn:xmpp:chat-markers:0"
RECEIPTS_NS = "urn:xmpp:receipts"
CORRECTION_NS = "urn:xmpp:message-correct:0"
OOB_NS = "jabber:x:oob"

register_stanza_plugin(Message, Markable)
register_stanza_plugin(Message, Displayed)
register_stanza_plugin(Message, MarkerReceived)
register_stanza_plugin(Message, Replace)


def _child_attribute(stanza: Stanza, ns: str, name: str, attribute: str = "id") -> str | None:
    element = stanza.xml.find(f"{{{ns}}}{name}")
    return None if element is None else element.get(attribute, "")


def read_displayed(stanza: Stanza) -> str | None:
    """XEP-0333: the id of the message the client displayed (None: no such marker)."""
    return _child_attribute(stanza, MARKERS_NS, "displayed")


def read_delivered(stanza: Stanza) -> str | None:
    """The id an XEP-0184 receipt or an XEP-0333 ``received`` marker confirms."""
    receipt = _child_attribute(stanza, RECEIPTS_NS, "received")
    return receipt if receipt is not None else _child_attribute(stanza, MARKERS_NS, "received")


def read_replace(stanza: Stanza) -> str | None:
    """XEP-0308: the id of the message this one corrects (None: not a correction)."""
    return _child_attribute(stanza, CORRECTION_NS, "replace")


def read_oob_url(stanza: Stanza) -> str | None:
    """XEP-0066: the URL of the file the message carries (None: none)."""
    element = stanza.xml.find(f"{{{OOB_NS}}}x")
    if element is None:
        return None
    url = element.find(f"{{{OOB_NS}}}url")
    return None if url is None else (url.text or "").strip()


def set_markable(msg: Stanza) -> None:
    """XEP-0333: the client may say when it displayed this message."""
    _get(msg, "markable")


def set_receipt_request(msg: Stanza) -> None:
    """XEP-0184: ask the client to confirm it received this message."""
    item: Any = msg
    item["request_receipt"] = True


def set_displayed(msg: Stanza, stanza_id: str) -> None:
    """XEP-0333: everything up to the message ``stanza_id`` was displayed."""
    _set(_get(msg, "displayed"), "id", stanza_id)


def set_replace(msg: Stanza, stanza_id: str) -> None:
    """XEP-0308: this message corrects the message ``stanza_id``."""
    _set(_get(msg, "replace"), "id", stanza_id)
