"""Stanzas the component receives, to what they mean for the bridge (``xmpp_bridge.custom``)."""

from __future__ import annotations

import hashlib
import logging
from typing import Literal, assert_never

from business.model import ConversationId
from business.validation import is_client_msg_id
from xmpp_bridge.addresses import Addressing, Elsewhere, Target, ToConversation, ToEngine, ToQueue
from xmpp_bridge.agent_commands import parse_conversation_text, parse_engine_text
from xmpp_bridge.converters._markers import (
    read_delivered,
    read_displayed,
    read_oob_url,
    read_replace,
)
from xmpp_bridge.converters._stanza import (
    AddressError,
    Stanza,
    kind_of,
    read_addresses,
    read_body,
    read_chat_state,
    read_error,
    read_id,
    read_type,
    receipt_requested,
)
from xmpp_bridge.custom import (
    AgentCorrection,
    AgentDisplayed,
    AgentMessage,
    AgentTyping,
    Bounced,
    DeliveryConfirmed,
    Origin,
    Payload,
    Received,
    ResourcePresence,
    Show,
    SubscriptionKind,
    SubscriptionStanza,
    Unroutable,
)

logger = logging.getLogger(__name__)

_COMPOSING_STATES = {"composing": True, "paused": False, "active": False, "inactive": False}
_SHOWS = {s.value: s for s in Show}
_SUBSCRIPTION_KINDS = {k.value: k for k in SubscriptionKind}
_LOGGED_CHARS = 120
"""How much of an unparseable address a log line shows: enough to recognise it, never
enough to flood the log."""


def client_msg_id_for(stanza_id: str) -> str:
    """The business ``client_msg_id`` for an agent's stanza id.

    Client stanza ids can be anything; the business layer wants 1 to 100 printable
    ASCII characters. Odd ids are hashed so that a resent stanza still maps to the same
    value and is stored once.
    """
    candidate = f"xmpp:{stanza_id}"
    if is_client_msg_id(candidate):
        return candidate
    return "xmpp:sha256:" + hashlib.sha256(stanza_id.encode()).hexdigest()[:40]


def stanza_to_custom(stanza: Stanza, addressing: Addressing) -> Received | None:
    """What an inbound message or presence means, or None when the bridge ignores it.

    Agent identity is the sender's normalised bare JID. Messages: to ``c-<id>@`` a
    body is an ``AgentMessage`` (``client_msg_id`` from the stanza id) or a ``!command``
    (``agent_commands``), and without body a chat state (``AgentTyping``); to the bare
    component or a queue JID it is an engine command. Presence to a queue JID is
    availability (``ResourcePresence``) or subscription (``SubscriptionStanza``).
    Stanzas of type error become ``Bounced``. Stanzas from the component's own domain
    are ignored: they can only be the engine's own output, and answering them loops.
    A stanza whose ``from`` or ``to`` does not parse is ignored with one warning, as
    nothing sensible can be said to its sender.
    """
    try:
        addresses = read_addresses(stanza)
    except AddressError as bad:
        logger.warning(
            "ignored a %s with an unparseable %s address: %s",
            kind_of(stanza),
            bad.attribute,
            loggable(bad.value),
        )
        return None
    if not addresses.address or addresses.domain == addressing.component_jid:
        # From one of our own addresses: our replies and refusals coming back (or
        # routed to us); answering them would be answered again, for ever.
        return None
    stanza_id = read_id(stanza)
    target = addressing.target(addresses.recipient)
    kind: Literal["message", "presence"]
    match kind_of(stanza):
        case "message":
            kind = "message"
            payload = _message_payload(stanza, target, stanza_id)
            requested = receipt_requested(stanza) and stanza_id is not None
        case "presence":
            kind = "presence"
            payload = _presence_payload(stanza, target, addresses.address, addresses.resource)
            requested = False
        case _:
            return None
    if payload is None:
        return None
    origin = Origin(
        kind=kind,
        sender=addresses.sender,
        recipient=addresses.recipient,
        address=addresses.address,
        stanza_id=stanza_id,
        receipt_requested=requested,
    )
    return Received(origin=origin, payload=payload)


def loggable(value: str) -> str:
    """``value`` for a log line: repr escapes newlines and control characters, so it
    cannot forge a line of its own."""
    text = repr(value)
    return text if len(text) <= _LOGGED_CHARS else f"{text[:_LOGGED_CHARS]}... ({len(value)} chars)"


def _message_payload(stanza: Stanza, target: Target, stanza_id: str | None) -> Payload | None:
    mtype = read_type(stanza)
    if mtype == "error":
        return _bounced(stanza)
    if mtype not in ("chat", "normal"):
        return None
    body = read_body(stanza)
    if not body.strip():
        body = ""
    match target:
        case ToConversation(conversation_id=conversation_id):
            if body:
                return _conversation_text(stanza, conversation_id, body, stanza_id)
            return _conversation_signal(stanza, conversation_id)
        case ToEngine():
            return parse_engine_text(None, body) if body else None
        case ToQueue(queue=queue):
            return parse_engine_text(queue, body) if body else None
        case Elsewhere():
            return Unroutable() if body else None
        case _:
            assert_never(target)


def _conversation_text(
    stanza: Stanza, conversation_id: ConversationId, body: str, stanza_id: str | None
) -> Payload:
    """A message with a body in a conversation window: a correction (XEP-0308), a file
    (XEP-0066, the body being its URL), or text and commands."""
    replaces = read_replace(stanza)
    if replaces:
        return AgentCorrection(
            conversation_id=conversation_id, replaces=client_msg_id_for(replaces), text=body
        )
    client_msg_id = client_msg_id_for(stanza_id) if stanza_id else None
    url = read_oob_url(stanza)
    if url and url == body.strip():
        return AgentMessage(
            conversation_id=conversation_id,
            text="",
            client_msg_id=client_msg_id,
            attachments=(url,),
        )
    return parse_conversation_text(conversation_id, body, client_msg_id)


def _conversation_signal(stanza: Stanza, conversation_id: ConversationId) -> Payload | None:
    """A message without a body in a conversation window: a chat marker, a receipt or a
    chat state; None for anything else (``gone``, empty messages)."""
    displayed = read_displayed(stanza)
    if displayed:
        return AgentDisplayed(conversation_id=conversation_id, marked_id=displayed)
    delivered = read_delivered(stanza)
    if delivered:
        return DeliveryConfirmed(conversation_id=conversation_id, confirmed_id=delivered)
    composing = _COMPOSING_STATES.get(read_chat_state(stanza))
    if composing is None:
        return None
    return AgentTyping(conversation_id=conversation_id, composing=composing)


def _presence_payload(
    stanza: Stanza, target: Target, address: str, resource: str
) -> Payload | None:
    ptype = read_type(stanza)
    if ptype == "error":
        return _bounced(stanza)
    if not isinstance(target, ToQueue):
        # Presence to conversation or engine JIDs carries nothing we act on.
        return None
    kind = _SUBSCRIPTION_KINDS.get(ptype)
    if kind is not None:
        return SubscriptionStanza(address=address, queue=target.queue, kind=kind)
    if ptype == "unavailable":
        return ResourcePresence(address=address, resource=resource, queue=target.queue, show=None)
    # Any other value is available: slixmpp reports a valid <show/> as the type, and an
    # invalid one is treated as no <show/>, as RFC 6121 treats a missing one.
    return ResourcePresence(
        address=address,
        resource=resource,
        queue=target.queue,
        show=_SHOWS.get(ptype, Show.AVAILABLE),
    )


def _bounced(stanza: Stanza) -> Bounced:
    condition, text = read_error(stanza)
    return Bounced(condition=condition or "undefined-condition", text=text)
