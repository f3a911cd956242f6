"""``!end [code] [text]`` from the agent's client: recorded and confirmed, or refused
with the queue's codes while the chat stays open."""

from __future__ import annotations

from business import commands as c
from business.conversation import Conversation
from business.events import WrapUpRecorded
from business.model import DEFAULT_QUEUE, DEFAULT_TENANT, ConversationState
from tests.harness import World
from tests.xmpp_bridge.support import ALICE, body_of, from_agent, harness
from xmpp_bridge import texts


async def active(world: World, *, required: bool) -> Conversation:
    await world.services.queue_settings.configure(
        c.ConfigureQueue(
            tenant_id=DEFAULT_TENANT,
            queue=DEFAULT_QUEUE,
            wrap_up_codes=("resolved", "callback"),
            require_wrap_up=required,
        )
    )
    await world.add_agent(ALICE, ready=True)
    conversation = await world.start(await world.visitor(), "Hello")
    assert conversation.agent_id == ALICE
    return conversation


async def test_end_with_a_code_and_a_note_is_recorded_and_confirmed(world: World) -> None:
    h = harness(world)
    conversation = await active(world, required=True)
    await h.delivered()

    await h.receive(from_agent(conversation.id, "!end callback call back Monday"))

    assert world.conv(conversation.id).state is ConversationState.ENDED
    [wrap_up] = [e for e in world.fakes.events[conversation.id] if isinstance(e, WrapUpRecorded)]
    assert (wrap_up.code, wrap_up.note) == ("callback", "call back Monday")
    bodies = await h.bodies()
    assert texts.wrap_up_recorded("callback", "call back Monday") in bodies
    assert texts.CHAT_ENDED in bodies


async def test_end_without_a_required_code_is_refused_and_the_chat_goes_on(
    world: World,
) -> None:
    h = harness(world)
    conversation = await active(world, required=True)
    await h.delivered()

    await h.receive(from_agent(conversation.id, "!end"))

    error, text = await h.delivered()
    assert error.xml.attrib["type"] == "error"
    assert "resolved, callback" in (body_of(text) or "")
    assert world.conv(conversation.id).state is ConversationState.ACTIVE
