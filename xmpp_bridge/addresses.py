"""Which JID at the component stands for what: the engine, a queue or a conversation."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from slixmpp import JID
from slixmpp.jid import InvalidJID

from business.errors import InvalidInput
from business.model import ConversationId, QueueName

CONVERSATION_PREFIX = "c-"
QUEUE_PREFIX = "q-"
_RESERVED_PREFIXES = (CONVERSATION_PREFIX, QUEUE_PREFIX)


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

    Business lets a queue have any name, ``c-sales`` included, so the mapping keeps the
    two apart here: a local part starting with ``c-`` is always a conversation, and a
    queue whose name starts with ``c-`` or ``q-`` lives at ``q-<name>@``. Every queue
    has exactly one address and every address at most one meaning: ``q-sales@`` is
    nothing (``sales`` lives at ``sales@``), so no queue has two roster contacts.
    """

    component_jid: str
    attachment_url: Callable[[str], str] = field(default=str, compare=False)
    """Turns a message's attachment into the URL an agent gets (the engine's own files
    as signed URLs: ``business.file_links.FileLinks.lasting``); as it is by default."""

    def conversation_jid(self, conversation_id: ConversationId) -> str:
        return f"{CONVERSATION_PREFIX}{conversation_id}@{self.component_jid}"

    def queue_jid(self, queue: QueueName) -> str:
        local = f"{QUEUE_PREFIX}{queue}" if queue.startswith(_RESERVED_PREFIXES) else queue
        return f"{local}@{self.component_jid}"

    def target(self, bare_jid: str) -> Target:
        local, sep, domain = bare_jid.rpartition("@")
        if not sep:
            return ToEngine() if bare_jid == self.component_jid else Elsewhere()
        if domain != self.component_jid or not local:
            return Elsewhere()
        if local.startswith(CONVERSATION_PREFIX):
            rest = local[len(CONVERSATION_PREFIX) :]
            return ToConversation(ConversationId(rest)) if rest else Elsewhere()
        if local.startswith(QUEUE_PREFIX):
            rest = local[len(QUEUE_PREFIX) :]
            # Only names that need the prefix have it; anything else is no queue's address.
            return ToQueue(QueueName(rest)) if rest.startswith(_RESERVED_PREFIXES) else Elsewhere()
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
