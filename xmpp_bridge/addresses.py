"""Which JID at the component stands for what: the engine, a queue or a conversation."""

from __future__ import annotations

from dataclasses import dataclass

from slixmpp import JID
from slixmpp.jid import InvalidJID

from business.errors import InvalidInput
from business.model import ConversationId, QueueName

CONVERSATION_PREFIX = "c-"


@dataclass(frozen=True, slots=True)
class ToEngine:
    """The bare component JID: the engine itself."""


@dataclass(frozen=True, slots=True)
class ToQueue:
    queue: QueueName


@dataclass(frozen=True, slots=True)
class ToConversation:
    conversation_id: ConversationId


@dataclass(frozen=True, slots=True)
class Elsewhere:
    """Not at this component (cannot normally reach us) or an unusable local part."""


Target = ToEngine | ToQueue | ToConversation | Elsewhere


@dataclass(frozen=True, slots=True)
class Addressing:
    """Maps between JIDs at ``component_jid`` and business names.

    Conversation ids and queue names are lower-case already (uuid hex; the business
    layer validates queue names), which matters because XMPP lower-cases local parts.
    A local part starting with ``c-`` is always a conversation, never a queue.
    """

    component_jid: str

    def conversation_jid(self, conversation_id: ConversationId) -> str:
        return f"{CONVERSATION_PREFIX}{conversation_id}@{self.component_jid}"

    def queue_jid(self, queue: QueueName) -> str:
        return f"{queue}@{self.component_jid}"

    def target(self, bare_jid: str) -> Target:
        local, sep, domain = bare_jid.rpartition("@")
        if not sep:
            return ToEngine() if bare_jid == self.component_jid else Elsewhere()
        if domain != self.component_jid or not local:
            return Elsewhere()
        if local.startswith(CONVERSATION_PREFIX):
            rest = local[len(CONVERSATION_PREFIX) :]
            return ToConversation(ConversationId(rest)) if rest else Elsewhere()
        return ToQueue(QueueName(local))


class JidNormalizer:
    """``business.ports.AddressNormalizer`` for XMPP: an agent's address is the bare JID
    of their account, written as servers write it (stringprep: case, compatibility
    forms such as fullwidth letters), so it matches the sender their server stamps."""

    def normalize(self, address: str) -> str:
        try:
            jid = JID(address.strip())
        except InvalidJID as error:
            raise InvalidInput(f"{address!r} is not a valid XMPP address: {error}") from None
        if not jid.user or not jid.domain or jid.resource:
            raise InvalidInput(f"{address!r} is not a bare XMPP address (user@domain)")
        return str(jid.bare)
