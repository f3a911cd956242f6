"""The bridge's outbound values (``xmpp_bridge.custom``) to the stanzas that carry them."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import datetime
from typing import TypeGuard, assert_never

from business.conversation import Conversation
from business.events import (
    ChatReturned,
    DeskMessage,
    IdleNoticed,
    MemberJoined,
    MemberLeft,
    MessagePosted,
    MessageUpdated,
    NoteAdded,
    OfferClosed,
    OfferMade,
    ParticipantJoined,
    ParticipantLeft,
    ReadMarked,
    StateChanged,
    StoredEvent,
    Transferred,
    VisitorIdentified,
    Whispered,
    WrapUpRecorded,
)
from business.model import AgentId, ConversationState, MemberRole, ParticipantKind
from business.outbound_threads import is_opening_message
from xmpp_bridge import texts, texts_idle, texts_rich, texts_threads
from xmpp_bridge.addresses import Addressing
from xmpp_bridge.converters._element_build import chat_message
from xmpp_bridge.converters._markers import (
    set_displayed,
    set_markable,
    set_receipt_request,
    set_replace,
)
from xmpp_bridge.converters._stanza import (
    Stanza,
    fits,
    new_message,
    serialised_size,
    set_body,
    set_chat_state,
    set_delay,
    set_nick,
    set_oob,
    set_receipt,
)
from xmpp_bridge.converters.offer import offer_text
from xmpp_bridge.converters.presence import conversation_presence, offer_presence, update_presence
from xmpp_bridge.converters.replies import error_reply, queue_presence
from xmpp_bridge.converters.sizes import MIN_SPLIT_ROOM, split_to_fit, xml_safe
from xmpp_bridge.custom import (
    AgentOffer,
    ConversationPresence,
    ConversationUpdate,
    DisplayedMarker,
    ErrorReply,
    Outbound,
    QueuePresence,
    Receipt,
    TextReply,
    VisitorTyping,
)
from xmpp_bridge.i18n import notices_for
from xmpp_bridge.settings import DEFAULT_STANZA_BUDGET

_PROBE_PART = 10**7
"""A part number with more digits than any real split has: measuring a part with it
leaves room for the id of every part."""


def is_offer(
    event: StoredEvent, conversation: Conversation, recipient: AgentId | None = None
) -> TypeGuard[OfferMade]:
    """Whether ``event`` is the offer to ``recipient`` (None: whoever the conversation
    is delivered to now, offered to them or taken by them since): it is sent as an
    ``AgentOffer``, which needs the events before it. An offer to somebody else is not
    sent."""
    me = recipient if recipient is not None else conversation.desk_agent_id
    return isinstance(event, OfferMade) and event.agent.id is not None and event.agent.id == me


def custom_to_stanza(
    item: Outbound, addressing: Addressing, *, budget: int = DEFAULT_STANZA_BUDGET
) -> list[Stanza]:
    """The stanzas for one outbound value, in sending order; possibly none.

    Messages to agents come from the conversation JID, are of type chat, carry the
    event id as stanza id (so a resend is recognisable) and the visitor's name as
    XEP-0172 nick. The agent's own messages are never echoed back. The conversation's
    presence comes with the offer (before it) and with the events that put the agent
    in the chat or take them out of it (after them): see ``converters.presence``.

    No stanza takes more than ``budget`` bytes on the wire: an offer is abridged
    (``offer_text``); a body too long for one stanza goes as several messages, each
    with everything else the first one has, whose ids are the first one's followed by
    ``-p2``, ``-p3`` …, and whose bodies join back to the whole; an error's text is cut.
    Only what cannot be shortened (addresses of thousands of bytes) can exceed it, and
    ``Link`` refuses to send that.
    """
    match item:
        case AgentOffer():
            return [*offer_presence(item, addressing, budget), _offer(item, addressing, budget)]
        case ConversationUpdate():
            return [*_update(item, addressing, budget), *update_presence(item, addressing, budget)]
        case VisitorTyping(conversation=conversation, to=to, composing=composing):
            if conversation.agent_id is None:
                return []
            msg = new_message(sender=addressing.conversation_jid(conversation.id), to=to)
            set_chat_state(msg, "composing" if composing else "paused")
            return [msg]
        case DisplayedMarker(conversation=conversation, to=to, marked_id=marked_id):
            msg = new_message(sender=addressing.conversation_jid(conversation.id), to=to)
            set_displayed(msg, marked_id)
            return [msg] if fits(msg, budget) else []
        case TextReply(sender=sender, to=to, text=text, stanza_id=stanza_id):
            return _Chat(sender=sender, to=to, stanza_id=stanza_id).split(text, budget)
        case ErrorReply():
            return [error_reply(item, budget)]
        case Receipt(origin=origin, stanza_id=stanza_id):
            msg = new_message(
                sender=origin.recipient, to=origin.sender, mtype=None, stanza_id=stanza_id
            )
            set_receipt(msg, origin.stanza_id or "")
            # A receipt is worth nothing without the id it confirms, however long that is.
            return [msg] if fits(msg, budget) else []
        case QueuePresence():
            return [queue_presence(item, addressing)]
        case ConversationPresence():
            return conversation_presence(item, addressing, budget)
        case _:
            assert_never(item)


@dataclass(frozen=True, slots=True, kw_only=True)
class _Chat:
    """A chat message with everything but its body: what each part of it carries."""

    sender: str
    to: str
    stanza_id: str | None
    nick: str | None = None
    """XEP-0172: the visitor's name, on what comes from them (they are the contact)."""
    active: bool = False
    """XEP-0085 ``<active/>``: tells the client we do chat states."""
    delay: tuple[datetime, str] | None = None
    """XEP-0203 (when, by whom) for something sent late."""
    oob: str | None = None
    marked: bool = False
    """What somebody in the chat wrote: markable (XEP-0333) and asking for a receipt
    (XEP-0184), so the visitor learns when the agent has read it."""
    replaces: str | None = None
    """XEP-0308: the id of the message this one corrects."""

    def build(self, body: str, stanza_id: str | None) -> Stanza:
        if self.replaces is None and self.oob is None:  # nearly every message: as XML
            msg = chat_message(
                sender=self.sender,
                to=self.to,
                stanza_id=stanza_id,
                body=body,
                marked=self.marked,
                nick=self.nick,
                active=self.active,
            )
        else:
            msg = new_message(sender=self.sender, to=self.to, stanza_id=stanza_id)
            set_body(msg, body)
            if self.marked:
                set_markable(msg)
                set_receipt_request(msg)
            if self.replaces is not None:
                set_replace(msg, self.replaces)
            if self.oob is not None:
                set_oob(msg, self.oob)
            if self.nick is not None:
                set_nick(msg, self.nick)
            if self.active:
                set_chat_state(msg, "active")
        if self.delay is not None:
            set_delay(msg, *self.delay)
        return msg

    def room(self, budget: int, prefix: str = "") -> int:
        """Bytes left for the body after ``prefix`` in a part with the longest id."""
        probe = self.build(prefix + "x", self.part_id(_PROBE_PART))
        return budget - serialised_size(probe) + 1

    def part_id(self, number: int) -> str | None:
        if self.stanza_id is None or number == 1:
            return self.stanza_id
        return f"{self.stanza_id}-p{number}"

    def split(self, text: str, budget: int, *, prefix: str = "") -> list[Stanza]:
        """``prefix + text`` in one message if it fits, else ``text`` split over several,
        each starting with ``prefix``."""
        text, prefix = xml_safe(text), xml_safe(prefix)
        whole = self.build(prefix + text, self.stanza_id)
        if fits(whole, budget):
            return [whole]
        room = self.room(budget, prefix)
        if room < MIN_SPLIT_ROOM:
            return [whole]  # nothing here to shorten; the link refuses it
        return [
            self.build(prefix + piece, self.part_id(number))
            for number, piece in enumerate(split_to_fit(text, room), start=1)
        ]


def _monitoring(item: ConversationUpdate, me: AgentId) -> bool:
    """Whether ``me`` only watches the chat: everything they get is marked ``[monitor]``
    and names who said it, the visitor too."""
    if item.watching:
        return True
    member = item.conversation.member(me)
    return member is not None and member.role is MemberRole.MONITOR


def _delay(
    delayed: bool, event: StoredEvent, addressing: Addressing
) -> tuple[datetime, str] | None:
    return (event.created_at, addressing.component_jid) if delayed else None


def _update(item: ConversationUpdate, addressing: Addressing, budget: int) -> list[Stanza]:
    conv = item.conversation
    event = item.event
    me = item.recipient if item.recipient is not None else conv.desk_agent_id
    if me is None:
        return []
    say = notices_for(item.language)  # the notices about the visitor and the chat
    text: str | None = None
    match event:
        case MessagePosted():
            return _posted(item, event, me, addressing, budget)
        case DeskMessage():
            return _desk_message(item, event, me, addressing, budget)
        case MessageUpdated():
            return _corrected(item, event, me, addressing, budget)
        case ParticipantJoined(participant=who):
            if who.id != me:
                text = say.joined(who.name)
        case ParticipantLeft(participant=who):
            if not (who.kind is ParticipantKind.AGENT and who.id == me):
                text = say.left(who.name)
        case MemberJoined(agent=who, role=role):
            # Monitors come and go unannounced.
            if who.id != me and role is not MemberRole.MONITOR:
                text = say.member_joined(who.name, role.value)
        case MemberLeft(agent=who, role=role):
            if who.id != me and role is not MemberRole.MONITOR:
                text = say.left(who.name)
        case Whispered(by=who, text=said):
            if who.id != me:
                text = texts.whispered_by(who.name) + said
        case Transferred(by=by, to=to, queue=queue):
            # The new agent learnt of it from the offer, the old one from their command.
            if me not in (by.id, None if to is None else to.id):
                text = say.transferred(by.name, None if to is None else to.name, queue)
        case StateChanged(state=state):
            if state is ConversationState.ENDED:
                text = say.chat_ended
        case ReadMarked():
            pass
        case WrapUpRecorded(code=code, note=wrap_note):
            text = texts.wrap_up_recorded(code, wrap_note)
        case OfferClosed(agent=who, kind=kind, outcome=outcome):
            # The offered agent is told by the notifier (the chat may have nobody to
            # deliver to by then); the others of a colleague's offer here.
            if who.id != me:
                text = texts.colleague_answered(who.name, kind.value, outcome.value)
        case OfferMade():
            pass  # the offer to ``me`` goes as an ``AgentOffer``
        case ChatReturned():
            if me == conv.agent_id:
                text = say.chat_returned
        case VisitorIdentified(changes=changes):
            text = say.visitor_identified(changes)
        case IdleNoticed(agent=who, kind=kind, minutes=minutes):
            if who.id == me:
                text = texts_idle.idle_notice(say.language, kind, minutes)
        case NoteAdded(by=who, text=note):
            # The author typed it in this window and was answered then.
            if who.id != me:
                text = texts.note_by(who.name, note)
        case _:
            assert_never(event)
    if text is None:
        return []
    if _monitoring(item, me):
        text = texts.MONITOR_PREFIX + text
    notice = _Chat(
        sender=addressing.conversation_jid(conv.id),
        to=item.to,
        stanza_id=f"{conv.id}-{event.pos}",
        delay=_delay(item.delayed, event, addressing),
    )
    return notice.split(text, budget)


def _posted(
    item: ConversationUpdate,
    event: MessagePosted,
    me: AgentId,
    addressing: Addressing,
    budget: int,
) -> list[Stanza]:
    conv = item.conversation
    who = event.sender
    mine = who.kind is ParticipantKind.AGENT and who.id == me
    if mine and not is_opening_message(event.client_msg_id):
        return []  # they typed it in this window
    watching = _monitoring(item, me)
    by_visitor = who.kind is ParticipantKind.VISITOR and not watching
    chat = _Chat(
        sender=addressing.conversation_jid(conv.id),
        to=item.to,
        stanza_id=event.id,
        nick=who.name if by_visitor else None,
        active=True,
        delay=_delay(item.delayed, event, addressing),
        marked=True,
    )
    stanzas: list[Stanza] = []
    # A bot's buttons (an integrator's bot may send them into a chat an agent has) are
    # the visitor's to click; the agent reads what they were, as in an offer.
    language = item.language
    said = event.text + texts_rich.bot_options([q.label for q in event.quick_replies], language)
    said = texts_rich.with_rich(said, event.rich, language)
    if event.reply_to is not None:
        said = texts_rich.visitor_chose(who.name, event.reply_to, language)
    if said.strip():
        # Only the visitor speaks as the contact; anyone else is named in every part.
        prefix = "" if by_visitor else texts.said_by(who.name, who.kind)
        if mine:
            prefix = texts_threads.OPENED_WITH
        if watching:
            prefix = texts.MONITOR_PREFIX + prefix
        stanzas.extend(chat.split(said, budget, prefix=prefix))
    stanzas.extend(_files(chat, event.attachments, addressing))
    return stanzas


def _desk_message(
    item: ConversationUpdate,
    event: DeskMessage,
    me: AgentId,
    addressing: Addressing,
    budget: int,
) -> list[Stanza]:
    """A consultant's message to the other agents: their text, named, then each file as
    a visitor's file goes (a signed link, XEP-0066 with the body equal to it)."""
    who = event.sender
    if who.id == me:
        return []
    conv = item.conversation
    chat = _Chat(
        sender=addressing.conversation_jid(conv.id),
        to=item.to,
        stanza_id=f"{conv.id}-{event.pos}",  # a notice's, as it always had
        delay=_delay(item.delayed, event, addressing),
    )
    prefix = texts.consulted_by(who.name)
    if _monitoring(item, me):
        prefix = texts.MONITOR_PREFIX + prefix
    stanzas: list[Stanza] = []
    if event.text.strip():
        stanzas.extend(chat.split(event.text, budget, prefix=prefix))
    elif event.attachments:
        stanzas.extend(chat.split(prefix.rstrip(), budget))  # who sends the files
    stanzas.extend(_files(chat, event.attachments, addressing))
    return stanzas


def _files(chat: _Chat, attachments: tuple[str, ...], addressing: Addressing) -> list[Stanza]:
    """Each file as its own message after ``chat``'s text, with everything that has."""
    stanzas = []
    for number, attachment in enumerate(attachments, start=1):
        url = addressing.attachment_url(attachment)
        # Clients show an XEP-0066 file inline only when the body is exactly the URL,
        # so a file's message is never split (an address that long is refused).
        file = dataclasses.replace(chat, stanza_id=f"{chat.stanza_id}-{number}", oob=url)
        stanzas.append(file.build(url, file.stanza_id))
    return stanzas


def _corrected(
    item: ConversationUpdate,
    event: MessageUpdated,
    me: AgentId,
    addressing: Addressing,
    budget: int,
) -> list[Stanza]:
    """Another participant's correction, as an XEP-0308 correction of the message it
    relayed (whose stanza id is the event id); the author's own is not echoed. Too long
    for one stanza, it goes as a new message instead (a correction cannot be split)."""
    conv = item.conversation
    who = event.sender
    if who.kind is ParticipantKind.AGENT and who.id == me:
        return []
    by_visitor = who.kind is ParticipantKind.VISITOR
    chat = _Chat(
        sender=addressing.conversation_jid(conv.id),
        to=item.to,
        stanza_id=event.id,
        nick=who.name if by_visitor else None,
        delay=_delay(item.delayed, event, addressing),
        replaces=event.replaces,
    )
    prefix = "" if by_visitor else texts.said_by(who.name, who.kind)
    whole = chat.build(xml_safe(prefix + event.text), event.id)
    if fits(whole, budget):
        return [whole]
    return dataclasses.replace(chat, replaces=None).split(event.text, budget, prefix=prefix)


def _offer(item: AgentOffer, addressing: Addressing, budget: int) -> Stanza:
    conv = item.conversation
    chat = _Chat(
        sender=addressing.conversation_jid(conv.id),
        to=item.to,
        stanza_id=f"{conv.id}-{item.offer.pos}",
        nick=conv.visitor_name,
        active=True,
        delay=_delay(item.delayed, item.offer, addressing),
        marked=True,  # it quotes the visitor: displaying it reads them
    )
    room = budget - serialised_size(chat.build("x", chat.stanza_id)) + 1
    text = offer_text(
        conv,
        item.offer,
        item.earlier,
        room=room,
        say=notices_for(item.language),
        attachment_url=addressing.attachment_url,
    )
    return chat.build(text, chat.stanza_id)
