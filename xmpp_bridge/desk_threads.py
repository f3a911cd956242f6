"""Agent commands for messaging threads: ``!lock`` and ``!unlock``
(``business.threads``). Each returns the text of the answer; refusals are domain
errors, answered at the edge like any other."""

from __future__ import annotations

from business import commands as c
from business.model import Agent
from business.services import Services
from xmpp_bridge import texts_threads
from xmpp_bridge.custom import LockThread, UnlockThread


async def lock(services: Services, agent: Agent, command: LockThread | UnlockThread) -> str:
    locked = isinstance(command, LockThread)
    await services.threads.set_lock(
        c.LockThread(agent_id=agent.id, conversation_id=command.conversation_id, locked=locked)
    )
    return texts_threads.THREAD_LOCKED if locked else texts_threads.THREAD_UNLOCKED
