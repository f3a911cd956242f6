"""``!note`` from the agent's client: stored for the desk, answered, never the visitor's."""

from __future__ import annotations

from business.conversation import Conversation
from business.events import NoteAdded
from tests.harness import World
from tests.xmpp_bridge.support import ALICE, BOB, Harness, body_of, from_agent, harness
from xmpp_bridge import texts


async def active(world: World) -> Conversation:
    await world.add_agent(ALICE, ready=True)
    conversation = await world.start(await world.visitor(), "Hello")
    assert conversation.agent_id == ALICE
    return conversation


async def test_note_command_stores_a_note_and_answers_in_the_window(world: World) -> None:
    h: Harness = harness(world)
    conversation = await active(world)
    await h.delivered()

    await h.receive(from_agent(conversation.id, "!note  wants the premium plan"))

    notes = [e for e in world.fakes.events[conversation.id] if isinstance(e, NoteAdded)]
    assert [(n.text, n.by.id) for n in notes] == [("wants the premium plan", ALICE)]
    # The author is answered once, and their own note is not echoed back to them.
    assert await h.bodies() == [texts.NOTE_SAVED]
    assert world.conv(conversation.id).last_seq == conversation.last_seq
    # Published for the agent desk (the visitor notifier drops it: tests/presentation).
    assert any(isinstance(e, NoteAdded) for e in world.recorder.events())


async def test_an_empty_note_is_explained_and_stores_nothing(world: World) -> None:
    h = harness(world)
    conversation = await active(world)
    await h.delivered()
    last_pos = world.conv(conversation.id).last_pos

    await h.receive(from_agent(conversation.id, "!note   "))

    assert await h.bodies() == [texts.NOTE_EMPTY]
    assert world.conv(conversation.id).last_pos == last_pos


async def test_a_note_in_someone_elses_chat_is_refused(world: World) -> None:
    h = harness(world)
    conversation = await active(world)
    await world.add_agent(BOB)
    await h.delivered()

    await h.receive(from_agent(conversation.id, "!note sneaky", agent="bob@localhost/desk"))

    error, text = await h.delivered()
    assert error["type"] == "error"
    assert body_of(text) == "Sorry: you are not the agent of this conversation."
    assert not any(isinstance(e, NoteAdded) for e in world.fakes.events[conversation.id])
