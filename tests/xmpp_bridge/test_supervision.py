"""Supervisors from their XMPP client: ``monitor`` at the engine's address (copies from
the conversation's address, marked ``[monitor]``), ``!whisper`` and ``!barge`` in the
conversation's window (AGENT-DESK.md)."""

from __future__ import annotations

from business import commands as c
from business.conversation import Conversation
from business.model import DEFAULT_TENANT, AgentId, AgentRole, QueueName
from tests.harness import World
from tests.xmpp_bridge.support import (
    ADDRESSING,
    ALICE,
    ALICE_JID,
    COMPONENT,
    Harness,
    body_of,
    from_agent,
    harness,
)
from xmpp_bridge import texts
from xmpp_bridge.converters import Stanza

SAM = AgentId("s-sam")
SAM_JID = "sam@localhost"
SAM_CLIENT = "sam@localhost/desk"


async def supervised_chat(world: World) -> tuple[Harness, Conversation]:
    h = harness(world)
    await world.add_agent(ALICE, ready=True)
    await world.agents.add_agent(
        c.AddAgent(
            address=SAM_JID,
            agent_id=SAM,
            queues=(QueueName("sales"),),
            max_chats=1,
            tenant_id=DEFAULT_TENANT,
            name="Sam",
            role=AgentRole.SUPERVISOR,
            supervises=(QueueName("support"),),
        )
    )
    conversation = await world.start(await world.visitor(), "Where is my parcel?")
    await h.delivered()
    return h, conversation


def to(stanzas: list[Stanza], jid: str) -> list[str]:
    return [
        body
        for s in stanzas
        if s.xml.get("to", "").split("/")[0] == jid and (body := body_of(s)) is not None
    ]


def to_engine(body: str) -> str:
    return (
        f'<message from="{SAM_CLIENT}" to="{COMPONENT}" type="chat" id="w1">'
        f"<body>{body}</body></message>"
    )


async def test_a_monitor_gets_marked_copies_and_whispers_reach_the_agent_only(
    world: World,
) -> None:
    h, conversation = await supervised_chat(world)
    cid = conversation.id
    conv_jid = ADDRESSING.conversation_jid(cid)

    await h.receive(to_engine(f"monitor {cid}"))
    sent = await h.delivered()
    [answer] = [b for s in sent if s.xml.get("from") == COMPONENT and (b := body_of(s))]
    assert answer.startswith(f"You monitor {conv_jid}")
    # The whole chat so far, from the conversation's address, each marked.
    copies = to([s for s in sent if s.xml.get("from") == conv_jid], SAM_JID)
    assert copies
    assert all(body.startswith(texts.MONITOR_PREFIX) for body in copies), copies
    assert any("[Vera] Where is my parcel?" in body for body in copies)
    assert to(sent, ALICE_JID) == []  # Alice is not told

    await h.receive(from_agent(cid, "We are looking into it", stanza_id="a1"))
    await world.visitor_says(conversation.visitor_id, cid, "thanks")
    sent = await h.delivered()
    assert to(sent, SAM_JID) == [
        f"{texts.MONITOR_PREFIX}[{world.conv(cid).agent_name}] We are looking into it",
        f"{texts.MONITOR_PREFIX}[Vera] thanks",
    ]

    await h.receive(from_agent(cid, "!whisper offer a voucher", agent=SAM_CLIENT, stanza_id="s1"))
    sent = await h.delivered()
    assert to(sent, SAM_JID) == [texts.WHISPERED]
    assert to(sent, ALICE_JID) == ["[whisper, Sam] offer a voucher"]
    assert world.conv(cid).last_seq == conversation.last_seq + 2  # the two messages only

    # A monitor cannot write to the visitor by mistake.
    await h.receive(from_agent(cid, "hello visitor", agent=SAM_CLIENT, stanza_id="s2"))
    error, text = await h.delivered()
    assert error["type"] == "error"
    assert "monitoring" in (body_of(text) or "")


async def test_barge_in_then_the_visitor_and_the_agent_hear_the_supervisor(
    world: World,
) -> None:
    h, conversation = await supervised_chat(world)
    cid = conversation.id
    await h.receive(to_engine(f"monitor {cid}"))
    await h.delivered()

    await h.receive(from_agent(cid, "!barge", agent=SAM_CLIENT, stanza_id="s1"))
    sent = await h.delivered()
    assert texts.BARGED in to(sent, SAM_JID)
    assert "Sam joined the chat." in to(sent, ALICE_JID)
    await h.receive(from_agent(cid, "Sam here, the team lead", agent=SAM_CLIENT, stanza_id="s2"))
    sent = await h.delivered()
    assert to(sent, ALICE_JID) == ["[Sam] Sam here, the team lead"]
    messages = [e for e in world.published(cid) if type(e).__name__ == "MessagePosted"]
    assert messages[-1].sender.id == SAM  # type: ignore[union-attr]


async def test_supervisor_commands_are_refused_to_agents_and_outside_supervised_queues(
    world: World,
) -> None:
    h, conversation = await supervised_chat(world)
    await h.receive(from_agent(conversation.id, "!whisper psst", stanza_id="a1"))
    error, text = await h.delivered()
    assert error["type"] == "error"
    assert "!whisper" in (body_of(text) or "")

    await world.agent(ALICE, queues=(QueueName("sales"),), max_chats=3)
    sales = await world.start(await world.visitor(), "price?", queue=QueueName("sales"))
    await h.delivered()
    await h.receive(to_engine(f"monitor {sales.id}"))
    error, text = await h.delivered()
    assert error["type"] == "error"
    assert body_of(text) == "Sorry: you do not supervise queue sales."


async def test_copies_replayed_after_the_end_are_still_marked(world: World) -> None:
    h, conversation = await supervised_chat(world)
    cid = conversation.id
    await h.receive(to_engine(f"monitor {cid}"))
    await h.flush()
    h.sender.take()

    h.link.detach()
    h.notifier.on_link_lost()
    await world.visitor_says(conversation.visitor_id, cid, "bye then")
    await world.services.conversations.end_by_agent(
        c.EndConversationByAgent(agent_id=ALICE, conversation_id=cid)
    )
    assert world.conv(cid).members == ()  # the end let Sam go
    h.link.attach(h.sender)
    await h.notifier.replay()
    await h.notifier.drain()

    copies = to(h.sender.take(), SAM_JID)
    assert f"{texts.MONITOR_PREFIX}[Vera] bye then" in copies
    assert f"{texts.MONITOR_PREFIX}{texts.CHAT_ENDED}" in copies
    assert all(body.startswith(texts.MONITOR_PREFIX) for body in copies), copies
