"""Conversation presence (AGENT-DESK.md, Addresses): the conversation JID shows online to
each agent in the chat, with the visitor's name as XEP-0172 nick, and offline once they
are out of it.

Nothing about it is stored: it is read off the stored events as they are rendered for
each agent, so a replay after a reconnect or a restart sends it again with them.

- available, just before the offer to that agent (an ``AgentOffer``), and again when they
  take the chat: their own ``participant.joined`` (a routed chat, a transfer, an
  invitation), their own ``member.joined`` (a consult), their held chat given back
  (``hold.returned``). Converse.js ignores presence from an address it has no contact
  for yet and makes the contact only when the first message arrives, so the presence
  after acceptance is the one it shows;
- unavailable, after the chat's end (``state.changed`` to ``ended``, to everyone it is
  delivered to) and after their own ``participant.left`` or ``member.left``. A transfer
  always has the old agent's ``participant.left``, so ``transferred`` adds nothing. An
  offer closed without them is told live (``ConversationPresence`` after the notice):
  the chat may have nobody to deliver to by then.

Presence is state, not news: the same one twice (the agent ends the chat: their
``participant.left``, then ``state.changed``) changes nothing in a client. Every stanza
fits the budget: the nick is cut to fit, or left out; a presence that cannot fit even
without it (an absurd address) is not sent, so it never holds back the event it rides on.
"""

from __future__ import annotations

from business.conversation import Conversation
from business.events import (
    ChatReturned,
    MemberJoined,
    MemberLeft,
    ParticipantJoined,
    ParticipantLeft,
    StateChanged,
    StoredEvent,
)
from business.model import AgentId, ConversationState, ParticipantKind
from xmpp_bridge import texts
from xmpp_bridge.addresses import Addressing
from xmpp_bridge.converters._stanza import Stanza, fits, new_presence, serialised_size, set_nick
from xmpp_bridge.converters.sizes import cut_to_fit, xml_safe, xml_size
from xmpp_bridge.custom import AgentOffer, ConversationPresence, ConversationUpdate


def offer_presence(item: AgentOffer, addressing: Addressing, budget: int) -> list[Stanza]:
    """Available presence to the agent offered the chat, sent just before the offer."""
    return presence_stanzas(item.conversation, item.to, True, addressing, budget)


def update_presence(item: ConversationUpdate, addressing: Addressing, budget: int) -> list[Stanza]:
    """The presence ``item.event`` brings its recipient, sent after whatever else it
    brings them; none for most events."""
    conv = item.conversation
    me = item.recipient if item.recipient is not None else conv.desk_agent_id
    if me is None:
        return []
    available = presence_change(item.event, me)
    if available is None:
        return []
    return presence_stanzas(conv, item.to, available, addressing, budget)


def conversation_presence(
    item: ConversationPresence, addressing: Addressing, budget: int
) -> list[Stanza]:
    return presence_stanzas(item.conversation, item.to, item.available, addressing, budget)


def presence_change(event: StoredEvent, me: AgentId) -> bool | None:
    """True: ``event`` puts ``me`` in the chat; False: takes them out of it; None: neither."""
    match event:
        case ParticipantJoined(participant=who) | MemberJoined(agent=who):
            return True if who.kind is ParticipantKind.AGENT and who.id == me else None
        case ChatReturned(agent=who):
            return True if who.id == me else None
        case ParticipantLeft(participant=who) | MemberLeft(agent=who):
            return False if who.kind is ParticipantKind.AGENT and who.id == me else None
        case StateChanged(state=ConversationState.ENDED):
            return False
        case _:
            return None


def presence_stanzas(
    conv: Conversation, to: str, available: bool, addressing: Addressing, budget: int
) -> list[Stanza]:
    """Presence from the conversation JID to ``to``; available ones carry the visitor's
    name as nick, cut to fit ``budget`` or left out. Empty when not even that fits."""
    sender = addressing.conversation_jid(conv.id)
    if not available:
        presence = new_presence(sender=sender, to=to, ptype="unavailable")
        return [presence] if fits(presence, budget) else []
    nick = xml_safe(conv.visitor_name)
    if nick:
        whole = _available(sender, to, nick)
        if fits(whole, budget):
            return [whole]
        room = budget - serialised_size(_available(sender, to, "x")) + 1
        if room > xml_size(texts.ELLIPSIS):
            cut = _available(sender, to, cut_to_fit(nick, room, texts.ELLIPSIS))
            if fits(cut, budget):
                return [cut]
    bare = new_presence(sender=sender, to=to)
    return [bare] if fits(bare, budget) else []


def _available(sender: str, to: str, nick: str) -> Stanza:
    presence = new_presence(sender=sender, to=to)
    set_nick(presence, nick)
    return presence
