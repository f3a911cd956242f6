"""Two tenants side by side on a real Prosody, through one component domain: each has a
queue ``support``, its own agents (slixmpp clients) and its own visitors (Socket.IO).
Offers reach only the tenant's agents, a subscription to ``support@`` lands in the
agent's own tenant, the engine's JID answers about it, and whatever an agent of one
tenant aims at the other (messages and commands to its conversation JID, ``monitor``,
``!transfer``/``!invite``/``!consult`` to its agents and queues, ad-hoc commands) is
refused without a word about it: as a stranger is refused."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from business import commands as c
from business.model import DEFAULT_QUEUE, AgentRole, ConversationId, QueueName, TenantId
from chat_engine.engine import Engine
from tests.e2e.agent import ScriptedAgent
from tests.e2e.conftest import AgentAccount, RegisterAgent
from tests.e2e.test_adhoc import answer_of, word
from tests.e2e.test_chat_flow import (
    conversation_jid,
    from_agent,
    new_visitor,
    online_agent,
    queue_jid,
    start_chat,
    until_ready,
    wait_event,
)
from tests.visitor_client import Json, Visitor
from xmpp_bridge import texts

pytestmark = pytest.mark.e2e

ACME = TenantId("acme")
BILLING = QueueName("billing")
"""Only Acme has it."""


async def acme_supervisor(
    engine: Engine, account: AgentAccount, cleanup: list[Any]
) -> ScriptedAgent:
    """Zoe: Acme's supervisor of its ``support``, taking its chats too, subscribed to
    ``support@`` (the same JID as the default tenant's agents) and ready."""
    await engine.services.tenants.ensure_tenant(ACME, name="Acme", queues=(DEFAULT_QUEUE, BILLING))
    await engine.services.agents.add_agent(
        c.AddAgent(
            address=account.jid,
            queues=(DEFAULT_QUEUE,),
            max_chats=3,
            tenant_id=ACME,
            name="Zoe",
            role=AgentRole.SUPERVISOR,
            supervises=(DEFAULT_QUEUE,),
        )
    )
    zoe = ScriptedAgent(account.jid, account.password, host=account.host, port=account.port)
    cleanup.append(zoe)
    await zoe.connect()
    zoe.subscribe(queue_jid(engine))
    await until_ready(engine, account.jid)
    return zoe


async def acme_visitor(engine: Engine, cleanup: list[Any]) -> Visitor:
    assert engine.url is not None
    visitor = Visitor(url=engine.url)
    cleanup.append(visitor)
    await visitor.connect({"tenant": ACME})
    return visitor


async def stranger(register_agent: RegisterAgent, cleanup: list[Any]) -> ScriptedAgent:
    """Eve: an account on the server, nobody's agent."""
    account = register_agent("eve")
    eve = ScriptedAgent(account.jid, account.password, host=account.host, port=account.port)
    cleanup.append(eve)
    await eve.connect()
    return eve


async def answers(agent: ScriptedAgent, to: str, line: str) -> list[tuple[str | None, str]]:
    """The refusal ``line`` sent to ``to`` gets: the stanza error and the readable reply
    (condition, text), in the order they came."""
    seen = len(agent.received)
    agent.send(to, line)
    await agent.wait_for(
        lambda m: m.from_jid == to and m.error is None and bool(m.body), after=seen
    )
    # The error is sent first; anything else would have come by now.
    await asyncio.sleep(0.1)
    return [(m.error, m.body) for m in agent.received[seen:] if m.from_jid == to]


async def test_offers_queues_and_the_engine_are_each_tenants_own(
    engine: Engine, register_agent: RegisterAgent, cleanup: list[Any]
) -> None:
    engine_jid = engine.settings.xmpp.component_jid
    ann = await online_agent(engine, register_agent("ann"), "Ann", cleanup, auto_accept=False)
    zoe = await acme_supervisor(engine, register_agent("zoe"), cleanup)

    acme = await acme_visitor(engine, cleanup)
    acme_chat = await start_chat(acme, "Acme order 17 is broken", name="Vic")
    ours = await new_visitor(engine, cleanup)
    our_chat = await start_chat(ours, "Default order 42 is late", name="Dee")
    acme_jid = conversation_jid(engine, acme_chat)
    our_jid = conversation_jid(engine, our_chat)
    await zoe.wait_for(lambda m: m.from_jid == acme_jid and "Acme order 17" in m.body)
    await ann.wait_for(lambda m: m.from_jid == our_jid and "Default order 42" in m.body)
    zoe.send(acme_jid, "Hi Vic, Zoe here")
    await wait_event(acme, from_agent("Hi Vic, Zoe here"))
    ann.send(our_jid, "Hi Dee, Ann here")
    await wait_event(ours, from_agent("Hi Dee, Ann here"))

    assert all(m.from_jid != acme_jid for m in ann.received)
    assert all(m.from_jid != our_jid for m in zoe.received)
    assert all("Default order" not in m.body for m in zoe.received)
    assert all("Acme order" not in m.body for m in ann.received)

    # The engine answers each about their own tenant: the same words, over chat and
    # ad-hoc, give Zoe Acme's support and her chat.
    status = await word(zoe, engine_jid, "status")
    assert status == texts.engine_status(True, 3, ["support"])
    assert answer_of(await zoe.adhoc(engine_jid, "status")) == status
    chats = await word(zoe, engine_jid, "chats")
    assert acme_jid in chats
    assert our_jid not in chats
    assert answer_of(await zoe.adhoc(engine_jid, "chats")) == chats
    assert await word(zoe, engine_jid, "queues") == "support: 0 waiting"
    assert answer_of(await zoe.adhoc(engine_jid, "queues")) == "support: 0 waiting"

    # A third chat of the default tenant waits for Ann's tenant's agents only: Zoe,
    # ready with room to spare, is never offered it.
    ann.presence("dnd")
    await until_ready(engine, ann.jid, ready=False)
    third = await new_visitor(engine, cleanup)
    waiting_chat = conversation_jid(engine, await start_chat(third, "Anyone there?", name="Tom"))
    assert (await word(ann, engine_jid, "queues")).startswith("support: 1 waiting")
    assert await word(zoe, engine_jid, "queues") == "support: 0 waiting"
    assert all(m.from_jid != waiting_chat for m in zoe.received)


CONVERSATION_LINES = [
    "Your card ends in 1234?",
    "!help",
    "!info",
    "!history",
    "!note sneaky",
    "!transfer support",
    "!invite support",
    "!whisper psst",
    "!barge",
    "!hold",
    "!end",
]


async def test_across_the_boundary_everything_is_refused_as_for_a_stranger(
    engine: Engine, register_agent: RegisterAgent, cleanup: list[Any]
) -> None:
    engine_jid = engine.settings.xmpp.component_jid
    ann = await online_agent(engine, register_agent("ann"), "Ann", cleanup)
    zoe_account = register_agent("zoe")
    zoe = await acme_supervisor(engine, zoe_account, cleanup)
    eve = await stranger(register_agent, cleanup)
    ours = await new_visitor(engine, cleanup)
    our_chat = await start_chat(ours, "My secret order 42", name="Dee")
    our_jid = conversation_jid(engine, our_chat)
    await ann.wait_for(lambda m: m.from_jid == our_jid and "secret order 42" in m.body)
    before: Json = await ours.ok("sync", {"conversation_id": our_chat, "after_seq": 0})
    await ours.drain()  # what reached Dee so far

    # Zoe of Acme to the default tenant's conversation: Eve's answers, word for word.
    for line in CONVERSATION_LINES:
        refused = await answers(zoe, our_jid, line)
        assert refused == await answers(eve, our_jid, line), line
        assert refused[-1] == (None, refusal_of(line)), line

    # monitor at the engine: her tenant has no such chat, nor such an agent.
    nobody = "0" * 32
    for verb in ("monitor", "unmonitor"):
        refused = await answers(zoe, engine_jid, f"{verb} {our_chat}")
        assert refused == await answers(zoe, engine_jid, f"{verb} {nobody}")
        assert refused[-1] == (None, texts.sorry("unknown conversation"))
        refused = await answers(zoe, engine_jid, f"{verb} {ann.jid}")
        unknown = await answers(zoe, engine_jid, f"{verb} nobody@localhost")
        assert refused == [(e, t.replace("nobody@localhost", ann.jid)) for e, t in unknown]

    # Ann's colleagues and queues are her tenant's: Zoe and Acme's billing are nobody.
    for command in ("transfer", "invite", "consult"):
        to_zoe = await answers(ann, our_jid, f"!{command} {zoe.jid}")
        to_nobody = await answers(ann, our_jid, f"!{command} nobody@localhost")
        assert to_zoe == [(e, t.replace("nobody@localhost", zoe.jid)) for e, t in to_nobody]
        to_billing = await answers(ann, our_jid, f"!{command} {BILLING}")
        to_nosuch = await answers(ann, our_jid, f"!{command} nosuch")
        assert to_billing == [(e, t.replace("nosuch", BILLING)) for e, t in to_nosuch]

    # Nothing of it reached the visitor, Ann, or the chat.
    after: Json = await ours.ok("sync", {"conversation_id": our_chat, "after_seq": 0})
    assert after == before
    assert await ours.drain() == []
    assert all("1234" not in m.body for m in ann.received)
    assert all("psst" not in m.body for m in ann.received)
    conversation = await engine.services.conversations.get_conversation(ConversationId(our_chat))
    assert conversation.members == ()
    assert conversation.is_open


def refusal_of(line: str) -> str:
    """The readable refusal of ``line`` to somebody not in the chat."""
    if not line.startswith("!"):
        return texts.not_delivered(texts.NOT_THE_AGENT)
    if line.startswith("!end"):
        return texts.could_not_end(texts.NOT_THE_AGENT)
    return texts.sorry(texts.NOT_THE_AGENT)
