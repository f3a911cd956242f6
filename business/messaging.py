"""Messages, typing and read state between visitors and agents."""

from __future__ import annotations

from business import commands as c
from business.access import agent_conversation, visitor_conversation
from business.conversation import Conversation
from business.errors import InvalidInput, InvalidTransition
from business.events import MessagePosted, TypingChanged
from business.model import EventId, Participant, ParticipantKind, new_id
from business.ports import Clock
from business.transactions import Transaction, Transactions, retrying
from business.validation import Limits, check_client_msg_id, check_text


class MessagingService:
    def __init__(self, *, transactions: Transactions, clock: Clock, limits: Limits) -> None:
        self._tx = transactions
        self._clock = clock
        self._limits = limits

    async def send_visitor_message(self, cmd: c.SendVisitorMessage) -> MessagePosted:
        """Store a visitor message once; a retry with the same client_msg_id returns the
        stored message and publishes nothing."""
        return await retrying(lambda: self._send_visitor_message(cmd))

    async def _send_visitor_message(self, cmd: c.SendVisitorMessage) -> MessagePosted:
        check_client_msg_id(cmd.client_msg_id)
        check_text(cmd.text, self._limits)
        async with self._tx() as tx:
            conv = await visitor_conversation(tx, cmd.visitor_id, cmd.conversation_id)
            existing = await tx.events.get_message_by_client_id(conv.id, cmd.client_msg_id)
            if existing is not None:
                if existing.sender.kind is not ParticipantKind.VISITOR:
                    # The agent's client chose the same id: acking their message as this
                    # one would drop the visitor's text while claiming it was stored.
                    raise InvalidInput("client_msg_id is already used in this conversation")
                return existing
            change = conv.post(
                id=EventId(new_id()),
                sender=conv.visitor,
                text=cmd.text,
                client_msg_id=cmd.client_msg_id,
                now=self._clock.now(),
            )
            await tx.apply(change)
            await tx.commit()
        message = change.events[0]
        assert isinstance(message, MessagePosted)
        return message

    async def send_agent_message(self, cmd: c.SendAgentMessage) -> MessagePosted:
        """Store an agent message once per ``client_msg_id`` (their client's message id)."""
        return await retrying(lambda: self._send_agent_message(cmd))

    async def _send_agent_message(self, cmd: c.SendAgentMessage) -> MessagePosted:
        check_text(cmd.text, self._limits)
        if cmd.client_msg_id is not None:
            check_client_msg_id(cmd.client_msg_id)
        async with self._tx() as tx:
            conv = await agent_conversation(tx, cmd.agent_id, cmd.conversation_id)
            client_msg_id = cmd.client_msg_id
            if client_msg_id is not None:
                existing = await tx.events.get_message_by_client_id(conv.id, client_msg_id)
                if existing is not None and existing.sender.id == cmd.agent_id:
                    return existing
                if existing is not None:
                    # Somebody else's message has this id (message ids are the agent
                    # client's choice): store this one without it rather than lose it.
                    client_msg_id = None
            change = conv.post(
                id=EventId(new_id()),
                sender=conv.agent,
                text=cmd.text,
                client_msg_id=client_msg_id,
                now=self._clock.now(),
            )
            await tx.apply(change)
            await tx.commit()
        message = change.events[0]
        assert isinstance(message, MessagePosted)
        return message

    async def set_visitor_typing(self, cmd: c.SetVisitorTyping) -> None:
        async with self._tx() as tx:
            conv = await visitor_conversation(
                tx, cmd.visitor_id, cmd.conversation_id, for_update=False
            )
            if not conv.is_open:
                raise InvalidTransition("this conversation has ended")
            _announce_typing(tx, conv, conv.visitor, cmd.composing)

    async def set_agent_typing(self, cmd: c.SetAgentTyping) -> None:
        """Typing in an ended chat is dropped without a word: the agent's client sends
        chat states on its own, and an error for them would only confuse it."""
        async with self._tx() as tx:
            conv = await agent_conversation(tx, cmd.agent_id, cmd.conversation_id, for_update=False)
            if conv.is_open:
                _announce_typing(tx, conv, conv.agent, cmd.composing)

    async def mark_visitor_read(self, cmd: c.MarkVisitorRead) -> None:
        return await retrying(lambda: self._mark_visitor_read(cmd))

    async def _mark_visitor_read(self, cmd: c.MarkVisitorRead) -> None:
        async with self._tx() as tx:
            conv = await visitor_conversation(tx, cmd.visitor_id, cmd.conversation_id)
            change = conv.mark_read_by_visitor(cmd.seq)
            if change is not None:
                await tx.apply(change)
                await tx.commit()


def _announce_typing(
    tx: Transaction, conv: Conversation, sender: Participant, composing: bool
) -> None:
    tx.announce(conv, [TypingChanged(conversation_id=conv.id, sender=sender, composing=composing)])
