"""Stanzas to the bridge's values and back: pure functions, no I/O, no clock.

- ``inbound``: ``stanza_to_custom``, what a received stanza means (commands through
  ``xmpp_bridge.agent_commands``).
- ``outbound``: ``custom_to_stanza``, the stanzas that carry an outbound value, each
  within the stanza byte budget; ``offer``: the offer's text, abridged to fit;
  ``presence``: the conversation JID's presence to the agents in it.
- ``sizes``: how many bytes text takes in a stanza, and cutting and splitting to fit.
- ``_stanza``: the only module that indexes slixmpp stanzas (slixmpp's item access
  returns ``Any``), with typed readers and builders for the others; ``_markers`` is its
  part for receipts, chat markers, corrections and file URLs, ``_forms`` for XEP-0004
  data forms (ad-hoc commands).

Everything else in the bridge works with the dataclasses in ``xmpp_bridge.custom`` and
the business layer, and imports from this package only. Every stanza shape the bridge
reads or sends goes through here and is covered by XML-in/XML-out tests.
"""

from xmpp_bridge.converters._forms import StanzaPart, form_to_stanza, submitted_values
from xmpp_bridge.converters._stanza import (
    COMPONENT_NS,
    STANZA_ERROR_NS,
    Stanza,
    fits,
    parse_stanza,
    read_addresses,
    serialised_size,
    stanza_to_xml,
    stream_error_text,
    written_text,
)
from xmpp_bridge.converters.inbound import client_msg_id_for, loggable, stanza_to_custom
from xmpp_bridge.converters.offer import offer_text
from xmpp_bridge.converters.outbound import custom_to_stanza, is_offer
from xmpp_bridge.converters.sizes import xml_safe, xml_size
from xmpp_bridge.texts import format_duration

__all__ = [
    "COMPONENT_NS",
    "STANZA_ERROR_NS",
    "Stanza",
    "StanzaPart",
    "client_msg_id_for",
    "custom_to_stanza",
    "fits",
    "form_to_stanza",
    "format_duration",
    "is_offer",
    "loggable",
    "offer_text",
    "parse_stanza",
    "read_addresses",
    "serialised_size",
    "stanza_to_custom",
    "stanza_to_xml",
    "stream_error_text",
    "submitted_values",
    "written_text",
    "xml_safe",
    "xml_size",
]
