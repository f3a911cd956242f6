"""Stanzas that answer agents rather than carry a conversation: error replies and the
queues' presence (``custom_to_stanza`` in ``outbound`` dispatches to them)."""

from __future__ import annotations

from xmpp_bridge import texts
from xmpp_bridge.addresses import Addressing
from xmpp_bridge.converters._stanza import (
    Stanza,
    add_error,
    fits,
    new_message,
    new_presence,
    serialised_size,
    set_nick,
)
from xmpp_bridge.converters.sizes import cut_to_fit, xml_safe
from xmpp_bridge.custom import ErrorReply, PresenceKind, QueuePresence


def error_reply(item: ErrorReply, budget: int) -> Stanza:
    origin = item.origin

    def build(text: str, stanza_id: str | None) -> Stanza:
        if origin.kind == "message":
            stanza = new_message(
                sender=origin.recipient, to=origin.sender, mtype="error", stanza_id=stanza_id
            )
        else:
            stanza = new_presence(
                sender=origin.recipient, to=origin.sender, ptype="error", stanza_id=stanza_id
            )
        add_error(stanza, error_type=item.type.value, condition=item.condition, text=text)
        return stanza

    stanza = build(item.text, origin.stanza_id)
    if fits(stanza, budget):
        return stanza
    room = budget - serialised_size(build("x", origin.stanza_id)) + 1
    text = cut_to_fit(xml_safe(item.text), room, texts.ELLIPSIS) if room > 0 else ""
    stanza = build(text, origin.stanza_id)
    if fits(stanza, budget):
        return stanza
    # The id alone is too long (clients may send anything): the error still tells the
    # sender something failed, which beats a stanza the server would choke on.
    return build(cut_to_fit(xml_safe(item.text), budget // 2, texts.ELLIPSIS), None)


def queue_presence(item: QueuePresence, addressing: Addressing) -> Stanza:
    presence = new_presence(
        sender=addressing.queue_jid(item.queue),
        to=item.to,
        ptype=None if item.kind is PresenceKind.AVAILABLE else item.kind.value,
    )
    if item.kind is PresenceKind.SUBSCRIBE:
        # XEP-0172: a nick in the request gives the agent's roster a readable name.
        set_nick(presence, item.queue)
    return presence
