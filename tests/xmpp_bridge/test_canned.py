"""``!canned`` from the agent's client: list the queue's answers, send one filled in."""

from __future__ import annotations

from business import commands as c
from business.conversation import Conversation
from business.events import MessagePosted
from business.model import DEFAULT_QUEUE, DEFAULT_TENANT, ParticipantKind, QueueName
from business.rich import parse_rich
from tests.harness import World
from tests.xmpp_bridge.support import ALICE, BOB, body_of, from_agent, harness
from xmpp_bridge import texts


async def active(world: World) -> Conversation:
    await world.add_agent(ALICE, ready=True)
    conversation = await world.start(await world.visitor(), "Hello")
    assert conversation.agent_id == ALICE
    return conversation


async def canned(world: World, name: str, text: str, queue: QueueName | None) -> None:
    await world.services.canned.add(
        c.AddCannedResponse(tenant_id=DEFAULT_TENANT, queue=queue, name=name, text=text)
    )


def agent_texts(world: World, conversation: Conversation) -> list[str]:
    return [
        e.text
        for e in world.fakes.events[conversation.id]
        if isinstance(e, MessagePosted) and e.sender.kind is ParticipantKind.AGENT
    ]


async def test_canned_lists_the_queues_answers_queue_own_winning(world: World) -> None:
    h = harness(world)
    conversation = await active(world)
    await canned(world, "hello", "Hi {visitor}!", None)
    await canned(world, "bye", "Bye from everyone", None)
    await canned(world, "bye", "Bye from support", DEFAULT_QUEUE)
    await h.delivered()

    await h.receive(from_agent(conversation.id, "!canned"))

    [listing] = await h.bodies()
    assert listing == texts.canned_list([("bye", "Bye from support"), ("hello", "Hi {visitor}!")])
    assert agent_texts(world, conversation) == []


async def test_canned_name_sends_it_filled_in_once_per_stanza(world: World) -> None:
    h = harness(world)
    conversation = await active(world)
    await canned(world, "hello", "Hi {visitor}, {agent} from {queue} here.", DEFAULT_QUEUE)
    await h.delivered()

    await h.receive(from_agent(conversation.id, "!canned HELLO", stanza_id="k1"))
    await h.receive(from_agent(conversation.id, "!canned hello", stanza_id="k1"))

    name = world.conv(conversation.id).visitor_name
    agent = await world.agents.get_agent(ALICE)
    assert agent is not None
    sent = f"Hi {name}, {agent.name} from support here."
    assert agent_texts(world, conversation) == [sent]
    assert await h.bodies() == [texts.canned_sent(sent), texts.canned_sent(sent)]


async def test_unknown_or_absent_canned_answers_are_explained(world: World) -> None:
    h = harness(world)
    conversation = await active(world)
    await h.delivered()

    await h.receive(from_agent(conversation.id, "!canned"))
    assert await h.bodies() == [texts.NO_CANNED]

    await h.receive(from_agent(conversation.id, "!canned nope"))
    error, text = await h.delivered()
    assert error["type"] == "error"
    assert body_of(text) == f"Sorry: {texts.unknown_canned('nope')}."
    assert agent_texts(world, conversation) == []


async def test_canned_in_someone_elses_chat_is_refused(world: World) -> None:
    h = harness(world)
    conversation = await active(world)
    await world.add_agent(BOB)
    await canned(world, "hello", "Hi", None)
    await h.delivered()

    await h.receive(from_agent(conversation.id, "!canned hello", agent="bob@localhost/desk"))

    error, _ = await h.delivered()
    assert error["type"] == "error"
    assert agent_texts(world, conversation) == []


async def test_a_rich_canned_response_goes_out_rich_and_the_agent_reads_its_numbers(
    world: World,
) -> None:
    h = harness(world)
    conversation = await active(world)
    rich = parse_rich(
        {"quick_replies": [{"label": "Yes", "payload": "yes"}, {"label": "No", "payload": "no"}]}
    )
    await world.services.canned.add(
        c.AddCannedResponse(
            tenant_id=DEFAULT_TENANT, queue=None, name="solved", text="Solved?", rich=rich
        )
    )
    await h.delivered()

    await h.receive(from_agent(conversation.id, "!canned solved", stanza_id="k9"))

    [sent] = [
        e
        for e in world.fakes.events[conversation.id]
        if isinstance(e, MessagePosted) and e.sender.kind is ParticipantKind.AGENT
    ]
    assert (sent.text, sent.rich) == ("Solved?", rich)
    [reply] = await h.bodies()
    assert reply == texts.canned_sent("Solved?\n  1) Yes\n  2) No")
