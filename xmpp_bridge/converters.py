"""Stanzas to the bridge's values and back: pure functions, no I/O, no clock.

This is the only module that indexes slixmpp stanzas (slixmpp's item access returns
``Any``): everything else works with the dataclasses in ``xmpp_bridge.custom`` and the
business layer. Every stanza shape the bridge reads or sends goes through here and is
covered by XML-in/XML-out tests.

Stanzas are built in the component stream's namespace (``jabber:component:accept``),
as XEP-0114 asks, not in the ``jabber:client`` namespace slixmpp gives a stanza without
a stream.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Sequence
from datetime import timedelta
from typing import Any, TypeGuard, assert_never
from xml.etree import ElementTree as ET

from slixmpp import JID, Message, Presence
from slixmpp.plugins.xep_0066.stanza import OOB
from slixmpp.plugins.xep_0085 import stanza as chat_states
from slixmpp.plugins.xep_0172.stanza import UserNick
from slixmpp.plugins.xep_0184.stanza import Received as ReceiptReceived
from slixmpp.plugins.xep_0184.stanza import Request as ReceiptRequest
from slixmpp.plugins.xep_0203.stanza import Delay
from slixmpp.stanza.error import Error
from slixmpp.xmlstream import StanzaBase, register_stanza_plugin, tostring

from business.conversation import Conversation
from business.events import (
    ConversationEvent,
    MessagePosted,
    ParticipantJoined,
    ParticipantLeft,
    ReadMarked,
    StateChanged,
)
from business.model import ConversationId, ConversationState, ParticipantKind
from business.validation import is_client_msg_id
from xmpp_bridge.addresses import Addressing, Elsewhere, ToConversation, ToEngine, ToQueue
from xmpp_bridge.custom import (
    AgentMessage,
    AgentOffer,
    AgentTyping,
    Bounced,
    ConversationUpdate,
    EndChat,
    EngineRequest,
    ErrorReply,
    Origin,
    Outbound,
    Payload,
    PresenceKind,
    QueuePresence,
    Receipt,
    Received,
    ResourcePresence,
    Show,
    ShowHelp,
    SubscriptionKind,
    SubscriptionStanza,
    TextReply,
    UnknownCommand,
    Unroutable,
    VisitorTyping,
)

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

AGENT_HELP = (
    "Commands in a chat:\n"
    "!end - end this chat\n"
    "!help - this list\n"
    "!!text - send a message that starts with '!'\n"
    "Everything else you write here goes to the visitor."
)

# Everything outside XML 1.0's Char production: control characters and lone surrogates.
_NOT_XML_CHAR_RE = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
_COMPOSING_STATES = {"composing": True, "paused": False, "active": False, "inactive": False}
_SHOWS = {s.value: s for s in Show}
_SUBSCRIPTION_KINDS = {k.value: k for k in SubscriptionKind}


class _StreamNamespace:
    """Stands in for the stream when building or parsing stanzas outside a connection:
    slixmpp takes a new stanza's namespace from its stream."""

    default_ns = COMPONENT_NS
    # What slixmpp's serialiser reads from a stream, so repr() works in logs and tests.
    stream_ns = "http://etherx.jabber.org/streams"
    namespace_map: dict[str, str] = {}
    use_cdata = False


_STREAM = _StreamNamespace()


# -- parsing and serialising (tests, logs) --------------------------------------------


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


def stanza_to_xml(stanza: Stanza) -> str:
    """The stanza as the component writes it on the wire."""
    return tostring(stanza.xml, xmlns=COMPONENT_NS, top_level=True)


def stream_error_text(error: Stanza) -> str:
    """``condition: text`` of a ``<stream:error/>`` (conflict, not-authorized, ...)."""
    item: Any = error
    text = _str(item["text"])
    return f"{item['condition']}: {text}" if text else str(item["condition"])


# -- inbound ------------------------------------------------------------------------


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
    body is a ``SendAgentMessage`` (``client_msg_id`` from the stanza id), a
    ``!command`` or, without body, a chat state (``SetAgentTyping``); to the bare
    component or a queue JID it is an ``EngineRequest``. Presence to a queue JID is
    availability (``ResourcePresence``) or subscription (``SubscriptionStanza``).
    Stanzas of type error become ``Bounced``. Stanzas from the component's own domain
    are ignored: they can only be the engine's own output, and answering them loops.
    """
    item: Any = stanza
    try:
        sender_jid = item["from"]
        recipient = _str(item["to"].bare)
        sender = _str(sender_jid.full)
        address = _str(sender_jid.bare)
        sender_domain = _str(sender_jid.domain)
    except Exception:
        # An unparseable JID: nothing sensible can be said to its sender either.
        return None
    if not address or sender_domain == addressing.component_jid:
        # From one of our own addresses: our replies and refusals coming back (or
        # routed to us); answering them would be answered again, for ever.
        return None
    stanza_id = _str(item["id"]) or None
    target = addressing.target(recipient)
    name = stanza.xml.tag.rpartition("}")[2]
    if name == "message":
        origin = Origin(
            kind="message",
            sender=sender,
            recipient=recipient,
            address=address,
            stanza_id=stanza_id,
            receipt_requested=bool(item["request_receipt"]) and stanza_id is not None,
        )
        payload = _message_payload(item, target, stanza_id)
    elif name == "presence":
        origin = Origin(
            kind="presence",
            sender=sender,
            recipient=recipient,
            address=address,
            stanza_id=stanza_id,
        )
        payload = _presence_payload(item, target, address, _str(sender_jid.resource))
    else:
        return None
    return None if payload is None else Received(origin=origin, payload=payload)


def _message_payload(
    item: Any,
    target: ToEngine | ToQueue | ToConversation | Elsewhere,
    stanza_id: str | None,
) -> Payload | None:
    mtype = _str(item["type"])
    if mtype == "error":
        return _bounced(item)
    if mtype not in ("chat", "normal"):
        return None
    body = _str(item["body"])
    if not body.strip():
        body = ""
    match target:
        case ToConversation(conversation_id=conversation_id):
            if body:
                return _agent_text(conversation_id, body, stanza_id)
            composing = _COMPOSING_STATES.get(_str(item["chat_state"]))
            if composing is None:
                # Receipts, markers, gone: nothing the visitor needs to see.
                return None
            return AgentTyping(conversation_id=conversation_id, composing=composing)
        case ToEngine():
            return EngineRequest(text=body) if body else None
        case ToQueue(queue=queue):
            return EngineRequest(text=body, queue=queue) if body else None
        case Elsewhere():
            return Unroutable() if body else None
        case _:
            assert_never(target)


def _agent_text(conversation_id: ConversationId, body: str, stanza_id: str | None) -> Payload:
    client_msg_id = client_msg_id_for(stanza_id) if stanza_id else None
    stripped = body.lstrip()
    if stripped.startswith("!!"):
        return AgentMessage(
            conversation_id=conversation_id, text=stripped[1:], client_msg_id=client_msg_id
        )
    if stripped.startswith("!"):
        words = stripped[1:].split(maxsplit=1)
        command = words[0].lower() if words else ""
        if command == "end":
            return EndChat(conversation_id=conversation_id)
        if command == "help":
            return ShowHelp(conversation_id=conversation_id)
        return UnknownCommand(conversation_id=conversation_id, command=command)
    return AgentMessage(conversation_id=conversation_id, text=body, client_msg_id=client_msg_id)


def _presence_payload(
    item: Any,
    target: ToEngine | ToQueue | ToConversation | Elsewhere,
    address: str,
    resource: str,
) -> Payload | None:
    ptype = _str(item["type"])
    if ptype == "error":
        return _bounced(item)
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


def _bounced(item: Any) -> Bounced:
    # slixmpp moves only the root of a jabber:client stanza into the component
    # namespace, so the <error/> child may be in either.
    error = next((child for child in item.xml if child.tag.endswith("}error")), None)
    condition = ""
    text = ""
    for child in error if error is not None else ():
        if child.tag.startswith(f"{{{STANZA_ERROR_NS}}}"):
            tag = child.tag.rpartition("}")[2]
            if tag == "text":
                text = child.text or ""
            elif not condition:
                condition = tag
    return Bounced(condition=condition or "undefined-condition", text=text)


# -- outbound -----------------------------------------------------------------------


def is_offer(event: ConversationEvent, conversation: Conversation) -> TypeGuard[ParticipantJoined]:
    """Whether ``event`` is the conversation's agent joining: it is sent as an
    ``AgentOffer``, which needs the events before it."""
    return (
        isinstance(event, ParticipantJoined)
        and event.participant.kind is ParticipantKind.AGENT
        and event.participant.id is not None
        and event.participant.id == conversation.agent_id
    )


def custom_to_stanza(item: Outbound, addressing: Addressing) -> list[Stanza]:
    """The stanzas for one outbound value, in sending order; possibly none.

    Messages to agents come from the conversation JID, are of type chat, carry the
    event id as stanza id (so a resend is recognisable) and the visitor's name as
    XEP-0172 nick. The agent's own messages are never echoed back.
    """
    match item:
        case AgentOffer():
            return [_offer(item, addressing)]
        case ConversationUpdate():
            return _update(item, addressing)
        case VisitorTyping(conversation=conversation, to=to, composing=composing):
            if conversation.agent_id is None:
                return []
            msg = _message(sender=addressing.conversation_jid(conversation.id), to=to)
            _set(msg, "chat_state", "composing" if composing else "paused")
            return [msg]
        case TextReply(sender=sender, to=to, text=text, stanza_id=stanza_id):
            msg = _message(sender=sender, to=to, stanza_id=stanza_id)
            _set(msg, "body", text)
            return [msg]
        case ErrorReply():
            return [_error(item)]
        case Receipt(origin=origin, stanza_id=stanza_id):
            msg = _message(
                sender=origin.recipient, to=origin.sender, mtype=None, stanza_id=stanza_id
            )
            _set(msg, "receipt", origin.stanza_id)
            return [msg]
        case QueuePresence():
            return [_queue_presence(item, addressing)]
        case _:
            assert_never(item)


def _update(item: ConversationUpdate, addressing: Addressing) -> list[Stanza]:
    conv = item.conversation
    event = item.event
    if conv.agent_id is None:
        return []
    sender = addressing.conversation_jid(conv.id)
    notice_id = f"{conv.id}-{event.seq}"
    text: str | None = None
    match event:
        case MessagePosted():
            return _posted(item, event, addressing)
        case ParticipantJoined(participant=who):
            if not is_offer(event, conv):
                text = f"{who.name} joined the chat."
        case ParticipantLeft(participant=who):
            if not (who.kind is ParticipantKind.AGENT and who.id == conv.agent_id):
                text = f"{who.name} left the chat."
        case StateChanged(state=state):
            if state is ConversationState.ENDED:
                text = "This chat has ended; messages sent here no longer reach anyone."
        case ReadMarked():
            pass
        case _:
            assert_never(event)
    if text is None:
        return []
    msg = _message(sender=sender, to=item.to, stanza_id=notice_id)
    _set(msg, "body", text)
    _stamp(msg, item.delayed, event, addressing)
    return [msg]


def _posted(item: ConversationUpdate, event: MessagePosted, addressing: Addressing) -> list[Stanza]:
    conv = item.conversation
    who = event.sender
    if who.kind is ParticipantKind.AGENT and who.id == conv.agent_id:
        return []
    sender = addressing.conversation_jid(conv.id)
    by_visitor = who.kind is ParticipantKind.VISITOR
    stanzas: list[Stanza] = []
    if event.text.strip():
        msg = _message(sender=sender, to=item.to, stanza_id=event.id)
        # Only the visitor speaks as the contact; anyone else is named in the text.
        _set(msg, "body", event.text if by_visitor else f"{who.name}: {event.text}")
        stanzas.append(msg)
    for number, url in enumerate(event.attachments, start=1):
        # Clients show an XEP-0066 file inline only when the body is exactly the URL.
        msg = _message(sender=sender, to=item.to, stanza_id=f"{event.id}-{number}")
        _set(msg, "body", url)
        _set(_get(msg, "oob"), "url", url)
        stanzas.append(msg)
    for msg in stanzas:
        if by_visitor:
            _set(_get(msg, "nick"), "nick", event.sender.name)
        _set(msg, "chat_state", "active")
        _stamp(msg, item.delayed, event, addressing)
    return stanzas


def _offer(item: AgentOffer, addressing: Addressing) -> Stanza:
    conv = item.conversation
    msg = _message(
        sender=addressing.conversation_jid(conv.id),
        to=item.to,
        stanza_id=f"{conv.id}-{item.joined.seq}",
    )
    _set(msg, "body", offer_text(conv, item.joined, item.earlier))
    _set(_get(msg, "nick"), "nick", conv.visitor_name)
    # XEP-0085: an <active/> in the first message tells the client we do chat states.
    _set(msg, "chat_state", "active")
    _stamp(msg, item.delayed, item.joined, addressing)
    return msg


def offer_text(
    conversation: Conversation, joined: ParticipantJoined, earlier: Sequence[ConversationEvent]
) -> str:
    """The offer as plain text, readable in any client: who, where from, what so far."""
    waited = format_duration(joined.created_at - conversation.created_at)
    lines = [
        f"New chat from {conversation.visitor_name} (queue {conversation.queue}, waited {waited})"
    ]
    ctx = conversation.context
    if ctx.page_title and ctx.page_url:
        lines.append(f"Page: {ctx.page_title} - {ctx.page_url}")
    elif ctx.page_title or ctx.page_url:
        lines.append(f"Page: {ctx.page_title or ctx.page_url}")
    if ctx.referrer:
        lines.append(f"Referrer: {ctx.referrer}")
    lines.extend(_fields(conversation.form.items(), skip={"name"}))
    lines.extend(_fields(ctx.custom.items(), skip=set()))
    lines.append("")
    said = [e for e in earlier if isinstance(e, MessagePosted)]
    for message in said:
        parts = (
            [message.text, *message.attachments] if message.text.strip() else message.attachments
        )
        lines.append(f"{message.sender.name}: {' '.join(parts)}")
    if not said:
        lines.append("(no messages yet)")
    lines.append("")
    lines.append("Answer here. !help lists commands.")
    return "\n".join(lines)


def _fields(items: Iterable[tuple[str, str]], *, skip: set[str]) -> list[str]:
    return [f"{key}: {value}" for key, value in items if key not in skip and value]


def format_duration(delta: timedelta) -> str:
    """``45 s``, ``3 min 12 s``, ``2 h 5 min``: precise enough for a wait time."""
    seconds = max(0, int(delta.total_seconds()))
    if seconds < 60:
        return f"{seconds} s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes} min {seconds} s" if seconds else f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes} min" if minutes else f"{hours} h"


def _error(item: ErrorReply) -> Stanza:
    origin = item.origin
    stanza: Any
    if origin.kind == "message":
        stanza = _message(
            sender=origin.recipient, to=origin.sender, mtype="error", stanza_id=origin.stanza_id
        )
    else:
        stanza = Presence(_STREAM, sto=origin.sender, sfrom=origin.recipient, stype="error")
        if origin.stanza_id:
            _set(stanza, "id", origin.stanza_id)
    # slixmpp's Error class is registered in jabber:client; build the element in the
    # stream's namespace instead, as the rest of the stanza is.
    error: Any = Error(xml=ET.Element(f"{{{COMPONENT_NS}}}error"))
    _set(error, "type", item.type.value)
    _set(error, "condition", item.condition)
    if item.text:
        _set(error, "text", item.text)
    stanza.append(error)
    result: Stanza = stanza
    return result


def _queue_presence(item: QueuePresence, addressing: Addressing) -> Stanza:
    presence: Any = Presence(_STREAM, sto=item.to, sfrom=addressing.queue_jid(item.queue))
    if item.kind is not PresenceKind.AVAILABLE:
        _set(presence, "type", item.kind.value)
    if item.kind is PresenceKind.SUBSCRIBE:
        # XEP-0172: a nick in the request gives the agent's roster a readable name.
        _set(_get(presence, "nick"), "nick", item.queue)
    result: Stanza = presence
    return result


# -- helpers --------------------------------------------------------------------------


def _message(
    *, sender: str, to: str, mtype: str | None = "chat", stanza_id: str | None = None
) -> Stanza:
    msg: Any = Message(_STREAM, sto=to, sfrom=sender)  # type: ignore[no-untyped-call]
    if mtype is not None:
        _set(msg, "type", mtype)
    if stanza_id:
        _set(msg, "id", stanza_id)
    result: Stanza = msg
    return result


def _stamp(msg: Stanza, delayed: bool, event: ConversationEvent, addressing: Addressing) -> None:
    if delayed:
        delay = _get(msg, "delay")
        _set(delay, "stamp", event.created_at)
        _set(delay, "from", addressing.component_jid)


def _get(element: Any, key: str) -> Any:
    return element[key]


def _set(element: Any, key: str, value: object) -> None:
    element[key] = xml_safe(value) if isinstance(value, str) else value


def xml_safe(text: str) -> str:
    """``text`` with characters XML cannot carry replaced by U+FFFD.

    slixmpp writes them as they are: a control character makes the server close the
    stream (and the replay after reconnect would send the same event again, forever);
    a lone surrogate makes slixmpp drop the stanza without a word.
    """
    return _NOT_XML_CHAR_RE.sub("\ufffd", text)


def _str(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, JID):
        return str(value)
    return value if isinstance(value, str) else str(value)
