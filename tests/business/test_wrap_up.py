"""Wrap-up on ``!end [code] [text]``: codes of the queue, optionally required."""

from __future__ import annotations

import pytest

from business import commands as c
from business.conversation import Conversation
from business.errors import InvalidInput
from business.events import WrapUpRecorded
from business.model import DEFAULT_QUEUE, DEFAULT_TENANT, ConversationState
from business.wrap_up import read_wrap_up
from tests.business.support import active_chat
from tests.harness import ALICE, World


async def codes(engine: World, *names: str, required: bool = False) -> None:
    await engine.services.queue_settings.configure(
        c.ConfigureQueue(
            tenant_id=DEFAULT_TENANT,
            queue=DEFAULT_QUEUE,
            wrap_up_codes=names,
            require_wrap_up=required,
        )
    )


async def end(engine: World, conv: Conversation, text: str) -> Conversation:
    return await engine.conversations.end_by_agent(
        c.EndConversationByAgent(agent_id=ALICE, conversation_id=conv.id, wrap_up=text)
    )


def wrap_ups(engine: World, conv: Conversation) -> list[tuple[str | None, str | None]]:
    return [(e.code, e.note) for e in engine.stored(conv.id) if isinstance(e, WrapUpRecorded)]


async def test_a_code_and_a_note_are_recorded_before_the_end(engine: World) -> None:
    await codes(engine, "resolved", "callback")
    conv = await active_chat(engine, text="hi")

    ended = await end(engine, conv, "Resolved  sent the refund link")

    assert ended.state is ConversationState.ENDED
    assert wrap_ups(engine, conv) == [("resolved", "sent the refund link")]
    kinds = [type(e).__name__ for e in engine.stored(conv.id)]
    assert kinds.index("WrapUpRecorded") < kinds.index("ParticipantLeft")


async def test_a_word_that_is_no_code_is_the_note_when_codes_are_optional(
    engine: World,
) -> None:
    await codes(engine, "resolved")
    conv = await active_chat(engine, text="hi")
    await end(engine, conv, "customer left happy")
    assert wrap_ups(engine, conv) == [(None, "customer left happy")]


async def test_a_plain_end_records_no_wrap_up(engine: World) -> None:
    conv = await active_chat(engine, text="hi")
    await end(engine, conv, "")
    assert wrap_ups(engine, conv) == []
    assert engine.conv(conv.id).state is ConversationState.ENDED


@pytest.mark.parametrize("text", ["", "thanks", "spam-ish note"])
async def test_a_required_code_missing_or_unknown_is_refused_with_the_codes(
    engine: World, text: str
) -> None:
    await codes(engine, "resolved", "spam", required=True)
    conv = await active_chat(engine, text="hi")

    with pytest.raises(InvalidInput, match=r"needs a wrap-up code.*resolved, spam"):
        await end(engine, conv, text)

    assert engine.conv(conv.id).state is ConversationState.ACTIVE
    assert wrap_ups(engine, conv) == []


def test_reading_needs_no_queue_and_bounds_the_note() -> None:
    assert read_wrap_up("  ", None) == (None, None)
    assert read_wrap_up("resolved", None) == (None, "resolved")
    assert read_wrap_up("a\nb  c", None) == (None, "a\nb  c")
    with pytest.raises(InvalidInput, match="longer than"):
        read_wrap_up("x" * 2001, None)
