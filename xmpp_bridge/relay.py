"""Who besides a conversation's own agent gets its events: the members (invited,
consulted, offered a place), and whoever left in the events at hand, who still gets
everything up to their leaving (``business.member_ports``)."""

from __future__ import annotations

from collections.abc import Iterable

from business.conversation import Conversation
from business.events import (
    MemberLeft,
    OfferClosed,
    ParticipantLeft,
    StoredEvent,
    Transferred,
)
from business.model import AgentId, MemberRole, OfferKind, ParticipantKind


def watches(conversation: Conversation, events: Iterable[StoredEvent], agent_id: AgentId) -> bool:
    """Whether ``agent_id`` gets these events as a monitor: one now, or one who stopped
    in them (their copies up to the end are still marked)."""
    member = conversation.member(agent_id)
    if member is not None:
        return member.role is MemberRole.MONITOR
    return any(
        isinstance(e, MemberLeft) and e.agent.id == agent_id and e.role is MemberRole.MONITOR
        for e in events
    )


def other_recipients(conversation: Conversation, events: Iterable[StoredEvent]) -> list[AgentId]:
    """The agents other than ``desk_agent_id`` these events of ``conversation`` go to,
    in a stable order: its members, then those who left in them."""
    found = [m.agent_id for m in conversation.members]
    for event in events:
        who: str | None = None
        match event:
            case MemberLeft(agent=agent):
                who = agent.id
            case ParticipantLeft(participant=participant):
                if participant.kind is ParticipantKind.AGENT:
                    who = participant.id
            case OfferClosed(agent=agent, kind=kind):
                if kind is not OfferKind.ROUTE:
                    who = agent.id
            case Transferred(by=by):
                who = by.id
            case _:
                pass
        if who is not None and AgentId(who) not in found:
            found.append(AgentId(who))
    desk = conversation.desk_agent_id
    return [agent_id for agent_id in found if agent_id != desk]
