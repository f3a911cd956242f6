"""Bot-first queues: a queue with a bot (``Queue.bot``) starts its chats in state ``bot``;
the bot greets, answers what the visitor writes, and hands the chat over to the queue,
where it is routed and offered like a new one. An agent can send it back (``!bot``).

The bot is a port (``business.bot_ports.Bot``), one per ``BotKind``; this service asks it
outside any transaction, then stores what it said and does what it decided
(``business.bot_rules``). A chat is with the bot only while its state is ``bot``: the
message path checks that on the aggregate it already holds, so queues without a bot pay
nothing more.

The visitor's messages are answered after their batch committed and was acknowledged
(``hear`` queues the turns and returns), so a slow bot never holds up messages. Turns go
through group commit like messages: the turns asked for while one batch is
stored go together in the next, one read and one transaction for them all (a batch
takes one turn per conversation per round, so a conversation's turns are decided in
order, each on what the one before it did). A hand-over that finds the queue at its
maximum of waiting chats is refused as a start would be: the bot says so
(``busy_text``) and keeps the chat. A bot that fails, or a queue whose bot was switched
off meanwhile, hands over without a word: nobody is left talking to nothing.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections.abc import Mapping, Sequence
from enum import StrEnum

from business import commands as c
from business.access import agent_conversation
from business.batching import Batcher, one_by_one
from business.bot_model import DEFAULT_BOT_NAME, DEFAULT_BUSY_TEXT, BotConfig, BotKind
from business.bot_ports import Bot, BotAction, BotReply
from business.bot_rules import back_to_bot, bot_participant, bot_says, hand_over
from business.conversation import Change, Conversation
from business.errors import InvalidTransition
from business.events import MessagePosted
from business.model import (
    ConversationId,
    ConversationState,
    EventId,
    Queue,
    QueueName,
    TenantId,
    new_id,
)
from business.ports import Clock
from business.routing import Router
from business.starts import has_room
from business.transactions import Transaction, Transactions, retrying
from business.validation import Limits

logger = logging.getLogger(__name__)

BOT = ConversationState.BOT
MAX_BATCH = 256
"""Bot turns stored in one transaction at most."""
_SILENT_HANDOVER = BotReply(action=BotAction.HANDOVER)


class _Ask(StrEnum):
    GREET = "greet"
    ANSWER = "answer"
    FIRST = "first"
    """The message a chat started with, just after the greeting: a miss is neither said
    nor counted, the greeting's menu answers it already."""


@dataclasses.dataclass(frozen=True, slots=True)
class _Turn:
    conversation_id: ConversationId
    ask: _Ask
    message: MessagePosted | None = None


@dataclasses.dataclass(frozen=True, slots=True)
class _Decided:
    turn: _Turn
    config: BotConfig | None
    reply: BotReply | None


_QueueKey = tuple[TenantId, QueueName]


class BotService:
    def __init__(
        self,
        *,
        transactions: Transactions,
        router: Router,
        clock: Clock,
        limits: Limits,
        bots: Mapping[BotKind, Bot],
    ) -> None:
        self._tx = transactions
        self._router = router
        self._clock = clock
        self._limits = limits
        self._bots = dict(bots)
        self._batcher: Batcher[_Turn, Conversation | None] = Batcher(
            self._process, max_batch=MAX_BATCH
        )
        self._heard: dict[asyncio.Future[Conversation | None], MessagePosted] = {}
        """The turns ``hear`` queued and not yet done, with the message each answers."""

    async def begin(self, started: Conversation, first: MessagePosted | None) -> Conversation:
        """A chat just opened with its queue's bot: the bot greets, then answers the
        message the chat started with (if any). Returns the conversation after that.

        Both turns are queued before either is waited for: a message the visitor sends
        meanwhile (an API channel's burst) is heard after them, so answered after."""
        turns = [self._batcher.enqueue(_Turn(started.id, _Ask.GREET))]
        if first is not None:
            turns.append(self._batcher.enqueue(_Turn(started.id, _Ask.FIRST, first)))
        for outcome in await asyncio.gather(*turns, return_exceptions=True):
            if isinstance(outcome, BaseException):
                raise outcome
        return await self._current(started.id)

    def hear(self, messages: Sequence[MessagePosted]) -> None:
        """The visitor's ``messages`` to chats with the bot are stored: the bot answers
        each, in order, after this returns. The caller (a batch of messages) neither
        waits for the bot nor hears of its failures: the messages are stored and are
        acknowledged as such at once; a turn that failed is logged, and the visitor's
        next message is heard anew. The answers come after the messages (in ``seq``):
        they are stored once these are. ``settled`` waits for the turns."""
        for message in messages:
            heard = self._batcher.enqueue(_Turn(message.conversation_id, _Ask.ANSWER, message))
            self._heard[heard] = message
            heard.add_done_callback(self._answered)

    def _answered(self, heard: asyncio.Future[Conversation | None]) -> None:
        message = self._heard.pop(heard)
        if heard.cancelled():
            return
        error = heard.exception()
        if error is not None:
            logger.error(
                "conversation %s: the bot could not answer message %s: %r",
                message.conversation_id,
                message.id,
                error,
            )

    def unanswered(self) -> list[ConversationId]:
        """The conversations with a message the bot heard and has not answered yet."""
        return sorted({message.conversation_id for message in self._heard.values()})

    async def settled(self) -> None:
        """Return once the bot answered every message it heard so far (tests, shutdown)."""
        while self._heard:
            await asyncio.wait(list(self._heard))

    async def send_back(self, cmd: c.ReturnToBot) -> Conversation:
        """The agent sends the visitor back to the queue's bot (``!bot``), which greets
        them again; refused unless the queue has a bot and the agent has the active chat
        alone. Their place is free at once, so their queues move on."""
        sent = await retrying(lambda: self._send_back(cmd))
        logger.info("conversation %s sent back to the bot by agent %s", sent.id, cmd.agent_id)
        async with self._tx.read() as tx:
            agent = await tx.agents.get(cmd.agent_id)
        for queue in () if agent is None else agent.queues:
            await self._router.dispatch(sent.tenant_id, queue)
        await self._batcher.submit(_Turn(sent.id, _Ask.GREET))
        return await self._current(sent.id)

    async def _send_back(self, cmd: c.ReturnToBot) -> Conversation:
        async with self._tx() as tx:
            conv = await agent_conversation(tx, cmd.agent_id, cmd.conversation_id)
            queue = await tx.queues.get(conv.tenant_id, conv.queue)
            if queue is None or queue.bot is None:
                raise InvalidTransition(
                    f"queue {conv.queue} has no bot: there is nothing to send the visitor back to"
                )
            change = back_to_bot(
                conv,
                by=cmd.agent_id,
                bot=bot_participant(queue.bot.name),
                now=self._clock.now(),
            )
            sent = await tx.apply(change)
            await tx.commit()
        return sent

    async def _current(self, conversation_id: ConversationId) -> Conversation:
        async with self._tx.read() as tx:
            conv = await tx.conversations.get(conversation_id)
        assert conv is not None  # conversations are never deleted
        return conv

    # -- turns ----------------------------------------------------------------------

    async def _process(self, turns: Sequence[_Turn]) -> list[Conversation | BaseException | None]:
        """Every turn's outcome: the conversation after it, or None when it changed
        nothing (the chat is no longer with the bot, or the bot had nothing to say)."""
        outcomes: list[Conversation | BaseException | None] = [None] * len(turns)
        waiting = list(range(len(turns)))
        while waiting:
            this_round: list[int] = []
            later: list[int] = []
            seen: set[ConversationId] = set()
            for index in waiting:
                cid = turns[index].conversation_id
                (later if cid in seen else this_round).append(index)
                seen.add(cid)
            done = await self._round([turns[i] for i in this_round])
            for index, outcome in zip(this_round, done, strict=True):
                outcomes[index] = outcome
            waiting = later
        return outcomes

    async def _round(self, turns: Sequence[_Turn]) -> list[Conversation | BaseException | None]:
        """Turns of different conversations; a round that fails as a whole is done again
        turn by turn, so one bad turn never takes the others down."""
        try:
            return list(await self._together(turns))
        except Exception:
            if len(turns) == 1:
                raise
        return await one_by_one(turns, self._alone)

    async def _alone(self, turn: _Turn) -> Conversation | None:
        (outcome,) = await retrying(lambda: self._together([turn]))
        return outcome

    async def _together(self, turns: Sequence[_Turn]) -> list[Conversation | None]:
        decided = await self._decide(turns)
        outcomes, handed_over = await self._store(decided)
        for tenant_id, queue in sorted(handed_over):
            try:
                await self._router.dispatch(tenant_id, queue)
            except Exception:
                # The turns are stored: failing them now would have them done twice. The
                # chats wait in the queue for its next dispatch (an agent becoming ready,
                # a chat ending).
                logger.exception(
                    "queue %s of tenant %s: dispatch after a hand-over failed", queue, tenant_id
                )
        return outcomes

    async def _decide(self, turns: Sequence[_Turn]) -> list[_Decided]:
        """Ask the bots, outside any transaction (one read for the conversations and
        their queues' bots)."""
        async with self._tx.read() as tx:
            convs = await tx.conversations.get_many([t.conversation_id for t in turns])
            configs: dict[_QueueKey, BotConfig | None] = {}
            for seen in convs.values():
                key = (seen.tenant_id, seen.queue)
                if seen.state is BOT and key not in configs:
                    queue = await tx.queues.get(*key)
                    configs[key] = None if queue is None else queue.bot
        decided = []
        for turn in turns:
            conv = convs.get(turn.conversation_id)
            if conv is None or conv.state is not BOT:
                decided.append(_Decided(turn, None, None))
                continue
            config = configs[(conv.tenant_id, conv.queue)]
            reply = await self._ask(conv, config, turn)
            if turn.ask is _Ask.FIRST and reply is not None and reply.action is BotAction.MISS:
                reply = None
            decided.append(_Decided(turn, config, reply))
        return decided

    async def _ask(
        self, conv: Conversation, config: BotConfig | None, turn: _Turn
    ) -> BotReply | None:
        if config is None:
            return _SILENT_HANDOVER  # the queue's bot was switched off
        bot = self._bots.get(config.kind)
        if bot is None:
            logger.error("conversation %s: no bot of kind %s; handing over", conv.id, config.kind)
            return _SILENT_HANDOVER
        try:
            if turn.ask is _Ask.GREET:
                return await bot.greet(conv, config)
            assert turn.message is not None
            return await bot.answer(conv, config, turn.message)
        except Exception:
            logger.exception(
                "conversation %s: the %s bot failed; handing over", conv.id, config.kind
            )
            return _SILENT_HANDOVER

    async def _store(
        self, decided: Sequence[_Decided]
    ) -> tuple[list[Conversation | None], set[_QueueKey]]:
        outcomes: list[Conversation | None] = []
        handed_over: set[_QueueKey] = set()
        if all(d.reply is None for d in decided):
            return [None] * len(decided), handed_over
        async with self._tx() as tx:
            convs = await tx.conversations.get_many(
                [d.turn.conversation_id for d in decided if d.reply is not None],
                for_update=True,
            )
            queues: dict[_QueueKey, Queue] = {}
            applied = False
            for item in decided:
                conv = convs.get(item.turn.conversation_id)
                if item.reply is None or conv is None or conv.state is not BOT:
                    outcomes.append(None)  # moved on while the bot thought
                    continue
                change = await self._change(tx, conv, item.config, item.reply, queues)
                if change is None:
                    outcomes.append(None)
                    continue
                after = await tx.apply(change)
                applied = True
                outcomes.append(after)
                if after.state is ConversationState.QUEUED:
                    handed_over.add((after.tenant_id, after.queue))
                    logger.info("conversation %s handed over by the bot", after.id)
            if applied:
                await tx.commit()
        return outcomes, handed_over

    async def _change(
        self,
        tx: Transaction,
        conv: Conversation,
        config: BotConfig | None,
        reply: BotReply,
        queues: dict[_QueueKey, Queue],
    ) -> Change | None:
        bot = bot_participant(DEFAULT_BOT_NAME if config is None else config.name)
        now = self._clock.now()
        event_id = EventId(new_id())
        if reply.action is BotAction.HANDOVER:
            key = (conv.tenant_id, conv.queue)
            queue = queues.get(key) or await tx.queues.get(*key, for_update=True)
            assert queue is not None  # a conversation's queue is never removed
            if not has_room(queue, self._limits):
                busy = DEFAULT_BUSY_TEXT if config is None else config.busy_text
                menu = () if config is None else config.quick_replies
                return bot_says(conv, id=event_id, bot=bot, text=busy, now=now, quick_replies=menu)
            queues[key] = dataclasses.replace(queue, waiting=queue.waiting + 1)
            return hand_over(
                conv, id=event_id, bot=bot, text=reply.text, position=queue.waiting + 1, now=now
            )
        misses = 0 if reply.action is BotAction.ANSWER else conv.bot_misses + 1
        if not reply.text:
            if misses == conv.bot_misses:
                return None
            return Change(before=conv, conversation=dataclasses.replace(conv, bot_misses=misses))
        return bot_says(
            conv,
            id=event_id,
            bot=bot,
            text=reply.text,
            now=now,
            quick_replies=reply.quick_replies,
            misses=misses,
        )
