"""Two tenants behind one component (``chat.localhost``), both with a queue ``support``:
an agent's address decides their tenant, queue JIDs are the sender's own queues, the
engine's JID answers about the sender's tenant, and another tenant's conversation JID
is refused exactly as it is to a stranger, whatever is sent to it (on the capturing
link; ``tests/e2e/test_tenants.py`` does the same through a real Prosody)."""

from __future__ import annotations

import pytest

from business import commands as c
from business.conversation import Conversation
from business.events import ReadMarked
from business.model import AgentId, AgentRole, QueueName, TenantId
from tests.harness import World
from tests.xmpp_bridge.support import (
    ADDRESSING,
    ALICE,
    ALICE_JID,
    SUPPORT,
    Harness,
    body_of,
    canonical,
    from_agent,
    harness,
)
from xmpp_bridge import texts
from xmpp_bridge.adhoc import AdhocDesk
from xmpp_bridge.agent_commands import AGENT_COMMANDS, EVERYONE
from xmpp_bridge.converters import Stanza, stanza_to_xml
from xmpp_bridge.data_forms import FormResult
from xmpp_bridge.engine_desk import EngineDesk

ACME = TenantId("acme")
BILLING = QueueName("billing")
"""Only Acme has it; the default tenant has ``sales``, which Acme has not."""
ZOE = AgentId("z-zoe")
ZOE_JID = "zoe@localhost"
EVE_JID = "eve@localhost"
"""Nobody's agent: the stranger every refusal is compared with."""
MARKERS = "urn:xmpp:chat-markers:0"


async def with_acme(world: World, *, zoe_ready: bool = True) -> Harness:
    """Acme (``support``, ``billing``) next to the default tenant, and Zoe, Acme's
    supervisor of ``support`` who also takes its chats: as much as any agent of Acme
    may do."""
    await world.tenants.ensure_tenant(ACME, name="Acme", queues=(SUPPORT, BILLING))
    await world.agents.add_agent(
        c.AddAgent(
            address=ZOE_JID,
            agent_id=ZOE,
            queues=(SUPPORT,),
            max_chats=5,
            tenant_id=ACME,
            name="Zoe",
            role=AgentRole.SUPERVISOR,
            supervises=(SUPPORT,),
            auto_accept=True,
        )
    )
    if zoe_ready:
        await world.agents.set_availability(c.SetAgentAvailability(agent_id=ZOE, ready=True))
    return harness(world)


def to(stanzas: list[Stanza], jid: str) -> list[Stanza]:
    return [s for s in stanzas if s.xml.get("to", "").split("/")[0] == jid]


def as_seen_by_eve(stanzas: list[Stanza]) -> list[str]:
    """``stanzas`` with Zoe's address written as Eve's, ids left out: what must be the
    same for both."""
    return [canonical(stanza_to_xml(s).replace(ZOE_JID, EVE_JID), ignore_id=True) for s in stanzas]


# -- routing and the queue JIDs ----------------------------------------------------------


async def test_each_tenants_chats_are_offered_only_to_its_own_agents(world: World) -> None:
    h = await with_acme(world)
    await world.agent(ALICE, ready=True, auto_accept=False, max_chats=5)

    acme_chat = await world.start(await world.visitor(ACME), "Acme question")
    our_chat = await world.start(await world.visitor(), "Default question")

    sent = await h.delivered()
    from_acme_chat = ADDRESSING.conversation_jid(acme_chat.id)
    from_our_chat = ADDRESSING.conversation_jid(our_chat.id)
    assert {s.xml.get("from") for s in to(sent, ZOE_JID)} == {from_acme_chat}
    assert {s.xml.get("from") for s in to(sent, ALICE_JID)} == {from_our_chat}
    assert any("Acme question" in (body_of(s) or "") for s in to(sent, ZOE_JID))
    assert not any("Default question" in (body_of(s) or "") for s in to(sent, ZOE_JID))


async def test_a_queue_jid_is_the_queue_of_that_name_in_the_senders_tenant(
    world: World,
) -> None:
    h = await with_acme(world, zoe_ready=False)
    await world.agent(ALICE, ready=False)

    # Zoe subscribes to support@: Acme's support, the one she is in.
    await h.receive(f'<presence from="{ZOE_JID}" to="support@chat.localhost" type="subscribe"/>')
    await h.receive(f'<presence from="{ZOE_JID}" to="support@chat.localhost" type="subscribed"/>')
    await h.receive(f'<presence from="{ZOE_JID}/desk" to="support@chat.localhost"/>')
    kinds = [s.xml.get("type") for s in to(h.sender.take(), ZOE_JID)]
    assert kinds == ["subscribed", None, "subscribe", "probe"]
    assert world.fakes.agents[ZOE].ready
    assert not world.fakes.agents[ALICE].ready

    # sales@ is only the default tenant's: to Zoe it is no queue of hers, as to Eve.
    for sender in (ZOE_JID, EVE_JID):
        await h.receive(f'<presence from="{sender}" to="sales@chat.localhost" type="subscribe"/>')
    zoe, eve = h.sender.take()
    assert as_seen_by_eve([zoe]) == as_seen_by_eve([eve])
    assert zoe.xml.get("type") == "unsubscribed"

    # Her presence made her ready for Acme's chats, not the default tenant's.
    await world.start(await world.visitor(), "Default question")
    assert to(await h.delivered(), ZOE_JID) == []
    acme_chat = await world.start(await world.visitor(ACME), "Acme question")
    assert acme_chat.agent_id == ZOE


async def test_after_a_reconnect_every_tenants_subscriptions_are_announced(
    world: World,
) -> None:
    h = await with_acme(world)
    await world.agent(ALICE, ready=True)
    for sender in (ZOE_JID, ALICE_JID):
        await h.receive(f'<presence from="{sender}" to="support@chat.localhost" type="subscribe"/>')
        await h.receive(
            f'<presence from="{sender}" to="support@chat.localhost" type="subscribed"/>'
        )
    h.sender.take()

    h.reconnect()
    await h.roster.on_connected()

    sent = h.sender.take()
    for jid in (ZOE_JID, ALICE_JID):
        assert [s.xml.get("type") for s in to(sent, jid)] == [None, "probe"]
        assert {s.xml.get("from") for s in to(sent, jid)} == {"support@chat.localhost"}


# -- the engine's JID ----------------------------------------------------------------------


async def ask(h: Harness, sender: str, body: str) -> str:
    await h.receive(
        f'<message from="{sender}/desk" to="chat.localhost" type="chat">'
        f"<body>{body}</body></message>"
    )
    return "\n".join(body_of(s) or "" for s in await h.delivered())


async def test_the_engine_answers_each_agent_about_their_own_tenant(world: World) -> None:
    h = await with_acme(world)
    await world.agent(ALICE, ready=False)
    ours = await world.start(await world.visitor(), "Default question")
    acme_chat = await world.start(await world.visitor(ACME), "Acme question")
    await h.delivered()

    assert await ask(h, ZOE_JID, "status") == texts.engine_status(True, 5, ["support"])
    # Acme's support has nobody waiting (Zoe has its chat); the default's has one.
    assert await ask(h, ZOE_JID, "queues") == "support: 0 waiting"
    assert (await ask(h, ALICE_JID, "queues")).startswith("support: 1 waiting")
    assert await ask(h, ZOE_JID, "chats") == texts.engine_chats(
        [(ADDRESSING.conversation_jid(acme_chat.id), "Vera", "support", False)]
    )
    assert ADDRESSING.conversation_jid(ours.id) not in await ask(h, ALICE_JID, "chats")

    adhoc = AdhocDesk(
        EngineDesk(services=world.services, addressing=ADDRESSING, away_is_ready=False)
    )
    for node in ("status", "queues", "chats"):
        answer = await adhoc.execute(ZOE_JID, node, None)
        assert isinstance(answer, FormResult)
        assert answer.text == await ask(h, ZOE_JID, node)


async def test_monitor_finds_no_chat_nor_agent_of_another_tenant(world: World) -> None:
    h = await with_acme(world)
    await world.agent(ALICE, ready=True)
    ours = await world.start(await world.visitor(), "Default question")
    assert ours.agent_id == ALICE
    await h.delivered()
    before = world.fakes.conversations[ours.id]

    nobody = "0" * 32
    for word in ("monitor", "unmonitor"):
        assert await ask(h, ZOE_JID, f"{word} {ours.id}") == await ask(
            h, ZOE_JID, f"{word} {nobody}"
        )
        assert await ask(h, ZOE_JID, f"{word} {ALICE_JID}") == (
            await ask(h, ZOE_JID, f"{word} nobody@localhost")
        ).replace("nobody@localhost", ALICE_JID)
    assert "unknown conversation" in await ask(h, ZOE_JID, f"monitor {ours.id}")

    assert world.fakes.conversations[ours.id] == before
    assert world.fakes.agents[ALICE].monitored_by == ()


# -- another tenant's conversation JID -------------------------------------------------------

LINES = [
    "hello, can I help?",
    "!!literal bang",
    "!frobnicate",
    "!help",
    "!accept",
    "!decline",
    "!info",
    "!history",
    "!history 3",
    "!canned",
    "!canned greeting",
    "!note a secret note",
    "!transfer support",
    f"!transfer {ZOE_JID}",
    "!invite support",
    f"!consult {ZOE_JID}",
    "!leave",
    "!whisper psst",
    "!barge",
    "!hold",
    "!unhold",
    "!lock",
    "!unlock",
    "!newthread hello again",
    "!bot",
    "!end",
    "!end resolved done",
]


def test_the_lines_try_every_command_of_a_conversation_window() -> None:
    tried = {line[1:].split()[0] for line in LINES if line.startswith("!") and line[1] != "!"}
    assert {command.name for command in AGENT_COMMANDS.usable_by(EVERYONE)} <= tried


@pytest.fixture(params=["offered", "active", "ended"])
async def foreign_chat(
    request: pytest.FixtureRequest, world: World
) -> tuple[Harness, Conversation]:
    """A default-tenant chat in each state Zoe of Acme might find it: offered to Alice,
    hers, ended."""
    h = await with_acme(world)
    await world.agent(ALICE, ready=True, auto_accept=request.param != "offered", max_chats=5)
    conversation = await world.start(await world.visitor(), "I need help with my invoice")
    if request.param == "ended":
        await world.conversations.end_by_agent(
            c.EndConversationByAgent(agent_id=ALICE, conversation_id=conversation.id)
        )
    await h.delivered()
    return h, world.fakes.conversations[conversation.id]


async def test_another_tenants_chat_is_refused_as_to_a_stranger(
    foreign_chat: tuple[Harness, Conversation],
) -> None:
    h, conversation = foreign_chat
    world = h.world
    stored = len(world.stored(conversation.id))
    published = len(world.recorder.events())

    for line in LINES:
        await h.receive(from_agent(conversation.id, line, agent=f"{EVE_JID}/desk"))
        eve = await h.delivered()
        await h.receive(from_agent(conversation.id, line, agent=f"{ZOE_JID}/desk"))
        zoe = await h.delivered()

        assert as_seen_by_eve(zoe) == as_seen_by_eve(eve), line
        # A refusal (a stanza error and a readable reply), and nothing about the chat.
        assert [s.xml.get("type") for s in zoe] == ["error", "chat"], line
        said = body_of(zoe[1]) or ""
        assert texts.NOT_THE_AGENT in said, line
        assert "Vera" not in said, line
        assert "invoice" not in said, line
    assert to(h.sender.sent, ALICE_JID) == []
    assert len(world.stored(conversation.id)) == stored
    assert world.fakes.conversations[conversation.id] == conversation
    assert len(world.recorder.events()) == published


async def test_typing_markers_and_corrections_to_another_tenants_chat_do_nothing(
    world: World,
) -> None:
    h = await with_acme(world)
    await world.agent(ALICE, ready=True)
    conversation = await world.start(await world.visitor(), "Hello")
    await h.receive(from_agent(conversation.id, "Hi Vera", stanza_id="a1"))
    question = await world.say(conversation, "Where is my parcel?", "m-2")
    await h.delivered()
    marked = question.id
    before = world.fakes.conversations[conversation.id]
    stored = len(world.stored(conversation.id))
    published = len(world.recorder.events())
    jid = ADDRESSING.conversation_jid(conversation.id)

    for sender in (EVE_JID, ZOE_JID):
        await h.receive(
            f'<message from="{sender}/desk" to="{jid}" type="chat">'
            '<composing xmlns="http://jabber.org/protocol/chatstates"/></message>'
        )
        await h.receive(
            f'<message from="{sender}/desk" to="{jid}" type="chat">'
            f'<displayed xmlns="{MARKERS}" id="{marked}"/></message>'
        )
    assert await h.delivered() == []

    replies = {}
    for sender in (EVE_JID, ZOE_JID):
        await h.receive(
            from_agent(
                conversation.id,
                "Hi Vera!",
                agent=f"{sender}/desk",
                stanza_id="a2",
                extra='<replace xmlns="urn:xmpp:message-correct:0" id="a1"/>',
            )
        )
        replies[sender] = as_seen_by_eve(await h.delivered())
    assert replies[ZOE_JID] == replies[EVE_JID]
    assert len(replies[ZOE_JID]) == 2

    assert world.fakes.conversations[conversation.id] == before
    assert len(world.stored(conversation.id)) == stored
    assert len(world.recorder.events()) == published
    # Their markers did not count as forwarded: Alice's own still gets through.
    await h.receive(
        f'<message from="{ALICE_JID}/laptop" to="{jid}" type="chat">'
        f'<displayed xmlns="{MARKERS}" id="{marked}"/></message>'
    )
    read = [e.up_to_seq for e in world.stored(conversation.id) if isinstance(e, ReadMarked)]
    assert read == [question.seq]


async def test_colleagues_and_queues_of_another_tenant_are_nobody(world: World) -> None:
    h = await with_acme(world)
    await world.agent(ALICE, ready=True, max_chats=5)
    conversation = await world.start(await world.visitor(), "Hello")
    await h.delivered()

    async def answer(line: str) -> str:
        await h.receive(from_agent(conversation.id, line, stanza_id=f"s-{line}"))
        return body_of((await h.delivered())[-1]) or ""

    for command in ("transfer", "invite", "consult"):
        assert await answer(f"!{command} {ZOE_JID}") == (
            await answer(f"!{command} nobody@localhost")
        ).replace("nobody@localhost", ZOE_JID)
        assert await answer(f"!{command} {BILLING}") == (
            await answer(f"!{command} nosuch")
        ).replace("nosuch", BILLING)
    # Zoe is ready in a queue called support, but Acme's: nobody here can take it.
    assert await answer("!invite support") == texts.sorry("nobody in queue support can take it now")
    after = world.fakes.conversations[conversation.id]
    assert (after.agent_id, after.members, after.offered_to) == (ALICE, (), None)
