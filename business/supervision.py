"""Supervisors: monitor a conversation, or all of an agent's chats, silently; whisper to
the agents in a chat; barge in. Only in the queues they supervise (``Agent.supervises``).
The rules are ``business.supervision_rules``.

Monitoring an agent is remembered on the agent (``Agent.monitored_by``): their open chats
get the supervisor as a monitor at once, and each chat offered to them later gets them
with the offer (``business.offer_rules.make_offer``), which reads nothing more since the
router reads the agent anyway.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Sequence
from dataclasses import dataclass

from business import commands as c
from business.access import tenant_conversation
from business.conversation import Conversation
from business.errors import DomainError, Forbidden, InvalidInput, NotFound
from business.events import Whispered
from business.model import Agent, AgentId, AgentRole, ConversationId, EventId, Monitor, new_id
from business.ports import AddressNormalizer, Clock
from business.redaction_policy import RedactionPolicy
from business.routing import Router
from business.supervision_rules import barge, monitor, unmonitor, whisper
from business.transactions import Transaction, Transactions, retrying
from business.validation import Limits, check_text

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True, kw_only=True)
class Monitoring:
    """What ``monitor``/``unmonitor`` did: the conversations it started or stopped
    watching, and the agent if it was about all of an agent's chats."""

    conversations: Sequence[ConversationId]
    agent: Agent | None = None


class SupervisionService:
    def __init__(
        self,
        *,
        transactions: Transactions,
        clock: Clock,
        limits: Limits,
        addresses: AddressNormalizer,
        router: Router,
        redaction: RedactionPolicy | None = None,
    ) -> None:
        self._redaction = redaction or RedactionPolicy()
        self._router = router
        """Its tenant lock keeps a dispatch from offering the agent a chat between
        remembering the monitor and adding it to the agent's chats."""
        self._tx = transactions
        self._clock = clock
        self._limits = limits
        self._addresses = addresses

    async def monitor(self, cmd: c.Monitor) -> Monitoring:
        """Start (or with ``stop``, end) watching a conversation (its id) or all chats of
        an agent (their address)."""
        target = cmd.target.strip()
        if not target:
            raise InvalidInput("name a conversation id or an agent's address")
        if "@" in target:
            return await self._monitor_agent(cmd, target)
        cid = ConversationId(target.removeprefix("c-").split("@")[0])
        done = await retrying(lambda: self._monitor_one(cmd.supervisor_id, cid, stop=cmd.stop))
        return Monitoring(conversations=[cid] if done else [])

    async def _monitor_one(
        self, supervisor_id: AgentId, cid: ConversationId, *, stop: bool
    ) -> bool:
        async with self._tx() as tx:
            supervisor = await _supervisor(tx, supervisor_id)
            conv = await tenant_conversation(tx, supervisor.tenant_id, cid, for_update=True)
            now = self._clock.now()
            change = unmonitor(conv, supervisor, now) if stop else monitor(conv, supervisor, now)
            if change is None:
                return False
            await tx.apply(change)
            await tx.commit()
        logger.info(
            "supervisor %s %s conversation %s",
            supervisor_id,
            "stopped monitoring" if stop else "monitors",
            cid,
        )
        return True

    async def _monitor_agent(self, cmd: c.Monitor, address: str) -> Monitoring:
        async with self._tx.read() as tx:
            supervisor = await _supervisor(tx, cmd.supervisor_id)
        async with self._router.tenant_lock(supervisor.tenant_id):
            return await self._monitor_agent_locked(cmd, address)

    async def _monitor_agent_locked(self, cmd: c.Monitor, address: str) -> Monitoring:
        async with self._tx() as tx:
            supervisor = await _supervisor(tx, cmd.supervisor_id)
            await tx.locks.tenant(supervisor.tenant_id)
            agent = await tx.agents.get_by_address(
                self._addresses.normalize(address), for_update=True
            )
            if agent is None or agent.tenant_id != supervisor.tenant_id:
                raise NotFound(f"no agent has the address {address}")
            queues = tuple(q for q in agent.queues if q in supervisor.supervises)
            if not queues and not cmd.stop:
                raise Forbidden(f"you supervise none of {agent.name}'s queues")
            others = tuple(m for m in agent.monitored_by if m.agent_id != supervisor.id)
            watcher = Monitor(agent_id=supervisor.id, name=supervisor.name, queues=queues)
            monitors = others if cmd.stop else (*others, watcher)
            await tx.agents.set_monitored_by(agent.id, monitors)
            chats = [
                conv
                for conv in await tx.conversations.list_open_for_agent(agent.id)
                # Theirs or offered to them (the monitor came with the offer).
                if agent.id in (conv.agent_id, conv.offered_to)
                and conv.queue in supervisor.supervises
            ]
            await tx.commit()
        done: list[ConversationId] = []
        for conv in chats:
            one = functools.partial(self._monitor_one, supervisor.id, conv.id, stop=cmd.stop)
            try:
                if await retrying(one):
                    done.append(conv.id)
            except DomainError as exc:
                # Ended or changed hands meanwhile: the others go on.
                logger.info("conversation %s: monitoring unchanged: %s", conv.id, exc)
        return Monitoring(conversations=done, agent=agent)

    async def whisper(self, cmd: c.Whisper) -> Whispered:
        """A word to the agents in the chat, from the supervisor; never the visitor's."""
        text = check_text(cmd.text.strip(), self._limits, "whisper")
        return await retrying(lambda: self._whisper(cmd, text))

    async def _whisper(self, cmd: c.Whisper, text: str) -> Whispered:
        async with self._tx() as tx:
            supervisor = await _supervisor(tx, cmd.supervisor_id)
            conv = await tenant_conversation(
                tx, supervisor.tenant_id, cmd.conversation_id, for_update=True
            )
            text = await self._redaction.redact(tx, conv.tenant_id, text, conv.id)
            change = whisper(
                conv, supervisor, id=EventId(new_id()), text=text, now=self._clock.now()
            )
            await tx.apply(change)
            await tx.commit()
        (said,) = change.events
        assert isinstance(said, Whispered)
        return said

    async def barge(self, cmd: c.Barge) -> Conversation:
        """The supervisor joins the chat visibly; what they write reaches the visitor."""
        return await retrying(lambda: self._barge(cmd))

    async def _barge(self, cmd: c.Barge) -> Conversation:
        async with self._tx() as tx:
            supervisor = await _supervisor(tx, cmd.supervisor_id)
            conv = await tenant_conversation(
                tx, supervisor.tenant_id, cmd.conversation_id, for_update=True
            )
            after = await tx.apply(barge(conv, supervisor, self._clock.now()))
            await tx.commit()
        logger.info("supervisor %s barged into conversation %s", cmd.supervisor_id, conv.id)
        return after


async def _supervisor(tx: Transaction, agent_id: AgentId) -> Agent:
    agent = await tx.agents.get(agent_id)
    if agent is None:
        raise NotFound("unknown agent")
    if agent.role is not AgentRole.SUPERVISOR:
        raise Forbidden("only supervisors can do that")
    return agent
