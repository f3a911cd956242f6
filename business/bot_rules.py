"""The bot's part of a conversation, as changes of the aggregate: the bot says something,
hands the chat over to the queue, or gets it back from its agent (``!bot``).

While a chat is ``bot`` it has no agent and no offer: the agent desk delivers nothing of
it, and the queue does not count it. The hand-over makes it ``queued`` as a start would
(``state.changed`` with the position), so the router offers it like a new chat and the
offer carries everything so far, the bot's part included. Sending it back is the mirror
of a transfer to a queue: the agent leaves visibly and is delivered up to there, and
only the agents see to whom it went (hidden ``transferred``, to the bot).
"""

from __future__ import annotations

from datetime import datetime

from business.bot_model import QuickReply
from business.changes import Change, ChangeBuilder
from business.conversation import Conversation
from business.errors import Forbidden, InvalidTransition
from business.events import Transferred
from business.member_rules import check_no_open_offer, keep_delivering_former_owner
from business.model import (
    AgentId,
    ConversationState,
    EventId,
    MemberRole,
    Participant,
    ParticipantKind,
    QueueName,
)
from business.rich import Rich

BOT = ConversationState.BOT


def bot_participant(name: str) -> Participant:
    """The bot as a sender: its configured name, no id (nobody reaches a bot)."""
    return Participant(kind=ParticipantKind.BOT, name=name)


def check_with_bot(conv: Conversation) -> None:
    if not conv.is_open:
        raise InvalidTransition("this conversation has ended")
    if conv.state is not BOT:
        raise InvalidTransition(f"the chat is {conv.state}, not with the bot")


def bot_says(
    conv: Conversation,
    *,
    id: EventId,
    bot: Participant,
    text: str,
    now: datetime,
    quick_replies: tuple[QuickReply, ...] = (),
    rich: Rich | None = None,
    misses: int | None = None,
) -> Change:
    """The bot's message to the visitor, with the menu's ``quick_replies`` or ``rich``
    content under it; ``misses``: its new count of misses in a row (None: unchanged)."""
    check_with_bot(conv)
    builder = ChangeBuilder(conv)
    builder.message(
        id=id,
        sender=bot,
        text=text,
        client_msg_id=None,
        at=now,
        quick_replies=quick_replies,
        rich=rich,
    )
    if misses is not None:
        builder.update(bot_misses=misses)
    return builder.done()


def hand_over(
    conv: Conversation,
    *,
    id: EventId,
    bot: Participant,
    text: str,
    position: int,
    now: datetime,
) -> Change:
    """The bot hands the chat to the queue, saying ``text`` first if it is not empty; the
    visitor waits at ``position``."""
    check_with_bot(conv)
    builder = ChangeBuilder(conv)
    if text:
        builder.message(id=id, sender=bot, text=text, client_msg_id=None, at=now)
    enter_queue(builder, queue=conv.queue, position=position, now=now)
    return builder.done()


def enter_queue(builder: ChangeBuilder, *, queue: QueueName, position: int, now: datetime) -> None:
    """The chat with the bot waits in ``queue`` at ``position`` from now on, as a chat
    that just started there would (``state.changed`` queued with the position; the
    transaction counts it in the queue's ``waiting``); the bot starts again with no
    misses should it come back. Whoever hands it over: the rules bot, or an integrator
    (``business.integrator_rules``)."""
    check_with_bot(builder.conversation)
    builder.transition(ConversationState.QUEUED, now)
    builder.update(queue=queue, queue_position=position, bot_misses=0)
    builder.state_changed(now)


def back_to_bot(conv: Conversation, *, by: AgentId, bot: Participant, now: datetime) -> Change:
    """The agent sends the visitor back to the queue's bot (``!bot``): they leave the chat
    visibly, as on a transfer to a queue, and monitors stop watching it; the bot starts
    again with no misses. Only the agent who has the active chat, with nobody else in it
    and no offer open."""
    if not conv.is_open:
        raise InvalidTransition("this conversation has ended")
    if conv.agent_id != by:
        raise Forbidden("only the agent who has the chat can send the visitor back to the bot")
    if conv.state is not ConversationState.ACTIVE:
        raise InvalidTransition(
            f"the chat is {conv.state}: only an active chat goes back to the bot"
        )
    check_no_open_offer(conv, now)
    others = [m for m in conv.members if m.role is not MemberRole.MONITOR]
    if others:
        raise InvalidTransition(
            f"{others[0].name} is in this chat too: they !leave first, or !transfer to them"
        )
    builder = ChangeBuilder(conv)
    old = conv.agent
    old_cursor = conv.agent_delivered_pos
    builder.left(old, "owner", now)
    builder.add_hidden(
        lambda pos: Transferred(conversation_id=conv.id, pos=pos, created_at=now, by=old, to=bot)
    )
    for monitor in conv.members:
        builder.remove_member(monitor.agent_id, now)
    builder.transition(BOT, now)
    builder.update(
        agent_id=None,
        agent_name=None,
        assigned_at=None,
        preferred_agent_id=None,
        last_offered_to=None,
        bot_misses=0,
    )
    builder.state_changed(now)
    keep_delivering_former_owner(builder, old, old_cursor)
    return builder.done()
