"""What an agent other than the owner writes in a chat (``member_post``), and the message
an agent takes an offer with (``accepted_message``): an invited agent's or a barged-in
supervisor's reaches the visitor, a consultant's only the agents (``desk.message``)."""

from __future__ import annotations

from datetime import datetime

from business.changes import Change, ChangeBuilder
from business.conversation import Conversation
from business.errors import Forbidden, InvalidTransition
from business.model import AgentId, ConversationState, EventId, Member, MemberRole


def member_post(
    conv: Conversation,
    member: Member,
    *,
    id: EventId,
    text: str,
    client_msg_id: str | None,
    now: datetime,
    attachments: tuple[str, ...] = (),
) -> Change:
    """A message by a member: an invited agent's reaches the visitor, a consultant's
    only the agents (``desk.message``, its files with it)."""
    if not conv.is_open:
        raise InvalidTransition("this conversation has ended")
    if conv.state is ConversationState.QUEUED:
        raise InvalidTransition("the chat waits in the queue for its next agent")
    if member.role is MemberRole.MONITOR:
        raise Forbidden("you are monitoring this chat: !whisper to the agent, or !barge in")
    if member.visible:
        return conv.post(
            id=id,
            sender=member.as_participant(),
            text=text,
            client_msg_id=client_msg_id,
            now=now,
            attachments=attachments,
        )
    if member.role is not MemberRole.CONSULTANT:
        raise Forbidden("take the chat first: reply to the offer or !accept")
    builder = ChangeBuilder(conv)
    builder.desk_message(
        id=id,
        sender=member.as_participant(),
        text=text,
        client_msg_id=client_msg_id,
        at=now,
        attachments=attachments,
    )
    return builder.done()


def accepted_message(
    builder: ChangeBuilder,
    agent_id: AgentId,
    *,
    id: EventId,
    text: str,
    client_msg_id: str | None,
    now: datetime,
    attachments: tuple[str, ...] = (),
) -> None:
    """The message an agent took an offer with, after it was accepted in ``builder``."""
    conv = builder.conversation
    member = conv.member(agent_id)
    consulting = member is not None and member.role is MemberRole.CONSULTANT
    sender = member.as_participant() if member is not None else conv.agent
    write = builder.desk_message if consulting else builder.message
    write(
        id=id,
        sender=sender,
        text=text,
        client_msg_id=client_msg_id,
        at=now,
        attachments=attachments,
    )
