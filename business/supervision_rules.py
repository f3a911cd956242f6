"""Supervisors in a conversation, as changes of the aggregate: monitoring (silent copies
of everything), whispering to the agents, barging in.

A monitor is a member nobody is told about: their joining and leaving are events only the
agent desk stores (``member.joined``/``.left`` with role ``monitor``), which the bridge
shows to nobody but them. A whisper is an event only agents see. Barging in is a visible
``participant.joined``: from then on the visitor sees the supervisor and what they write.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from business.changes import Change, ChangeBuilder
from business.conversation import Conversation
from business.errors import Forbidden, InvalidTransition
from business.events import MemberJoined, Whispered
from business.member_ports import MemberJoin, MemberRoleSet
from business.model import (
    Agent,
    AgentRole,
    ConversationId,
    ConversationState,
    EventId,
    Member,
    MemberRole,
    Monitor,
)


def check_supervises(agent: Agent, conv: Conversation) -> None:
    """Refuse, saying why, unless ``agent`` supervises the queue of ``conv``."""
    if agent.role is not AgentRole.SUPERVISOR:
        raise Forbidden("only supervisors can do that")
    if conv.queue not in agent.supervises:
        raise Forbidden(f"you do not supervise queue {conv.queue}")


def add_monitors(builder: ChangeBuilder, monitors: tuple[Monitor, ...], now: datetime) -> None:
    """Each of ``monitors`` not in the chat yet watches it from now on, with everything
    that happened in it before delivered to them too."""
    cid = builder.conversation.id
    for monitor in monitors:
        conv = builder.conversation
        if monitor.agent_id == conv.agent_id or conv.member(monitor.agent_id) is not None:
            continue
        member = Member(agent_id=monitor.agent_id, name=monitor.name, role=MemberRole.MONITOR)
        builder.set_members((*conv.members, member))
        joined = builder.add_hidden(_monitor_joined(cid, member, now))
        builder.write_member(
            MemberJoin(
                agent_id=member.agent_id,
                name=member.name,
                role=MemberRole.MONITOR,
                joined_pos=joined.pos,
                delivered_pos=0,
            )
        )


def _monitor_joined(
    cid: ConversationId, member: Member, now: datetime
) -> Callable[[int], MemberJoined]:
    return lambda pos: MemberJoined(
        conversation_id=cid,
        pos=pos,
        created_at=now,
        agent=member.as_participant(),
        role=MemberRole.MONITOR,
    )


def drop_monitors(builder: ChangeBuilder, monitors: tuple[Monitor, ...], now: datetime) -> None:
    """Those of ``monitors`` who watch the chat stop (it was offered to the agent they
    monitor, who did not take it)."""
    for monitor in monitors:
        member = builder.conversation.member(monitor.agent_id)
        if member is not None and member.role is MemberRole.MONITOR:
            builder.remove_member(monitor.agent_id, now)


def monitor(conv: Conversation, supervisor: Agent, now: datetime) -> Change:
    """``supervisor`` watches ``conv`` silently."""
    check_supervises(supervisor, conv)
    if not conv.is_open:
        raise InvalidTransition("this conversation has ended")
    if supervisor.id == conv.agent_id or conv.member(supervisor.id) is not None:
        raise InvalidTransition("you are in this chat already")
    builder = ChangeBuilder(conv)
    watcher = Monitor(agent_id=supervisor.id, name=supervisor.name, queues=(conv.queue,))
    add_monitors(builder, (watcher,), now)
    return builder.done()


def unmonitor(conv: Conversation, supervisor: Agent, now: datetime) -> Change | None:
    """``supervisor`` stops watching ``conv``; None if they were not."""
    member = conv.member(supervisor.id)
    if member is None or member.role is not MemberRole.MONITOR or not conv.is_open:
        return None
    builder = ChangeBuilder(conv)
    builder.remove_member(supervisor.id, now)
    return builder.done()


def whisper(
    conv: Conversation, supervisor: Agent, *, id: EventId, text: str, now: datetime
) -> Change:
    """A word to the agents in the chat; the visitor never sees it."""
    check_supervises(supervisor, conv)
    if not conv.is_open:
        raise InvalidTransition("this conversation has ended")
    builder = ChangeBuilder(conv)
    builder.add_hidden(
        lambda pos: Whispered(
            conversation_id=conv.id,
            pos=pos,
            created_at=now,
            id=id,
            by=supervisor.as_participant(),
            text=text,
        )
    )
    return builder.done()


def barge(conv: Conversation, supervisor: Agent, now: datetime) -> Change:
    """``supervisor`` joins the chat visibly: the visitor sees them join, and what they
    write from now on. It does not count against their capacity."""
    check_supervises(supervisor, conv)
    if not conv.is_open:
        raise InvalidTransition("this conversation has ended")
    if conv.state is ConversationState.QUEUED:
        raise InvalidTransition("the chat waits in the queue: there is nobody to join yet")
    if conv.state is ConversationState.BOT:
        raise InvalidTransition("the visitor is talking to the bot: there is nobody to join yet")
    if supervisor.id == conv.agent_id:
        raise InvalidTransition("you have this chat already")
    member = conv.member(supervisor.id)
    if member is not None and member.role is not MemberRole.MONITOR:
        raise InvalidTransition("you are in this chat already")
    builder = ChangeBuilder(conv)
    barged = Member(agent_id=supervisor.id, name=supervisor.name, role=MemberRole.SUPERVISOR)
    others = tuple(m for m in conv.members if m.agent_id != supervisor.id)
    builder.set_members((*others, barged))
    if member is not None:
        builder.write_member(MemberRoleSet(agent_id=supervisor.id, role=MemberRole.SUPERVISOR))
    joined = builder.joined(barged.as_participant(), MemberRole.SUPERVISOR.value, now)
    if member is None:
        builder.write_member(
            MemberJoin(
                agent_id=supervisor.id,
                name=supervisor.name,
                role=MemberRole.SUPERVISOR,
                joined_pos=joined.pos,
                delivered_pos=0,
            )
        )
    return builder.done()
