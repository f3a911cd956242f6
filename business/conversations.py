"""Conversations' lifecycle: start, context, end (the end itself: ``business.ending``)."""

from __future__ import annotations

import logging

from business import commands as c
from business.access import agent_conversation, any_conversation, visitor_conversation
from business.bots import BotService
from business.conversation import Conversation
from business.delivery_ownership import DeliveryOwnership
from business.ending import Ending
from business.errors import InvalidTransition, NotFound, TooLarge
from business.events import VisitorMoved
from business.messaging import MessagingService
from business.model import ConversationId, ConversationState
from business.ports import Clock
from business.redaction_fields import field_redactor
from business.redaction_policy import RedactionPolicy
from business.routing import Router
from business.starts import Starter
from business.threads import check_visitor_may_end
from business.transactions import Transactions, retrying
from business.validation import (
    Limits,
    check_client_msg_id,
    check_context,
    check_fields,
    check_text,
)
from business.visit import check_started_by, moved_to
from business.wrap_up import read_wrap_up

logger = logging.getLogger(__name__)


class ConversationService:
    def __init__(
        self,
        *,
        transactions: Transactions,
        router: Router,
        messaging: MessagingService,
        bots: BotService,
        clock: Clock,
        limits: Limits,
        redaction: RedactionPolicy | None = None,
        ownership: DeliveryOwnership | None = None,
    ) -> None:
        """``ownership``: this process's delivery ownership, which owns what it starts
        (none: the notifier claims what it is given to deliver)."""
        self._tx = transactions
        self._router = router
        self._messaging = messaging
        self._bots = bots
        self._clock = clock
        self._limits = limits
        self._redaction = redaction or RedactionPolicy()
        self._ending = Ending(
            transactions=transactions, router=router, clock=clock, redaction=self._redaction
        )
        # A retried start often arrives while the first is still running (the widget timed
        # out): the starter's batches run one at a time, so it finds the first one.
        self._starter = Starter(
            transactions=transactions,
            clock=clock,
            limits=limits,
            redaction=self._redaction,
            ownership=ownership,
        )

    async def start_conversation(self, cmd: c.StartConversation) -> Conversation:
        """Open a conversation, or return the visitor's open one in that queue.

        Returning the open one makes a retried start harmless and keeps a visitor with
        several tabs in one chat, as visitors expect. A queue holding its maximum of
        waiting conversations refuses new ones (``QueueFull``). The cost does not grow
        with the queue: the position comes from the queue's waiting count. Starts are
        stored in batches (``business.starts``) and routed by coalesced dispatches. In a
        queue with a bot the chat starts with the bot instead (``business.bots``), which
        has greeted (and answered the first message) when this returns.
        """
        limits = self._limits
        check_fields(cmd.form, limits.max_form_fields, limits, "form")
        check_context(cmd.context, limits)
        if cmd.started_by is not None:
            check_started_by(cmd.started_by)
        if cmd.message is not None:
            check_client_msg_id(cmd.message.client_msg_id)
            check_text(cmd.message.text, limits, "message.text")
        started = await self._starter.start(cmd)
        conversation = started.conversation
        if started.existing:
            if cmd.message is not None:
                await self._messaging.send_visitor_message(
                    c.SendVisitorMessage(
                        visitor_id=cmd.visitor_id,
                        conversation_id=conversation.id,
                        client_msg_id=cmd.message.client_msg_id,
                        text=cmd.message.text,
                    )
                )
            return await self.get_conversation(conversation.id)
        logger.info("conversation %s started in queue %s", conversation.id, conversation.queue)
        if conversation.state is ConversationState.BOT:
            return await self._bots.begin(conversation, started.first_message)
        changed = await self._router.dispatch(conversation.tenant_id, conversation.queue)
        if conversation.id in changed:
            return changed[conversation.id]
        # Not changed by this dispatch; maybe by one that ran meanwhile for another start.
        return await self.get_conversation(conversation.id)

    async def update_context(self, cmd: c.UpdateContext) -> int:
        """Merge into the context of the visitor's open conversations; returns how many.

        A new page address in an open conversation is announced (``VisitorMoved``) for
        the agent's notice; the same address again, or only a new title, is not.

        The merged custom fields of a conversation stay within ``max_custom_fields``: an
        update that would pass it is refused whole (``TooLarge``), so what the agent sees
        of a visitor cannot grow without end.
        """
        return await retrying(lambda: self._update_context(cmd))

    async def _update_context(self, cmd: c.UpdateContext) -> int:
        limits = self._limits
        check_context(cmd.context, limits)
        async with self._tx() as tx:
            visitor = await tx.visitors.get(cmd.visitor_id)
            if visitor is None:
                raise NotFound("unknown visitor")
            redact = await field_redactor(self._redaction, tx, visitor.tenant_id)
            context = redact.context(cmd.context)
            updates = []
            for conv in await tx.conversations.list_for_visitor(visitor.id):
                locked = await tx.conversations.get(conv.id, for_update=True)
                assert locked is not None
                change = locked.with_context(context)
                if len(change.conversation.context.custom) > limits.max_custom_fields:
                    raise TooLarge(
                        f"context.custom would have more than {limits.max_custom_fields} "
                        "fields in all"
                    )
                updates.append(change)
            for change in updates:
                await tx.apply(change)
                before, after = change.before, change.conversation
                assert before is not None
                if after.is_open and moved_to(before.context.page_url, after.context.page_url):
                    # For the agent's short notice; the page is in the context anyway.
                    page = after.context
                    assert page.page_url is not None
                    moved = VisitorMoved(
                        conversation_id=after.id, url=page.page_url, title=page.page_title
                    )
                    tx.announce(after, [moved])
            await tx.commit()
        return len(updates)

    async def end_by_visitor(self, cmd: c.EndConversationByVisitor) -> Conversation:
        """End the conversation; ending an ended one changes nothing."""
        return await retrying(lambda: self._end_by_visitor(cmd))

    async def _end_by_visitor(self, cmd: c.EndConversationByVisitor) -> Conversation:
        async with self._tx() as tx:
            conv = await visitor_conversation(tx, cmd.visitor_id, cmd.conversation_id)
            if not conv.is_open:
                return conv
            check_visitor_may_end(await tx.queues.get(conv.tenant_id, conv.queue))
            ended = await self._ending.end(tx, conv, conv.visitor)
        await self._ending.after(conv)
        return ended

    async def end_by_agent(self, cmd: c.EndConversationByAgent) -> Conversation:
        return await retrying(lambda: self._end_by_agent(cmd))

    async def _end_by_agent(self, cmd: c.EndConversationByAgent) -> Conversation:
        async with self._tx() as tx:
            conv = await agent_conversation(tx, cmd.agent_id, cmd.conversation_id)
            if not conv.is_open:
                raise InvalidTransition("this conversation has already ended")
            queue = await tx.queues.get(conv.tenant_id, conv.queue)
            wrap_up = read_wrap_up(cmd.wrap_up, queue)
            ended = await self._ending.end(tx, conv, conv.agent, wrap_up)
        await self._ending.after(conv)
        return ended

    async def get_conversation(self, conversation_id: ConversationId) -> Conversation:
        async with self._tx.read() as tx:
            return await any_conversation(tx, conversation_id)
