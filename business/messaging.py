"""Messages, typing and read state between visitors and agents."""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Mapping, Sequence
from datetime import datetime

from business import commands as c
from business.access import (
    agents_own,
    any_conversation,
    in_the_chat,
    visitor_conversation,
    visitors_own,
)
from business.batching import Batcher, one_by_one
from business.bots import BotService
from business.conversation import Change, Conversation
from business.errors import Conflict, DomainError, Forbidden, InvalidInput, InvalidTransition
from business.events import DeskMessage, MessagePosted, TypingChanged, VisitorRead
from business.file_model import ref_file_id
from business.hold import HoldService, check_agent_may_write
from business.inactivity import IdlePolicies
from business.inactivity_rules import OFF, after_message
from business.member_messages import member_post
from business.model import (
    ConversationId,
    ConversationState,
    EventId,
    OfferKind,
    Participant,
    ParticipantKind,
    QueueName,
    TenantId,
    new_id,
)
from business.offer_rules import accept_with_message
from business.ports import Clock
from business.redaction_policy import BatchRedaction, RedactionPolicy
from business.routing import Router
from business.threads import check_visitor_may_write
from business.transactions import Transaction, Transactions, retrying
from business.validation import Limits, check_attachments, check_client_msg_id, check_text

logger = logging.getLogger(__name__)

MAX_BATCH = 256
"""Messages stored in one transaction at most (group commit)."""

_Post = c.SendVisitorMessage | c.SendAgentMessage
Posted = MessagePosted | DeskMessage
"""A stored message: to the chat, or (a consultant's) only to the agents in it."""


class MessagingService:
    """Messages, typing and read marks.

    Messages go through group commit: those that arrive while a batch is being stored
    are decided one by one in arrival order, stored in one transaction (each kind of
    write in one trip) and acknowledged together once it committed. A batch that fails
    to commit is decided again message by message, so one bad message never takes the
    others down, and nothing is acknowledged that was not committed.

    A batch is first stored without looking for the messages it might repeat: a retried
    ``client_msg_id`` is rare, and the database's unique key on it turns a repeat into
    ``Conflict`` at commit, which rolls the batch back. The batch is then decided again
    with the stored messages read first (``careful``), which answers each repeat with
    the message stored the first time.
    """

    def __init__(
        self,
        *,
        transactions: Transactions,
        clock: Clock,
        limits: Limits,
        router: Router | None = None,
        hold: HoldService | None = None,
        bots: BotService | None = None,
        redaction: RedactionPolicy | None = None,
        idle: IdlePolicies | None = None,
    ) -> None:
        self._tx = transactions
        self._redaction = redaction or RedactionPolicy()
        self._clock = clock
        self._limits = limits
        self._router = router
        """Moves the queue along after a message that took an offered chat."""
        self._hold = hold
        """Brings a held chat back after the visitor wrote to it (``business.hold``)."""
        self._bots = bots
        """Answers what the visitor wrote to a chat with the bot (``business.bots``)."""
        self._idle = idle
        """The queues' inactivity rules: a message sets the chat's next deadline
        (``business.inactivity_rules``) in the change it makes anyway."""
        self._batcher: Batcher[_Post, Posted] = Batcher(self._post_batch, max_batch=MAX_BATCH)

    async def send_visitor_message(self, cmd: c.SendVisitorMessage) -> MessagePosted:
        """Store a visitor message once; a retry with the same client_msg_id returns the
        stored message and publishes nothing."""
        check_client_msg_id(cmd.client_msg_id)
        if any(ref_file_id(ref) is None for ref in cmd.attachments):
            # Only the visitor's own files, checked by business.files.visitor_attachments.
            raise InvalidInput("a visitor's attachments must be files they uploaded")
        if cmd.text or not cmd.attachments:
            check_text(cmd.text, self._limits)
        posted = await self._batcher.submit(cmd)
        assert isinstance(posted, MessagePosted)
        return posted

    async def send_agent_message(self, cmd: c.SendAgentMessage) -> Posted:
        """Store an agent message once per ``client_msg_id`` (their client's message id);
        with ``attachments`` (file URLs) the text may be empty. A consultant's is a
        ``DeskMessage`` the visitor never sees."""
        if cmd.attachments:
            check_attachments(cmd.attachments, self._limits)
        if any(ref_file_id(ref) is None for ref in cmd.copied):
            raise InvalidInput("copied files must be the engine's own")
        if cmd.text or not (cmd.attachments or cmd.copied):
            check_text(cmd.text, self._limits)
        if cmd.client_msg_id is not None:
            check_client_msg_id(cmd.client_msg_id)
        return await self._batcher.submit(cmd)

    async def _post_batch(self, posts: Sequence[_Post]) -> Sequence[Posted | BaseException]:
        try:
            return await self._post_together(posts, careful=False)
        except Conflict:
            # A repeat, or another process raced it: nothing of it is stored. Once more
            # with the stored messages read first.
            if len(posts) == 1:
                return [await self._post_alone(posts[0])]
            try:
                return await self._post_together(posts, careful=True)
            except Exception as error:
                logger.debug("a batch of %d messages failed twice: %r", len(posts), error)
        except Exception:
            if len(posts) == 1:
                raise
        # The batch did not commit (one message broke the flush, or it raced twice):
        # nothing of it is stored. Each message alone now.
        return await one_by_one(posts, self._post_alone)

    async def _post_alone(self, post: _Post) -> Posted:
        async def attempt() -> Posted:
            (outcome,) = await self._post_together([post], careful=True)
            if isinstance(outcome, BaseException):
                raise outcome
            return outcome

        return await retrying(attempt)

    async def _post_together(
        self, posts: Sequence[_Post], *, careful: bool
    ) -> list[Posted | BaseException]:
        """Decide every post in order and store them in one transaction. A refused post
        (ended, not yours) is that post's outcome; a failed commit raises. ``careful``:
        read the stored messages with the posts' ``client_msg_id`` first (otherwise a
        repeat fails the commit with ``Conflict``)."""
        outcomes: list[Posted | BaseException] = []
        accepted: set[tuple[TenantId, QueueName]] = set()
        held: set[tuple[TenantId, ConversationId]] = set()
        to_bot: list[MessagePosted] = []
        async with self._tx() as tx:
            conversations = dict(
                await tx.conversations.get_many(
                    [post.conversation_id for post in posts],
                    for_update=True,
                    optimistic=not careful,
                )
            )
            known: dict[tuple[ConversationId, str], Posted] = {}
            if careful:
                known.update(
                    await tx.events.find_messages(
                        [(p.conversation_id, p.client_msg_id) for p in posts if p.client_msg_id]
                    )
                )
            policies = (
                {}
                if self._idle is None
                else await self._idle.for_queues(
                    tx, sorted({(v.tenant_id, v.queue) for v in conversations.values()})
                )
            )
            now = self._clock.now()
            applied = False
            redact = BatchRedaction(self._redaction, tx)
            for post in posts:
                conv = conversations.get(post.conversation_id)
                try:
                    cursor = 0
                    if _takes_transfer(post, conv):  # rare: one read then
                        cursor = await _taking_cursor(tx, post, conv)
                    post = await _redacted(post, conv, redact)
                    change = _decide(post, conv, known, now, cursor)
                except DomainError as refusal:
                    if careful:
                        outcomes.append(refusal)
                        continue
                    # Decided on a cached copy, which another process may have changed
                    # (the agent is someone else now), or a retry of a message stored
                    # before the chat ended: decide again on the stored conversation,
                    # with what the message may repeat.
                    conv = await tx.conversations.get(post.conversation_id, for_update=True)
                    if conv is not None:
                        conversations[post.conversation_id] = conv
                    if post.client_msg_id is not None:
                        key = (post.conversation_id, post.client_msg_id)
                        known.update(await tx.events.find_messages([key]))
                    try:
                        cursor = 0
                        if _takes_transfer(post, conv):
                            cursor = await _taking_cursor(tx, post, conv)
                        post = await _redacted(post, conv, redact)
                        change = _decide(post, conv, known, now, cursor)
                    except DomainError as again:
                        outcomes.append(again)
                        continue
                if not isinstance(change, Change):  # a retry: stored already
                    outcomes.append(change)
                    continue
                if policies and change.events and isinstance(change.events[-1], MessagePosted):
                    where = (change.conversation.tenant_id, change.conversation.queue)
                    sender = change.events[-1].sender.kind
                    change = after_message(change, sender, policies.get(where, OFF))
                await tx.apply(change)
                applied = True
                if change.left_queue:
                    accepted.add((change.conversation.tenant_id, change.conversation.queue))
                if change.conversation.state is ConversationState.ON_HOLD:
                    # Only the visitor may write to a held chat (the cached state decides:
                    # no read for the others); it comes back once this is stored.
                    held.add((change.conversation.tenant_id, change.conversation.id))
                message = change.events[-1]  # after the acceptance it may have made
                assert isinstance(message, MessagePosted | DeskMessage)
                if change.conversation.state is ConversationState.BOT and isinstance(
                    post, c.SendVisitorMessage
                ):
                    # The first test is all a queue without a bot pays (the aggregate is
                    # at hand); the bot answers the visitor only (a chat with the bot
                    # has no agent to write to it).
                    assert isinstance(message, MessagePosted)
                    to_bot.append(message)
                conversations[post.conversation_id] = change.conversation
                if message.client_msg_id is not None:
                    known[(post.conversation_id, message.client_msg_id)] = message
                outcomes.append(message)
            if applied:
                await tx.commit()
        if to_bot and self._bots is not None:
            # First, before anything else can fail: the batch is committed, and a
            # retry would find the messages stored and hear nothing. Not awaited: a
            # slow bot (an external one's staging) must not hold up the acks of this
            # batch nor the next batch of everybody's messages.
            self._bots.hear(to_bot)
        if accepted and self._router is not None:
            for tenant_id, queue in sorted(accepted):
                try:
                    await self._router.dispatch(tenant_id, queue)
                except Exception:
                    # The batch is committed and must be acknowledged as such: failing
                    # it now would have the senders retry into "stored already". The
                    # chats wait in the queue for its next dispatch (an agent becoming
                    # ready, a chat ending).
                    logger.exception(
                        "queue %s of tenant %s: dispatch after a message batch failed",
                        queue,
                        tenant_id,
                    )
        if held and self._hold is not None:
            await self._resume(held)
        return outcomes

    async def _resume(self, held: set[tuple[TenantId, ConversationId]]) -> None:
        assert self._hold is not None
        for tenant_id, conversation_id in sorted(held):
            try:
                await self._hold.resume(tenant_id, conversation_id)
            except Exception:
                # The messages are stored and must be acknowledged as such; the chat
                # stays on hold and the visitor's next message tries again.
                logger.exception("conversation %s could not come back from hold", conversation_id)

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
            conv = await any_conversation(tx, cmd.conversation_id)
            member = conv.member(cmd.agent_id)
            if conv.agent_id == cmd.agent_id:
                sender = conv.agent
            elif member is None:
                raise Forbidden("you are not the agent of this conversation")
            elif member.visible:
                sender = member.as_participant()
            else:
                # A consultant or an agent only offered it: the visitor must not learn
                # of them; another agent is no business of theirs.
                return
            if conv.is_open:
                _announce_typing(tx, conv, sender, cmd.composing)

    async def mark_visitor_read(self, cmd: c.MarkVisitorRead) -> None:
        return await retrying(lambda: self._mark_visitor_read(cmd))

    async def _mark_visitor_read(self, cmd: c.MarkVisitorRead) -> None:
        async with self._tx() as tx:
            conv = await visitor_conversation(tx, cmd.visitor_id, cmd.conversation_id)
            change = conv.mark_read_by_visitor(cmd.seq)
            if change is not None:
                await tx.apply(change)
                await tx.commit()
                # For the agent desk: an XEP-0333 marker on the agent's messages.
                tx.announce(conv, [VisitorRead(conversation_id=conv.id, up_to_seq=cmd.seq)])


def _announce_typing(
    tx: Transaction, conv: Conversation, sender: Participant, composing: bool
) -> None:
    tx.announce(conv, [TypingChanged(conversation_id=conv.id, sender=sender, composing=composing)])


def _takes_transfer(post: _Post, conv: Conversation | None) -> bool:
    """Whether ``post`` is an agent taking a transfer offered to them by writing."""
    return (
        conv is not None
        and isinstance(post, c.SendAgentMessage)
        and conv.offered_to == post.agent_id
        and conv.offer_kind is OfferKind.TRANSFER
    )


async def _taking_cursor(tx: Transaction, post: _Post, conv: Conversation | None) -> int:
    """For an agent taking a transfer by writing: how far delivery to them as the
    offered member came, where delivery to them as the owner goes on from."""
    assert conv is not None
    assert isinstance(post, c.SendAgentMessage)
    return await tx.members.cursor(conv.id, post.agent_id) or 0


def _decide(
    post: _Post,
    conv: Conversation | None,
    known: Mapping[tuple[ConversationId, str], Posted],
    now: datetime,
    member_cursor: int = 0,
) -> Change | Posted:
    """The change a post makes, or the stored message it repeats."""
    client_msg_id = post.client_msg_id
    existing = None if client_msg_id is None else known.get((post.conversation_id, client_msg_id))
    if isinstance(post, c.SendVisitorMessage):
        conv = visitors_own(conv, post.visitor_id)
        sender = conv.visitor
        if existing is not None:
            if not isinstance(existing, MessagePosted) or (
                existing.sender.kind is not ParticipantKind.VISITOR
            ):
                # The agent's client chose the same id: acking their message as this
                # one would drop the visitor's text while claiming it was stored.
                raise InvalidInput("client_msg_id is already used in this conversation")
            return existing
        check_visitor_may_write(conv)
    else:
        if conv is not None and conv.offered_to == post.agent_id and existing is None:
            # Writing to the chat is how an offered agent takes it.
            return accept_with_message(
                conv,
                post.agent_id,
                id=EventId(new_id()),
                text=post.text,
                client_msg_id=client_msg_id,
                now=now,
                attachments=(*post.attachments, *_copied(post)),
                member_cursor=member_cursor,
            )
        if conv is not None and not conv.is_open and conv.last_offered_to == post.agent_id:
            raise InvalidTransition("this conversation has ended")
        check_agent_may_write(conv, post.agent_id)
        if existing is not None and existing.sender.id == post.agent_id:
            if conv is None or conv.agent_id != post.agent_id:
                in_the_chat(conv, post.agent_id)
            return existing
        if existing is not None:
            # Somebody else's message has this id (message ids are the agent client's
            # choice): store this one without it rather than lose it.
            client_msg_id = None
        if conv is not None and conv.agent_id != post.agent_id:
            in_the_chat(conv, post.agent_id)  # refuses whoever is not in it
            member = conv.member(post.agent_id)
            assert member is not None
            return member_post(
                conv,
                member,
                id=EventId(new_id()),
                text=post.text,
                client_msg_id=client_msg_id,
                now=now,
                attachments=(*post.attachments, *_copied(post)),
            )
        conv = agents_own(conv, post.agent_id)
        sender = conv.agent
    return conv.post(
        id=EventId(new_id()),
        sender=sender,
        text=post.text,
        client_msg_id=client_msg_id,
        now=now,
        attachments=(*post.attachments, *_copied(post)),
        reply_to=post.reply_to if isinstance(post, c.SendVisitorMessage) else None,
        rich=None if isinstance(post, c.SendVisitorMessage) else post.rich,
    )


async def _redacted(post: _Post, conv: Conversation | None, redact: BatchRedaction) -> _Post:
    """The post with its text as it is to be stored (``business.redaction_policy``)."""
    if conv is None or not post.text:
        return post
    text = await redact.text(conv.tenant_id, post.text, conv.id)
    return post if text == post.text else dataclasses.replace(post, text=text)


def _copied(post: _Post) -> tuple[str, ...]:
    return post.copied if isinstance(post, c.SendAgentMessage) else ()
