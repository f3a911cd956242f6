"""Internal notes: stored in the conversation for the agent desk, never the visitor's.

A note takes a ``pos`` and no ``seq``: the visitor's stream (live and ``sync`` from 0)
stays gap-free without it, the agent-side history has it in order.
"""

from __future__ import annotations

import pytest

from business import commands as c
from business.errors import Forbidden, InvalidInput, InvalidTransition, TooLarge
from business.events import DeskEvent, MessagePosted, NoteAdded
from business.validation import Limits
from data import Database
from tests.business.support import active_chat
from tests.harness import ALICE, World, make_world


def note(conv_id: str, text: str, agent: str = ALICE) -> c.AddNote:
    return c.AddNote(agent_id=agent, conversation_id=conv_id, text=text)  # type: ignore[arg-type]


async def test_a_note_is_stored_for_agents_and_never_takes_a_visitor_seq(engine: World) -> None:
    conv = await active_chat(engine, text="hi")
    before = engine.conv(conv.id)

    added = await engine.services.notes.add_note(note(conv.id, "  wants a refund  "))

    after = engine.conv(conv.id)
    assert added.text == "wants a refund"
    assert added.by.id == ALICE
    assert added.pos == before.last_pos + 1 == after.last_pos
    assert after.last_seq == before.last_seq
    # The next message the visitor sees takes the next seq: no gap where the note is.
    await engine.say(conv, "still there?", "m-2")
    visible = [e.seq for e in engine.stored(conv.id) if not isinstance(e, DeskEvent)]
    assert visible == list(range(1, engine.conv(conv.id).last_seq + 1))
    assert [e.pos for e in engine.stored(conv.id)] == list(
        range(1, engine.conv(conv.id).last_pos + 1)
    )


async def test_sync_from_zero_shows_no_note_and_history_shows_it_in_order(
    engine: World,
) -> None:
    conv = await active_chat(engine, text="hi")
    await engine.services.notes.add_note(note(conv.id, "VIP customer"))
    await engine.say(conv, "hello?", "m-2")

    synced = await engine.history.sync(
        c.SyncEvents(visitor_id=conv.visitor_id, conversation_id=conv.id, after_seq=0)
    )
    assert not any(isinstance(e, NoteAdded) for e in synced.events)
    assert [e.seq for e in synced.events] == list(range(1, len(synced.events) + 1))

    history = await engine.history.history(conv.id)
    kinds = [type(e) for e in history]
    assert kinds.index(NoteAdded) < max(i for i, k in enumerate(kinds) if k is MessagePosted)
    assert [e.pos for e in history] == list(range(1, len(history) + 1))


async def test_the_note_is_published_but_is_not_for_the_visitor(engine: World) -> None:
    conv = await active_chat(engine, text="hi")
    await engine.services.notes.add_note(note(conv.id, "check order 42"))
    [published] = [e for e in engine.published(conv.id) if isinstance(e, NoteAdded)]
    assert published.text == "check order 42"
    assert published.pos == engine.conv(conv.id).last_pos


async def test_notes_are_refused_when_empty_too_long_not_yours_or_ended(engine: World) -> None:
    engine_limits = Limits()
    conv = await active_chat(engine, text="hi")
    with pytest.raises(InvalidInput):
        await engine.services.notes.add_note(note(conv.id, "   "))
    with pytest.raises(TooLarge):
        await engine.services.notes.add_note(
            note(conv.id, "x" * (engine_limits.max_text_length + 1))
        )
    with pytest.raises(Forbidden):
        await engine.services.notes.add_note(note(conv.id, "hello", agent="bob@example.com"))
    await engine.conversations.end_by_agent(
        c.EndConversationByAgent(agent_id=ALICE, conversation_id=conv.id)
    )
    with pytest.raises(InvalidTransition):
        await engine.services.notes.add_note(note(conv.id, "too late"))
    assert not any(isinstance(e, NoteAdded) for e in engine.stored(conv.id))


async def test_a_note_round_trips_through_the_database(database: Database) -> None:
    world = await make_world(uow=database.unit_of_work)
    await world.agent(ALICE, name="Alice", max_chats=10)
    conv = await world.start(await world.visitor(), text="hi")
    assert conv.agent_id == ALICE
    await world.services.notes.add_note(note(conv.id, "stored for real"))
    await world.say(conv, "and a message after it", "m-2")
    database.caches.clear()

    history = await world.history.history(conv.id)
    notes = [e for e in history if isinstance(e, NoteAdded)]
    assert [n.text for n in notes] == ["stored for real"]
    assert [e.pos for e in history] == list(range(1, len(history) + 1))
    shown = await world.conversations.get_conversation(conv.id)
    assert shown.last_pos == len(history)
    assert shown.last_seq == len([e for e in history if not isinstance(e, DeskEvent)])
    synced = await world.history.sync(
        c.SyncEvents(visitor_id=conv.visitor_id, conversation_id=conv.id, after_seq=0)
    )
    assert [e.seq for e in synced.events] == list(range(1, shown.last_seq + 1))
    assert not any(isinstance(e, NoteAdded) for e in synced.events)
