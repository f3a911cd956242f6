"""Agent commands for messaging threads: ``!lock`` and ``!unlock``
(``business.threads``), ``!newthread <text>`` (``business.outbound_threads``). Each
returns the text of the answer; refusals are domain errors, answered at the edge like
any other."""

from __future__ import annotations

from business import commands as c
from business.errors import InvalidInput
from business.model import Agent
from business.services import Services
from xmpp_bridge import texts_threads
from xmpp_bridge.custom import LockThread, NewThread, UnlockThread


async def lock(services: Services, agent: Agent, command: LockThread | UnlockThread) -> str:
    locked = isinstance(command, LockThread)
    await services.threads.set_lock(
        c.LockThread(agent_id=agent.id, conversation_id=command.conversation_id, locked=locked)
    )
    return texts_threads.THREAD_LOCKED if locked else texts_threads.THREAD_UNLOCKED


async def new_thread(services: Services, agent: Agent, command: NewThread) -> str:
    text = command.text.strip()
    if not text:
        raise InvalidInput(texts_threads.NEW_THREAD_EMPTY)
    await services.outbound_threads.open_thread(
        c.OpenThread(agent_id=agent.id, conversation_id=command.conversation_id, text=text)
    )
    return texts_threads.THREAD_OPENED
