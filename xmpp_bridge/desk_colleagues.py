"""``!transfer``, ``!invite``, ``!consult`` and ``!leave``: the answers to an agent who
brings colleagues into a chat or leaves one (the rules are ``business.participants``);
and a supervisor's ``!whisper`` and ``!barge`` (``business.supervision``)."""

from __future__ import annotations

from business import commands as c
from business.model import Agent, OfferKind
from business.services import Services
from xmpp_bridge import texts
from xmpp_bridge.custom import (
    ColleagueCommand,
    ConsultWith,
    InviteTo,
    LeaveChat,
    SupervisorCommand,
    TransferTo,
    WhisperText,
)

_KINDS = {
    TransferTo: OfferKind.TRANSFER,
    InviteTo: OfferKind.INVITE,
    ConsultWith: OfferKind.CONSULT,
}


async def supervise(services: Services, agent: Agent, command: SupervisorCommand) -> str:
    """``!whisper`` and ``!barge``; the text to answer the supervisor with."""
    if isinstance(command, WhisperText):
        await services.supervision.whisper(
            c.Whisper(
                supervisor_id=agent.id,
                conversation_id=command.conversation_id,
                text=command.text,
            )
        )
        return texts.WHISPERED
    await services.supervision.barge(
        c.Barge(supervisor_id=agent.id, conversation_id=command.conversation_id)
    )
    return texts.BARGED


async def colleagues(services: Services, agent: Agent, command: ColleagueCommand) -> str:
    """Do what ``command`` asks for ``agent``; the text to answer them with. Refusals
    raise ``DomainError`` (the dispatcher answers them)."""
    if isinstance(command, LeaveChat):
        await services.participants.leave(
            c.LeaveConversation(agent_id=agent.id, conversation_id=command.conversation_id)
        )
        return texts.LEFT_CHAT
    kind = _KINDS[type(command)]
    conv = await services.participants.offer(
        c.OfferToColleague(
            agent_id=agent.id,
            conversation_id=command.conversation_id,
            kind=kind,
            target=command.target,
            note=command.note or None,
        )
    )
    if conv.offered_to is None or conv.offer_expires_at is None:
        return texts.transferred_to_queue(conv.queue)
    seconds = services.participants.seconds_left(conv)
    return texts.offered_to_colleague(kind.value, conv.offered_name or "the agent", seconds)
