"""What the engine's own JID (``chat.<domain>``) answers: the engine words ``help``,
``status``, ``chats``, ``max <n>``, ``queues``, and for supervisors ``monitor`` and
``unmonitor``, as text.

One place for both ways of asking: a chat message with the word (``inbound``) and an
XEP-0050 ad-hoc command (``adhoc``) run the same parsed value through ``answer``, so an
agent gets the same text either way. Refusals are domain errors; each caller maps them
to its own kind of XMPP error at its edge.
"""

from __future__ import annotations

import re

from business.commands import Monitor
from business.errors import Forbidden, InvalidInput
from business.model import Agent, ConversationState
from business.services import Services
from xmpp_bridge import texts, texts_reawaken
from xmpp_bridge.addresses import Addressing
from xmpp_bridge.agent_commands import ENGINE_COMMANDS, engine_help, roles_of
from xmpp_bridge.custom import (
    EngineCapacity,
    EngineChats,
    EngineHelp,
    EngineMonitor,
    EngineQueues,
    EngineStatus,
    EngineUnmonitor,
    Payload,
    UnknownEngineCommand,
)

_ANSWERED = (
    EngineHelp,
    EngineStatus,
    EngineChats,
    EngineCapacity,
    EngineQueues,
    EngineMonitor,
    EngineUnmonitor,
    UnknownEngineCommand,
)


class EngineDesk:
    """Answers engine words for the agents of every tenant, each about their own (their
    address decides which: ``xmpp_bridge.tenancy``)."""

    def __init__(self, *, services: Services, addressing: Addressing, away_is_ready: bool) -> None:
        self._services = services
        self._addressing = addressing
        self._away_is_ready = away_is_ready

    def handles(self, payload: Payload) -> bool:
        """Whether ``answer`` knows what to say to ``payload``. A new engine word is
        answered here (a case in ``answer_for`` and its type in ``_ANSWERED``); then
        chat messages and ad-hoc commands both reach it."""
        return isinstance(payload, _ANSWERED)

    async def engine_user(self, address: str) -> Agent:
        """The agent at ``address`` (a bare JID), of whichever tenant; the engine serves
        nobody else."""
        agent = await self._services.agents.find_agent(address)
        if agent is None:
            raise Forbidden(texts.AGENTS_ONLY)
        return agent

    def check_allowed(self, agent: Agent, payload: Payload) -> None:
        """Refuse (``Forbidden``) an engine word ``agent`` may not use."""
        reason = ENGINE_COMMANDS.refusal(payload, roles_of(agent))
        if reason is not None:
            raise Forbidden(reason)

    async def answer(self, address: str, payload: Payload) -> str:
        """The text that answers engine word ``payload`` from ``address``."""
        return await self.answer_for(await self.engine_user(address), payload)

    async def answer_for(self, agent: Agent, payload: Payload) -> str:
        """The text that answers engine word ``payload`` from ``agent``."""
        self.check_allowed(agent, payload)
        match payload:
            case EngineHelp():
                return self.help(agent)
            case EngineStatus():
                return texts.engine_status(agent.ready, agent.max_chats, agent.queues)
            case EngineChats():
                chats = await self._services.agent_desk.chats(agent.id)
                listed = texts.engine_chats(
                    [
                        (
                            self._addressing.conversation_jid(conv.id),
                            conv.visitor_name,
                            conv.queue,
                            conv.agent_id != agent.id,
                        )
                        for conv in chats
                    ],
                    parked={
                        self._addressing.conversation_jid(conv.id)
                        for conv in chats
                        if conv.state is ConversationState.ON_HOLD and conv.agent_id == agent.id
                    },
                )
                reserved = await self._services.reawaken.reserved_chats(agent.id)
                if not reserved:
                    return listed
                return f"{listed}\n" + texts_reawaken.reserved_chats(
                    [
                        (
                            self._addressing.conversation_jid(r.conversation.id),
                            r.conversation.visitor_name,
                            r.conversation.queue,
                            r.left,
                        )
                        for r in reserved
                    ]
                )
            case EngineCapacity(count=count):
                if re.fullmatch(r"[0-9]{1,3}", count.strip()) is None:
                    raise InvalidInput(texts.MAX_USAGE)
                updated = await self._services.agent_desk.set_capacity(agent.id, int(count))
                return texts.engine_capacity(updated.max_chats)
            case EngineQueues():
                standings = await self._services.agent_desk.queues(agent)
                return texts.engine_queues(
                    [(s.queue, s.waiting, s.longest_wait) for s in standings]
                )
            case EngineMonitor(target=target) | EngineUnmonitor(target=target):
                stop = isinstance(payload, EngineUnmonitor)
                done = await self._services.supervision.monitor(
                    Monitor(supervisor_id=agent.id, target=target, stop=stop)
                )
                return texts.monitoring(
                    stop,
                    None if done.agent is None else done.agent.name,
                    [self._addressing.conversation_jid(cid) for cid in done.conversations],
                    bool(done.conversations),
                )
            case UnknownEngineCommand(command=command):
                return f"{texts.unknown_engine_command(command)}\n{self.help(agent)}"
            case _:
                raise TypeError(f"not an engine word answered here: {type(payload).__name__}")

    def help(self, agent: Agent) -> str:
        return engine_help(
            roles_of(agent),
            component=self._addressing.component_jid,
            away_is_ready=self._away_is_ready,
        )
