"""``!info`` and ``!history``: what the chat's agent may learn about the visitor."""

from __future__ import annotations

import pytest

from business import commands as c
from business.errors import Forbidden, InvalidInput
from business.model import VisitorContext
from tests.harness import ALICE, BOB, World


async def past_chat(engine: World, visitor: str) -> None:
    conv = await engine.start(visitor, text="my order is late")  # type: ignore[arg-type]
    await engine.agent_says(ALICE, conv.id, "Let me check")
    await engine.services.notes.add_note(
        c.AddNote(agent_id=ALICE, conversation_id=conv.id, text="order 42 delayed")
    )
    engine.advance(60)
    await engine.conversations.end_by_agent(
        c.EndConversationByAgent(agent_id=ALICE, conversation_id=conv.id, wrap_up="solved it")
    )
    engine.advance(3600)


async def test_info_tells_who_the_visitor_is_and_counts_earlier_chats(engine: World) -> None:
    await engine.agent(ALICE, max_chats=5)
    engine.visitor_form = {"name": "Vera", "email": "vera@example.com"}
    vera = await engine.visitor()
    await past_chat(engine, vera)
    now = await engine.start(vera, text="me again")
    await engine.conversations.update_context(
        c.UpdateContext(visitor_id=vera, context=VisitorContext(page_url="https://x.test/p"))
    )

    info = await engine.services.visitor_profile.info(ALICE, now.id)

    assert info.name == "Vera"
    assert info.identity is None
    assert info.form["email"] == "vera@example.com"
    assert info.context.page_url == "https://x.test/p"
    assert info.earlier == 1


async def test_history_shows_earlier_chats_with_their_last_messages_and_notes(
    engine: World,
) -> None:
    await engine.agent(ALICE, max_chats=5, name="Alice")
    vera = await engine.visitor()
    await past_chat(engine, vera)
    now = await engine.start(vera, text="me again")

    [past] = await engine.services.visitor_profile.history(ALICE, now.id)
    assert past.agent == "Alice"
    assert past.outcome == "ended"
    assert [(line.text, line.note) for line in past.lines] == [
        ("my order is late", False),
        ("Let me check", False),
        ("order 42 delayed", True),
    ]
    [short] = await engine.services.visitor_profile.history(ALICE, now.id, 1)
    assert [line.text for line in short.lines] == ["order 42 delayed"]


async def test_only_the_chats_agent_may_ask_and_n_is_bounded(engine: World) -> None:
    await engine.agent(ALICE, max_chats=5)
    await engine.agent(BOB, ready=False)
    now = await engine.start(await engine.visitor(), text="hi")
    with pytest.raises(Forbidden):
        await engine.services.visitor_profile.info(BOB, now.id)
    with pytest.raises(Forbidden):
        await engine.services.visitor_profile.history(BOB, now.id)
    with pytest.raises(InvalidInput):
        await engine.services.visitor_profile.history(ALICE, now.id, 0)
    assert await engine.services.visitor_profile.history(ALICE, now.id) == []
