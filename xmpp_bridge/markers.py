"""XEP-0333 chat markers between agents and visitors, both ways.

- Agent to visitor: a ``displayed`` marker names a stanza the engine sent the agent. The
  bridge remembers the ids of the messages it sent (``sent``) with their ``seq``, and
  turns a marker into ``up_to_seq`` for a visible ``read`` (``read_by_agent``). Unknown
  ids (sent before a restart, or forgotten) are ignored; a marker that does not go
  beyond the last read stored for the conversation (``forwarded``) is dropped here
  already (``business.read_markers`` checks again against what is stored).
- Visitor to agent: the visitor's ``read`` (``VisitorRead``) becomes a ``displayed``
  marker for the newest message of each agent at or below it, named by their client's
  stanza id, which the bridge learns from the agents' messages as they are published
  (``learn``). Best effort: after a restart only messages written since are known.

Everything is in memory and bounded: the least recently used conversations and ids
are forgotten first. No read, no write on the message path.
"""

from __future__ import annotations

import logging
import re
from collections import OrderedDict, deque
from collections.abc import Awaitable, Callable, Sequence
from typing import Generic, TypeVar

from business.conversation import Conversation
from business.events import MessagePosted, StoredEvent, TypingChanged, VisitorRead
from business.model import AgentId, ConversationId, ParticipantKind
from xmpp_bridge.custom import AgentOffer, ConversationUpdate, DisplayedMarker, Outbound
from xmpp_bridge.link import Link, StanzaTooLarge

logger = logging.getLogger(__name__)

MAX_SENT_IDS = 20_000
"""Stanza ids of sent messages remembered, across all conversations."""
MAX_CONVERSATIONS = 5_000
"""Conversations whose marker state is remembered."""
AGENT_MESSAGES_KEPT = 20
"""Agent messages remembered per conversation: a visitor reads the recent ones."""

_PART_SUFFIX = re.compile(r"-p?[0-9]+$")
"""A split message's later parts (``-p2``) and its files (``-1``) carry the message's
id with a suffix (``converters.outbound``)."""
_CLIENT_PREFIX = "xmpp:"
_HASHED_PREFIX = "xmpp:sha256:"

Ephemeral = TypingChanged | VisitorRead
"""What the agent desk hears of the visitor now or never (never stored)."""

_K = TypeVar("_K")
_V = TypeVar("_V")


class _Bounded(Generic[_K, _V]):
    """A mapping that forgets its least recently used entries beyond ``limit``."""

    def __init__(self, limit: int) -> None:
        self._items: OrderedDict[_K, _V] = OrderedDict()
        self._limit = limit

    def get(self, key: _K) -> _V | None:
        value = self._items.get(key)
        if value is not None:
            self._items.move_to_end(key)
        return value

    def put(self, key: _K, value: _V) -> None:
        self._items[key] = value
        self._items.move_to_end(key)
        while len(self._items) > self._limit:
            self._items.popitem(last=False)

    def __len__(self) -> int:
        return len(self._items)


def agent_stanza_id(message: MessagePosted) -> str | None:
    """The stanza id the agent's client gave ``message`` (``client_msg_id_for`` undone),
    or None when it cannot be told (none, or hashed because it was odd)."""
    client_msg_id = message.client_msg_id
    if client_msg_id is None or not client_msg_id.startswith(_CLIENT_PREFIX):
        return None
    if client_msg_id.startswith(_HASHED_PREFIX):
        return None
    return client_msg_id[len(_CLIENT_PREFIX) :]


class MarkerBook:
    def __init__(
        self,
        *,
        max_sent_ids: int = MAX_SENT_IDS,
        max_conversations: int = MAX_CONVERSATIONS,
        agent_messages_kept: int = AGENT_MESSAGES_KEPT,
    ) -> None:
        self._sent: _Bounded[str, tuple[ConversationId, int]] = _Bounded(max_sent_ids)
        self._forwarded: _Bounded[ConversationId, int] = _Bounded(max_conversations)
        self._agent_messages: _Bounded[ConversationId, deque[tuple[int, AgentId, str]]] = _Bounded(
            max_conversations
        )
        self._displayed: _Bounded[tuple[ConversationId, AgentId], int] = _Bounded(max_conversations)
        self._kept = agent_messages_kept

    # -- agent to visitor -------------------------------------------------------------

    def sent(self, item: Outbound) -> None:
        """``item`` went to the link: remember the id of a message in it. An offer
        stands for the messages it quotes (its id is ``<conversation>-<pos>``, as
        ``converters.outbound`` gives it): displaying it is reading them."""
        if isinstance(item, ConversationUpdate) and isinstance(item.event, MessagePosted):
            event = item.event
            self._sent.put(event.id, (event.conversation_id, event.seq))
        elif isinstance(item, AgentOffer):
            quoted = [e.seq for e in item.earlier if isinstance(e, MessagePosted)]
            if quoted:
                cid = item.conversation.id
                self._sent.put(f"{cid}-{item.offer.pos}", (cid, max(quoted)))

    def read_by_agent(self, conversation_id: ConversationId, marked_id: str) -> int | None:
        """The ``up_to_seq`` a ``displayed`` marker for ``marked_id`` stands for, or None
        when the id is unknown, of another conversation, or no news."""
        known = self._sent.get(marked_id)
        if known is None:
            known = self._sent.get(_PART_SUFFIX.sub("", marked_id))
        if known is None:
            return None
        cid, seq = known
        if cid != conversation_id:
            return None
        forwarded = self._forwarded.get(cid)
        if forwarded is not None and seq <= forwarded:
            return None
        return seq

    def forwarded(self, conversation_id: ConversationId, up_to_seq: int) -> None:
        """The agent's read up to ``up_to_seq`` is stored: markers at or below it are
        no news any more."""
        forwarded = self._forwarded.get(conversation_id)
        if forwarded is None or up_to_seq > forwarded:
            self._forwarded.put(conversation_id, up_to_seq)

    # -- visitor to agent -------------------------------------------------------------

    def learn(self, events: Sequence[StoredEvent]) -> None:
        """Remember the agents' messages among ``events`` (published, in order)."""
        for event in events:
            if (
                isinstance(event, MessagePosted)
                and event.sender.kind is ParticipantKind.AGENT
                and event.sender.id is not None
                and (stanza_id := agent_stanza_id(event)) is not None
            ):
                kept = self._agent_messages.get(event.conversation_id)
                if kept is None:
                    kept = deque(maxlen=self._kept)
                    self._agent_messages.put(event.conversation_id, kept)
                kept.append((event.seq, AgentId(event.sender.id), stanza_id))

    def displayed_for(self, read: VisitorRead) -> list[tuple[AgentId, str]]:
        """(agent, their stanza id) to mark displayed for the visitor's ``read``: each
        agent's newest known message at or below it, if not marked already."""
        kept = self._agent_messages.get(read.conversation_id)
        newest: dict[AgentId, tuple[int, str]] = {}
        for seq, agent_id, stanza_id in kept or ():
            if seq <= read.up_to_seq:
                newest[agent_id] = (seq, stanza_id)
        markers: list[tuple[AgentId, str]] = []
        for agent_id, (seq, stanza_id) in newest.items():
            key = (read.conversation_id, agent_id)
            done = self._displayed.get(key)
            if done is None or seq > done:
                self._displayed.put(key, seq)
                markers.append((agent_id, stanza_id))
        return markers


async def send_displayed(
    book: MarkerBook,
    link: Link,
    conversation: Conversation,
    read: VisitorRead,
    address_of: Callable[[AgentId], Awaitable[str | None]],
) -> None:
    """The visitor's ``read`` as ``displayed`` markers to the agents; now or never."""
    for agent_id, stanza_id in book.displayed_for(read):
        to = await address_of(agent_id)
        if to is None or not link.connected:
            continue
        marker = DisplayedMarker(conversation=conversation, to=to, marked_id=stanza_id)
        try:
            link.send(marker)
        except StanzaTooLarge as exc:
            logger.warning("conversation %s: displayed marker not sent: %s", conversation.id, exc)
